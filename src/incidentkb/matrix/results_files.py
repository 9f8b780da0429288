"""Writing results files: one JSON file per run of one matrix cell, under `regressions/results/`, never overwritten.

A results file holds the cell, the exact installed versions, Python, the host, the times, which incidents the cell
ran (and which an earlier cell of the same dependency versions ran for it) and the per-case report of the pytest
plugin. Files are written atomically under a name no other file has: the content goes to a temporary file in the
same folder, is flushed to disk, then linked to its final name, which fails rather than replace an existing file.

Reading them is `incidentkb.results` (the one reader); the names below that come from there are re-exported for
the callers that write and read in one place (a cell's run returns what it wrote, as a `Run`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from incidentkb.results.cells import Cell
from incidentkb.results.files import RESULTS_DIR, SCHEMA, ResultsError, result_paths, results_dir
from incidentkb.results.runs import Case, Run, latest_per_cell, read, read_all

__all__ = ["SCHEMA", "RESULTS_DIR", "results_dir", "ResultsError", "CaseResult", "CellResult", "write", "read",
           "read_all", "result_paths", "latest_per_cell", "add_copy", "write_new", "now", "file_name"]

#: The names this module had before reading moved to `incidentkb.results`.
CellResult = Run
CaseResult = Case


def now() -> str:
    """The current UTC time, as results files write it."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def file_name(cell: Cell, finished: str) -> str:
    """`20261127T231502Z_torch-2.6.0_stack-4.51.3_gpus-0.json`: sorted by time, then by cell."""
    stamp = dt.datetime.fromisoformat(finished).astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}_{cell.slug}.json"


def write(data: Mapping[str, Any], directory: str | Path = RESULTS_DIR) -> Path:
    """Write a results file atomically under a new name and return its path; an existing file is never touched."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cell = Cell.parse(data["cell"])
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    return write_new(directory, file_name(cell, data["finished"])[: -len(".json")], text)


def write_new(directory: Path, stem: str, text: str) -> Path:
    """Write `text` atomically to `<stem>.json` in `directory` (or `<stem>-2.json`, ...), never replacing a file."""
    return _write_bytes(directory, stem, text.encode("utf-8"))


def add_copy(source: str | Path, directory: str | Path, stem: str) -> Path:
    """Copy a results file byte for byte into `directory` as `<stem>.json`, or `<stem>-2.json`... when taken.

    What `incidentkb results merge` and the Slurm executor use: a file another host or job wrote keeps exactly
    the bytes that run wrote, and no file already in `directory` is ever replaced.
    """
    return _write_bytes(Path(directory), stem, Path(source).read_bytes())


def _write_bytes(directory: Path, stem: str, content: bytes) -> Path:
    """Write `content` to a temporary file, flushed to disk, then link it under a new name: never half a file."""
    directory.mkdir(parents=True, exist_ok=True)
    # Not `*.json`: a run killed mid-write leaves this behind, and anything that globs `*.json` (pathlib's glob
    # lists hidden files) would read half a results file.
    fd, tmp = tempfile.mkstemp(prefix=".incomplete-", suffix=".partial", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        final = _link_new(tmp, directory, stem)
    finally:
        os.unlink(tmp)
    _fsync_dir(directory)
    return final


def _link_new(tmp: str, directory: Path, stem: str) -> Path:
    """Link `tmp` under the first free name of `<stem>.json`, `<stem>-2.json`, ...: never replaces a file."""
    for attempt in range(1, 1000):
        final = directory / (f"{stem}.json" if attempt == 1 else f"{stem}-{attempt}.json")
        try:
            os.link(tmp, final)  # fails if `final` exists
        except FileExistsError:
            continue
        return final
    raise ResultsError(f"{directory}: no free name for {stem}.json")  # pragma: no cover - a thousand in one second


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
