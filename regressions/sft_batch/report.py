"""How a training process reports what it saw: one JSON line on stdout, and a file per rank when asked.

The line is an observation dict as `incidentkb.plugin.observation.Observation.merge` takes it (`error`, `values`,
`notes`). The harness reads the files (`read_dir`): under torchrun two ranks write to one stdout, where long
lines may interleave; the prefixed line on stdout is for a person running the script by hand, among the
trainer's logs and progress bars.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["PREFIX", "ENV_REPORT_DIR", "emit", "read_dir"]

PREFIX = "sft-batch-observation: "
#: Where each process also writes `rank<N>.json`; set by the launcher.
ENV_REPORT_DIR = "SFT_BATCH_REPORT_DIR"


def emit(observation: Mapping[str, Any], *, rank: int = 0, directory: str | None = None) -> None:
    """Print the observation as one line and, when a directory is given, write it to `rank<N>.json` there."""
    text = json.dumps(observation, ensure_ascii=False, sort_keys=True)
    if directory:
        Path(directory, f"rank{rank}.json").write_text(text + "\n", encoding="utf-8")
    print(PREFIX + text, flush=True)


def read_dir(directory: Path) -> list[dict[str, Any]]:
    """Every observation written to a directory, by rank."""
    files = sorted(directory.glob("rank*.json"), key=lambda path: int(path.stem.removeprefix("rank")))
    return [json.loads(path.read_text(encoding="utf-8")) for path in files]
