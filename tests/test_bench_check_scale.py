"""The synthetic records of bench/check_scale.py stay valid, so the benchmark times the whole path of `check`."""

from __future__ import annotations

from pathlib import Path

from repo_samples import load_bench

from incidentkb.check.checker import check


def test_synthetic_records_pass_check(tmp_path: Path) -> None:
    bench = load_bench("check_scale")
    bench.generate(tmp_path / "kb", 3)
    report = check(tmp_path / "kb")
    assert report.problems == ()
    assert report.summary() == "checked 3 records and 3 regression files: all good"
