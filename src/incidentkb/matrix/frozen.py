"""A resolution frozen into a wheelhouse: `latest` (or a candidate) chosen on a host with the index, run on one without.

`nox -s wheelhouse -- --stack latest ...` resolves the stack's open names (transformers, trl, ...) on the day it is
built, for the target's Python and platform, downloads exactly that set and writes, beside the compiled pins,
`requirements/<torch>-<stack>.frozen.json`: the day, the target, every pin of the resolution. On the offline host
the cell finds that file in `INCIDENTKB_WHEELHOUSE` and runs as `latest` with those versions: its results file says
`resolved <day>` as an online run's does, and names the wheelhouse it came from. Nothing here imports the resolver:
this module only writes and reads the file.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incidentkb.host.versions import canonical_name

__all__ = ["SUFFIX", "FrozenResolution", "path_for", "freeze", "find", "FrozenError"]

#: The file's name after `<torch>-<stack>`, under the wheelhouse's `requirements/`.
SUFFIX = ".frozen.json"


class FrozenError(ValueError):
    """A frozen resolution that cannot be read; the message names the file."""


@dataclass(frozen=True)
class FrozenResolution:
    """What a wheelhouse froze for one torch x stack pair."""

    path: Path
    date: str
    """The UTC day the resolution was made (what `latest` meant)."""
    built: str
    python: str | None
    platform: str | None
    locked: Mapping[str, str]
    """Every pin of the resolution, by canonical name."""

    def chosen(self, names: Sequence[str]) -> dict[str, str]:
        """The versions of `names` (a cell's open names) in the resolution; a GPU-only name is absent in a CPU set."""
        return {name: self.locked[name] for name in names if name in self.locked}

    def origin(self) -> dict[str, Any]:
        """As the results file records it under `resolved.wheelhouse`."""
        return {"folder": str(self.path.parent.parent), "built": self.built, "python": self.python,
                "platform": self.platform}


def path_for(folder: Path, pair: str) -> Path:
    return folder / "requirements" / f"{pair}{SUFFIX}"


def freeze(folder: Path, pair: str, locked: Mapping[str, str], *, python: str | None, platform: str | None,
           now: dt.datetime | None = None) -> Path:
    """Write the frozen resolution of `pair` (the pins `uv pip compile` chose) into the wheelhouse `folder`."""
    moment = now or dt.datetime.now(dt.timezone.utc)
    path = path_for(folder, pair)
    data = {"pair": pair, "date": moment.date().isoformat(), "built": moment.isoformat(timespec="seconds"),
            "python": python, "platform": platform,
            "locked": {canonical_name(name): version for name, version in sorted(locked.items())}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def find(folders: Iterable[str], pair: str) -> FrozenResolution | None:
    """The frozen resolution of `pair` in the first of `folders` that has one, or None."""
    for folder in folders:
        path = path_for(Path(folder), pair)
        if path.is_file():
            return _read(path)
    return None


def _read(path: Path) -> FrozenResolution:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return FrozenResolution(path=path, date=str(data["date"]), built=str(data["built"]), python=data.get("python"),
                                platform=data.get("platform"), locked=dict(data["locked"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FrozenError(f"{path}: not a frozen resolution ({type(exc).__name__}: {exc}); build the wheelhouse again") from None
