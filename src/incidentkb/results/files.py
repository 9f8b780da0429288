"""Where results files live and how one is read from disk: the only place a results file's text is parsed.

A results file is one JSON file per run of one matrix cell under `regressions/results/` (bisections under its
`bisect/` folder), written once and never overwritten (`incidentkb.matrix.results_files` writes them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA", "RESULTS_DIR", "BISECT_DIR", "ResultsError", "results_dir", "result_paths", "bisection_paths",
           "read_text", "read_json"]

SCHEMA = 1
#: Where runs write their results, relative to the repository root (INCIDENTKB_RESULTS overrides it, e.g. for
#: trial runs whose results should not join the committed ones).
RESULTS_DIR = "regressions/results"
#: The folder of bisections inside a results folder; the readers of cell runs never list it.
BISECT_DIR = "bisect"


class ResultsError(ValueError):
    """A results file that cannot be read as one; the message names the file."""


def results_dir(root: Path) -> Path:
    """The folder results are written to and read from."""
    return Path(os.environ.get("INCIDENTKB_RESULTS") or root / RESULTS_DIR)


def result_paths(directory: str | Path = RESULTS_DIR) -> list[Path]:
    """The results files in the folder, by name (hidden files skipped: a write in progress elsewhere)."""
    return sorted(p for p in Path(directory).glob("*.json") if not p.name.startswith("."))


def bisection_paths(directory: str | Path = RESULTS_DIR) -> list[Path]:
    """The bisections' files of a results folder, by name."""
    return result_paths(Path(directory) / BISECT_DIR)


def read_text(path: str | Path) -> tuple[str, Any]:
    """A file's text and its JSON, whatever its shape; `ResultsError` for one that is not JSON."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        return text, json.loads(text)
    except (OSError, ValueError, RecursionError) as exc:  # unreadable, not UTF-8, not JSON, nested past the parser
        raise ResultsError(f"{path}: {exc}") from None


def read_json(path: str | Path) -> dict[str, Any]:
    """A results file's JSON as written, its schema checked; what the typed readers of this package start from."""
    data = read_text(path)[1]
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        schema = data.get("schema") if isinstance(data, dict) else None
        raise ResultsError(f"{path}: results schema {schema!r}, this incidentkb reads {SCHEMA}")
    return data
