"""The synthetic records of bench/check_scale.py stay valid, so the benchmark times the whole path of `check`."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from incidentkb.check import check

BENCH = Path(__file__).parent.parent / "bench" / "check_scale.py"


def test_synthetic_records_pass_check(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("check_scale", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.generate(tmp_path / "kb", 3)
    report = check(tmp_path / "kb")
    assert report.problems == ()
    assert report.summary() == "checked 3 records and 3 regression files: all good"
