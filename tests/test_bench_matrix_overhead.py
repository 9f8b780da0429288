"""bench/matrix_overhead.py: how it splits a run into phases, finds the slowest case, and which block it rewrites."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from repo_samples import load_bench

CELL = "torch=2.13.0 stack=4.51.3 gpus=0"


@pytest.fixture(scope="module")
def overhead() -> ModuleType:
    return load_bench("matrix_overhead")


def results_file(*cases: tuple[str, str, float], gpus: list[str] | None = None) -> dict[str, Any]:
    """A results file as cellrun writes it, with only the fields the benchmark reads."""
    return {
        "cell": CELL, "axes": {"torch": "2.13.0", "stack": "4.51.3", "gpus": len(gpus or [])},
        "environment": {"backend": "uv", "reused": False, "seconds": 40.2, "probe_seconds": 0.3},
        "pytest": {"seconds": 21.0},
        "host": {"cpu": "AMD EPYC", "cpu_count": 2, "gpus": [{"name": n, "memory_gb": 80} for n in gpus or []]},
        "cases": [{"nodeid": f"regressions/test_x.py::{name}", "outcome": outcome, "duration_s": seconds}
                  for name, outcome, seconds in cases],
    }


@pytest.mark.parametrize(("data", "wall", "expected"), [
    (results_file(), 70.0, {"env_s": 40.2, "probe_s": 0.3, "pytest_s": 21.0, "rest_s": 8.5, "reused": False}),
    ({**results_file(), "environment": {"backend": "pip", "reused": True, "seconds": 0.0, "probe_seconds": 0.2}},
     25.0, {"env_s": 0.0, "probe_s": 0.2, "pytest_s": 21.0, "rest_s": 3.8, "reused": True}),
    ({**results_file(), "pytest": None}, 41.0, {"env_s": 40.2, "pytest_s": 0.0, "rest_s": 0.5}),  # install failed
])
def test_phases_split_the_wall_time_with_what_cellrun_recorded(overhead: ModuleType, data: dict[str, Any],
                                                               wall: float, expected: dict[str, Any]) -> None:
    row = overhead.phases(data, state="cold", wall_s=wall)
    assert {key: getattr(row, key) for key in expected} == expected
    assert (row.cell, row.state) == (CELL, "cold")


@pytest.mark.parametrize(("data", "expected"), [
    (results_file(("test_fix[cpu]", "holds", 9.04), ("test_fix[cuda]", "not run", 0.0), ("test_symptom", "reproduces", 1.02)),
     ("2 cores AMD EPYC", 2, 10.1, "test_fix[cpu]", 9.0)),
    (results_file(("test_torchrun", "holds", 25.6), ("test_symptom", "reproduces", 3.0), gpus=["NVIDIA H200"] * 2),
     ("2 x NVIDIA H200", 2, 28.6, "test_torchrun", 25.6)),
    (results_file(("test_fix", "not run", 0.0)), ("2 cores AMD EPYC", 0, 0.0, "-", 0.0)),
])
def test_case_times_name_the_slowest_case_and_sum_the_cases_that_ran(overhead: ModuleType, data: dict[str, Any],
                                                                   expected: tuple[Any, ...]) -> None:
    times = overhead.case_times(data)
    assert (times.machine, times.cases_run, times.total_s, times.slowest, times.slowest_s) == expected


def test_its_block_and_scale_py_s_block_are_rewritten_apart(overhead: ModuleType, tmp_path: Path) -> None:
    page = tmp_path / "docs" / "performance.md"
    overhead.write_page("MATRIX 1", page)  # no page yet: scale.py's introduction and its empty block come first
    overhead.scale.write_page("SCALE", page)
    overhead.write_page("MATRIX 2", page)
    text = page.read_text(encoding="utf-8")
    assert text.startswith(overhead.scale.INTRO)
    assert f"{overhead.scale.START}\n\nSCALE\n\n{overhead.scale.END}" in text
    assert f"{overhead.START}\n\nMATRIX 2\n\n{overhead.END}" in text
    assert "MATRIX 1" not in text and text.index(overhead.scale.END) < text.index(overhead.START)
