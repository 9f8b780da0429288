"""bench/main_job.py: what it reads from one run's results files, and which block of the page it rewrites."""

from __future__ import annotations

from pathlib import Path

from repo_samples import load_bench

from incidentkb.matrix import results_files


def _result(cell: str, finished: str, env_s: float, pytest_s: float) -> dict:
    torch, stack, gpus = (part.split("=", 1)[1] for part in cell.split())
    return {"schema": results_files.SCHEMA, "cell": cell, "axes": {"torch": torch, "stack": stack, "gpus": int(gpus)},
            "started": finished, "finished": finished, "environment": {"seconds": env_s},
            "pytest": {"seconds": pytest_s}, "incidents": {"ran": [], "covered_by": {}}, "cases": []}


def test_a_run_is_split_into_its_cells_environments_and_pytest(tmp_path: Path) -> None:
    main_job = load_bench("main_job")
    results_files.write(_result("torch=2.13.0 stack=4.51.3 gpus=0", "2026-12-02T08:00:00+00:00", 12.5, 30.0), tmp_path)
    results_files.write(_result("torch=2.6.0 stack=4.51.3 gpus=0", "2026-12-02T08:01:00+00:00", 0.0, 28.25), tmp_path)
    assert main_job._split(tmp_path) == (2, 12.5, 58.2)


def test_it_rewrites_only_its_own_block() -> None:
    main_job = load_bench("main_job")
    assert main_job.START.startswith("<!-- bench/main_job.py: start") and main_job.END == "<!-- bench/main_job.py: end -->"
