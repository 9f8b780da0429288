"""`check` against the newest runs closest to a record's original environment (incidentkb.check.agreement)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from incidentkb.check.agreement import stated_result_problems
from incidentkb.records.reader import read_record
from incidentkb.results.runs import Run

REPO = Path(__file__).resolve().parents[1]
DTYPE = "2025-04-12-stylegan-label-dtype-mismatch"
NODE = "regressions/test_stylegan_label_dtype.py::test_fix_cast_to_float32"


def run(cell: str, cases: list[tuple[str, str]], versions: dict[str, str], finished: str = "2026-12-01T06:00:00+00:00") -> Run:
    entries: list[dict[str, Any]] = [{"nodeid": f"{NODE}{variant}", "incident": DTYPE, "role": "fix", "outcome": outcome}
                                     for variant, outcome in cases]
    axes = dict(part.split("=") for part in cell.split())
    return Run.from_dict({"schema": 1, "cell": cell, "axes": {**axes, "gpus": int(axes["gpus"])}, "started": finished,
                          "finished": finished, "versions": versions, "cases": entries}, REPO / "x.json")


def problems(*runs: Run) -> list[str]:
    record = read_record(REPO / "incidents" / f"{DTYPE}.yaml")
    return [p.message.split(" in cell ")[0] for p in stated_result_problems([record], list(runs), REPO)]


def test_every_variant_is_compared_a_skipped_one_hides_none() -> None:
    """`[cuda]` not run beside `[cpu]` BROKEN in the same run: the broken variant is still a disagreement."""
    versions = {"torch": "2.6.0", "transformers": "4.51.3"}
    found = run("torch=2.6.0 stack=4.51.3 gpus=2", [("[cpu]", "BROKEN"), ("[cuda]", "not run")], versions)
    assert problems(found) == ["test_fix_cast_to_float32[cpu] 'BROKEN'"]


def test_a_latest_cell_is_ranked_by_the_versions_it_resolved() -> None:
    """The `latest` cell resolved transformers 4.51.3, as the original: it is as close as the pinned stack 4.51.3,
    so its disagreement is reported (ranked by its stack id, `latest`, it was never among the closest)."""
    pinned = run("torch=2.6.0 stack=4.51.3 gpus=2", [("", "holds")], {"torch": "2.6.0", "transformers": "4.51.3"})
    latest = run("torch=2.6.0 stack=latest gpus=2", [("", "BROKEN")], {"torch": "2.6.0", "transformers": "4.51.3"})
    assert problems(pinned, latest) == ["test_fix_cast_to_float32 'BROKEN'"]
