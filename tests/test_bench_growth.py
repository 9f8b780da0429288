"""bench/growth.py: its synthetic incidents are valid records with real regressions, and its matrix is the cut one."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from repo_samples import REPO, load_bench, with_schema

from incidentkb.matrix.axes import load_matrix
from incidentkb.records.reader import read_record


def test_the_synthetic_records_are_valid_and_spread_as_todays(tmp_path: Path) -> None:
    growth = load_bench("growth")
    root = with_schema(tmp_path)
    (root / "incidents").mkdir()
    (root / "regressions").mkdir()
    ids = growth.write_incidents(root, range(10))
    depends = []
    for incident in ids:
        read = read_record(root / "incidents" / f"{incident}.yaml", check_patterns=False)
        assert read.incident is not None, read.problems
        depends.append(tuple(read.incident.regression.depends_on))
    assert depends.count(("torch",)) == 6 and depends.count(("torch", "transformers", "trl")) == 4


def test_a_synthetic_regression_is_real_torch_and_words_its_outcomes(tmp_path: Path) -> None:
    growth = load_bench("growth")
    root = with_schema(tmp_path)
    (root / "incidents").mkdir()
    (root / "regressions").mkdir()
    growth.write_incidents(root, range(3, 4))
    (root / "pytest.ini").write_text("[pytest]\n")
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "pytest", "regressions", f"--incidentkb-report={report}", "-q",
                           "-p", "no:cacheprovider"], cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:]
    outcomes = {case["role"]: case["outcome"] for case in json.loads(report.read_text())["cases"]}
    assert outcomes == {"symptom": "reproduces", "attempt:visible-devices-after-import": "still fails",
                        "fix": "holds", "fix:torchrun": "holds"}


def test_the_matrix_is_cut_to_three_cpu_cells(tmp_path: Path) -> None:
    growth = load_bench("growth")
    (tmp_path / "regressions").mkdir()
    shutil.copy(REPO / "regressions" / "matrix.toml", tmp_path / "regressions" / "matrix.toml")
    growth.cut_matrix(tmp_path)
    cells = [str(c) for c in load_matrix(tmp_path / "regressions" / "matrix.toml").cells()]
    assert cells == [f"torch=2.13.0 stack={s} gpus=0" for s in ("4.51.3", "4.57.6", "5.24.0")]


def test_the_exponent_is_the_slope_on_a_log_scale() -> None:
    growth = load_bench("growth")
    assert round(growth.exponent(5, 10.0, 50, 100.0), 6) == 1.0
    assert round(growth.exponent(50, 10.0, 200, 10.0), 6) == 0.0
