"""Versions chosen when a cell runs: the `latest` stack, the newest torch, and what a candidate leaves unpinned.

A cell whose stack names packages to `resolve` (or whose torch has no pin) asks `uv pip compile` for the newest
versions that install together with the rest of the cell, every time it runs, and then installs exactly those pins.
Re-resolving each run, rather than reusing yesterday's environment, is what makes `latest` mean the newest: one
index query (a second or two with a warm cache). The pins go into the environment's spec, so the environment is
keyed on the resolution: it is reused while the index offers nothing newer and rebuilt the day it does. The
choice is recorded in the results file (`resolved`), with the date.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incidentkb.host.versions import canonical_name
from incidentkb.matrix import frozen
from incidentkb.matrix.axes import Cell, Matrix
from incidentkb.records.schema import requirement_name

__all__ = ["ResolveError", "Resolution", "needs_resolution", "open_names", "pins_of", "compile_input", "compile_command", "parse_compiled",
           "explain_failure", "resolve", "from_wheelhouse", "from_lock"]


class ResolveError(RuntimeError):
    """The versions could not be chosen; the message is one line that says why (and `offline` whether no index was reached)."""

    def __init__(self, message: str, *, offline: bool = False) -> None:
        super().__init__(message)
        self.offline = offline


@dataclass(frozen=True)
class Resolution:
    """What the resolver chose for a cell, and when."""

    chosen: Mapping[str, str]
    """The versions of the names the cell left open (`transformers` -> `5.25.0`), by canonical name."""
    date: str
    """The UTC day of the resolution (the index changes daily, so this is part of what was tested)."""
    locked: Mapping[str, str] = field(default_factory=dict)
    """Every package of the resolution, for the record."""
    wheelhouse: Mapping[str, Any] | None = None
    """Where a resolution made on another host came from (`frozen.FrozenResolution.origin`); None: made here."""

    def as_dict(self) -> dict[str, Any]:
        data = {"date": self.date, "chosen": dict(self.chosen), "locked": dict(self.locked)}
        if self.wheelhouse is not None:
            data["wheelhouse"] = dict(self.wheelhouse)
        return data


def needs_resolution(matrix: Matrix, cell: Cell) -> bool:
    """Whether some of the cell's versions are chosen when it runs."""
    return matrix.stack(cell).is_resolved or matrix.torch_option(cell).is_resolved


def open_names(matrix: Matrix, cell: Cell) -> tuple[str, ...]:
    """The canonical names the cell leaves to the resolver."""
    names = [canonical_name(n) for n in matrix.stack(cell).to_resolve(gpus=cell.gpus)]
    if matrix.torch_option(cell).is_resolved:
        names.insert(0, "torch")
    return tuple(names)


def compile_input(matrix: Matrix, cell: Cell, extra: Sequence[str] = ()) -> list[str]:
    """The requirements `uv pip compile` resolves: the cell's pins as they are, the open names bare, and `extra`
    (what an incident requires beyond the stacks, as it writes it)."""
    option, stack = matrix.torch_option(cell), matrix.stack(cell)
    return [*option.requirements, *stack.requirements(gpus=cell.gpus), *stack.to_resolve(gpus=cell.gpus), *extra]


def compile_command(uv: str, requirements: Path, *, python: str, find_links: Sequence[str] = (),
                    excludes: Path | None = None) -> list[str]:
    """`uv pip compile` of the requirements file for the cell's Python; its output is a list of `name==version`."""
    command = [uv, "pip", "compile", str(requirements), "--python", python, "--no-header", "--no-annotate", "--quiet"]
    command += [arg for link in find_links if Path(link).is_dir() for arg in ("--find-links", link)]
    if excludes is not None:
        command += ["--excludes", str(excludes)]
    return command


_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def parse_compiled(text: str) -> dict[str, str]:
    """`name==version` lines of a compiled requirements file, by canonical name; local tags kept (`2.13.0+cpu`)."""
    pins = {}
    for line in text.splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins[canonical_name(match.group(1))] = match.group(2)
    return pins


#: Parts of uv's messages that mean no package index was reached.
_NO_INDEX = ("error sending request", "network was disabled", "dns error", "connection refused",
             "network is unreachable", "failed to fetch", "timed out")


