"""A matrix cell as results files name it: one value of each axis, its string the id everywhere.

The cell is the key of a run (`torch=2.6.0 stack=4.51.3 gpus=0` is the nox session id, the pytest id and the
key of results files), so it lives with the results that are keyed by it, one layer below the matrix that
multiplies cells out of `regressions/matrix.toml`; `incidentkb.matrix.axes` re-exports it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from incidentkb.host.versions import canonical_name

__all__ = ["AXES", "MatrixError", "Cell", "cell_key", "version_key"]

#: The axes in the order cells multiply (and run).
AXES = ("torch", "stack", "gpus")


class MatrixError(ValueError):
    """The matrix file, or a cell named by a user, is not what the matrix allows; the message names the place."""


@dataclass(frozen=True, order=True)
class Cell:
    """One value of each axis. Its string is its id everywhere: nox, pytest, results files, the table."""

    torch: str
    stack: str
    gpus: int
    requires: tuple[tuple[str, str], ...] = ()
    """The versions of what an incident `requires` beyond the stacks (`(("albumentations", "1.3.1"),)`), sorted by
    name: axes of that incident only, so a cell that has them runs that incident alone, in an environment of its own."""

    def __str__(self) -> str:
        extra = "".join(f" {name}={version}" for name, version in self.requires)
        return f"torch={self.torch} stack={self.stack} gpus={self.gpus}{extra}"

    @property
    def slug(self) -> str:
        """The id as a file-name part: `torch-2.6.0_stack-4.51.3_gpus-0` (`_albumentations-1.3.1` after it)."""
        extra = "".join(f"_{name}-{version}" for name, version in self.requires)
        return f"torch-{self.torch}_stack-{self.stack}_gpus-{self.gpus}{extra}"

    @property
    def base(self) -> "Cell":
        """The matrix's own cell, without the versions of what an incident requires."""
        return replace(self, requires=())

    def requiring(self, versions: Mapping[str, str]) -> "Cell":
        """This cell with the versions of required packages, by canonical name."""
        return replace(self, requires=tuple(sorted((canonical_name(n), v) for n, v in versions.items())))

    def as_dict(self) -> dict[str, Any]:
        return {"torch": self.torch, "stack": self.stack, "gpus": self.gpus}

    @classmethod
    def parse(cls, text: str) -> "Cell":
        """Read `torch=2.6.0 stack=4.51.3 gpus=0` (the order of the parts does not matter), and after it the
        versions of required packages, `albumentations=1.3.1`."""
        parts = dict(part.partition("=")[::2] for part in text.split())
        extra = {name: version for name, version in parts.items() if name not in AXES}
        if not set(AXES) <= set(parts) or not parts["gpus"].isdigit() or not all(
                re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", n) and v for n, v in extra.items()):
            raise MatrixError(f"cell {text!r}: write it as 'torch=<id> stack=<id> gpus=<n>', e.g. 'torch=2.6.0 "
                              "stack=4.51.3 gpus=0', then any required package's 'name=version'")
        return cls(parts["torch"], parts["stack"], int(parts["gpus"])).requiring(extra)


_PARTS = re.compile(r"\d+|[^\d.+-]+")


def version_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders `2.10.0` after `2.9.1`; words sort after numbers so any string has a key."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _PARTS.findall(text))


@functools.lru_cache(maxsize=None)
def cell_key(cell: Cell) -> tuple[Any, ...]:
    """Orders cells by torch, stack and GPUs, versions compared as versions (the table's and the site's order)."""
    return (version_key(cell.torch), version_key(cell.stack), cell.gpus,
            tuple((name, version_key(version)) for name, version in cell.requires))
