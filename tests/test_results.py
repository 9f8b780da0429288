"""Results files: written atomically under a new name, never over another file, and read back as they were."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from incidentkb.matrix.axes import Cell
from incidentkb.matrix.results_files import (
    SCHEMA,
    ResultsError,
    latest_per_cell,
    read,
    read_all,
    write,
)
from incidentkb.verdict.outcomes import Outcome

ROOT = Path(__file__).resolve().parents[1]


def result(cell: str = "torch=2.6.0 stack=4.51.3 gpus=0", finished: str = "2026-11-27T23:15:02+00:00", **cases: str) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "cell": cell,
        "started": "2026-11-27T23:14:00+00:00",
        "finished": finished,
        "incidents": {"ran": ["dtype"], "covered_by": {"sft": "torch=2.6.0 stack=4.51.3 gpus=2"}},
        "cases": [
            {"nodeid": f"regressions/test_dtype.py::{name}", "incident": "dtype", "role": name.split("_")[1], "outcome": outcome, "detail": None}
            for name, outcome in cases.items()
        ],
    }


def test_a_results_file_is_named_by_time_and_cell_and_reads_back(tmp_path: Path) -> None:
    path = write(result(test_symptom="reproduces", test_fix="holds"), tmp_path)
    assert path.name == "20261127T231502Z_torch-2.6.0_stack-4.51.3_gpus-0.json"
    back = read(path)
    assert back.cell == Cell("2.6.0", "4.51.3", 0)
    assert [(c.name, c.outcome) for c in back.cases] == [("test_symptom", Outcome.reproduces), ("test_fix", Outcome.holds)]
    assert back.ran == ("dtype",) and back.covered == {"sft": "torch=2.6.0 stack=4.51.3 gpus=2"}
    assert json.loads(path.read_text()) == result(test_symptom="reproduces", test_fix="holds")


def test_a_second_run_in_the_same_second_gets_its_own_file_and_the_first_is_untouched(tmp_path: Path) -> None:
    first = write(result(test_fix="holds"), tmp_path)
    before = first.read_bytes()
    second = write(result(test_fix="BROKEN"), tmp_path)
    assert second.name == "20261127T231502Z_torch-2.6.0_stack-4.51.3_gpus-0-2.json"
    assert first.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("cases", "strict", "failing"),
    [
        ({"test_fix": "holds", "test_symptom": "reproduces"}, False, []),
        ({"test_fix": "BROKEN", "test_symptom": "reproduces"}, False, ["test_fix"]),
        ({"test_fix": "crashed"}, False, ["test_fix"]),
        ({"test_fix": "timed out"}, False, ["test_fix"]),
        ({"test_symptom": "no longer reproduces"}, False, []),
        ({"test_symptom": "no longer reproduces"}, True, ["test_symptom"]),
        ({"test_symptom": "not run"}, True, []),
    ],
)
def test_which_cases_fail_a_run(tmp_path: Path, cases: dict[str, str], strict: bool, failing: list[str]) -> None:
    back = read(write(result(**cases), tmp_path))
    assert [c.name for c in back.failures(strict=strict)] == failing


def test_read_all_gives_runs_oldest_first_and_latest_per_cell_the_newest_of_each(tmp_path: Path) -> None:
    write(result(finished="2026-11-27T10:00:00+00:00", test_fix="BROKEN"), tmp_path)
    write(result(finished="2026-11-27T12:00:00+00:00", test_fix="holds"), tmp_path)
    write(result(cell="torch=installed stack=4.51.3 gpus=2", finished="2026-11-27T11:00:00+00:00", test_fix="holds"), tmp_path)
    (tmp_path / ".incomplete-x.json").write_text("{")  # a write in progress elsewhere
    everything = read_all(tmp_path)
    assert [r.finished[11:16] for r in everything] == ["10:00", "11:00", "12:00"]
    latest = latest_per_cell(everything)
    assert [(str(r.cell), r.cases[0].outcome.value) for r in latest] == [
        ("torch=2.6.0 stack=4.51.3 gpus=0", "holds"),
        ("torch=installed stack=4.51.3 gpus=2", "holds"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [("{", "Expecting"), (json.dumps({"schema": 99}), "results schema 99"), (json.dumps({"schema": SCHEMA}), "not a results file")],
)
def test_an_unreadable_file_is_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ResultsError, match=message) as raised:
        read(path)
    assert str(path) in str(raised.value)


def test_every_committed_results_file_reads() -> None:
    for found in read_all(ROOT / "regressions" / "results"):
        assert found.cases or found.covered, found.path