def explain_failure(stderr: str, *, what: str) -> ResolveError:
    """uv's failure as one line: no index, a version that does not exist, a package unknown, or no fitting set."""
    text = " ".join(stderr.split())
    if any(part in text.lower() for part in _NO_INDEX):
        return ResolveError(f"{what} needs the package index, and none was reachable (uv: {_last_cause(stderr)})", offline=True)
    if match := re.search(r"there is no version of ([A-Za-z0-9._-]+)==([^\s,]+)", text):
        return ResolveError(f"{what}: {match.group(1)}=={match.group(2)} does not exist on the package index")
    if match := re.search(r"Because ([A-Za-z0-9._-]+) was not found in the package registry", text):
        return ResolveError(f"{what}: the package index has no package {match.group(1)!r}")
    return ResolveError(f"{what}: these versions do not install together ({_last_cause(stderr)})")


def _last_cause(stderr: str) -> str:
    causes = [line.strip().removeprefix("cause:").strip() for line in stderr.splitlines() if line.strip()]
    causes = [c for c in causes if not c.startswith(("hint:", "error:", "×"))] or causes or ["no output"]
    return causes[0] if "unsatisfiable" in causes[0] else causes[-1]


def resolve(matrix: Matrix, cell: Cell, *, uv: str | None, python: str, excludes: Sequence[str] = (),
            offline: bool = False, what: str | None = None, wheelhouse: Sequence[str] = (),
            extra: Sequence[str] = ()) -> Resolution:
    """Choose the versions the cell leaves open; `ResolveError` (one line) when that cannot be done.

    `offline`: the host installs from a wheelhouse only, where "the newest release" means what the wheelhouse froze
    when it was built (`wheelhouse`: its folders; see `frozen`), and nothing when it froze nothing for this cell.
    `extra`: requirements beyond the cell (an incident's `requires`), whose newest fitting versions are chosen too.
    """
    if what is None:
        what = f"stack {cell.stack}" if matrix.stack(cell).is_resolved else f"torch={cell.torch}"
    if offline:
        return from_wheelhouse(matrix, cell, wheelhouse, what=what)
    if os.environ.get("UV_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        # uv would answer from its cache: yesterday's newest, then fail to download what the cache lacks
        raise ResolveError(f"{what} needs the package index (UV_OFFLINE is set)", offline=True)
    if uv is None:
        raise ResolveError(f"{what} is resolved with uv: `pip install uv`, then run again")
    with tempfile.TemporaryDirectory(prefix="incidentkb-resolve-") as tmp:
        requirements = Path(tmp, "requirements.in")
        requirements.write_text("\n".join(compile_input(matrix, cell, extra)) + "\n", encoding="utf-8")
        exclude_file = None
        if excludes:
            exclude_file = Path(tmp, "excludes.txt")
            exclude_file.write_text("\n".join(excludes) + "\n", encoding="utf-8")
        command = compile_command(uv, requirements, python=python, find_links=matrix.torch_option(cell).find_links,
                                  excludes=exclude_file)
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        raise explain_failure(done.stderr, what=what)
    locked = parse_compiled(done.stdout)
    wanted = open_names(matrix, cell) + tuple(requirement_name(text) for text in extra)
    chosen = {name: locked[name] for name in wanted if name in locked}
    return Resolution(chosen=chosen, date=dt.datetime.now(dt.timezone.utc).date().isoformat(), locked=locked)


def from_lock(matrix: Matrix, cell: Cell, locked: Mapping[str, str]) -> Resolution:
    """The resolution a cell's lock (`matrix.locks`, the same `uv pip compile` with the project's own
    dependencies) already made: no second query of the index."""
    chosen = {name: locked[name] for name in open_names(matrix, cell) if name in locked}
    return Resolution(chosen=chosen, date=dt.datetime.now(dt.timezone.utc).date().isoformat(), locked=dict(locked))


def from_wheelhouse(matrix: Matrix, cell: Cell, folders: Sequence[str], *, what: str) -> Resolution:
    """The resolution a wheelhouse froze for the cell's torch x stack pair; `ResolveError` (offline) without one."""
    pair = f"{cell.torch}-{cell.stack}"
    try:
        found = frozen.find(folders, pair)
    except frozen.FrozenError as exc:
        raise ResolveError(str(exc), offline=True) from None
    if found is None:
        raise ResolveError(f"{what} needs the package index, or a wheelhouse that froze it (nox -s wheelhouse -- "
                           f"--torch {cell.torch} --stack {cell.stack} ... on a host with the index)", offline=True)
    return Resolution(chosen=found.chosen(open_names(matrix, cell)), date=found.date, locked=dict(found.locked),
                      wheelhouse=found.origin())


def pins_of(chosen: Mapping[str, str]) -> dict[str, str]:
    """The chosen versions as pins `uv pip install` takes: a local tag kept only for torch (`2.13.0+cpu`)."""
    return {name: version if name == "torch" else version.split("+")[0] for name, version in chosen.items()}

