"""Reading a regression file's cases and incident markers from its syntax tree, without importing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentkb.check.regression_scan import (
    IncidentMarker,
    ScanIssue,
    regression_files,
    scan_regression,
)

SAMPLE = Path(__file__).parent / "sample" / "regressions" / "sample_loss_nan.py"
ID = "2025-01-15-sample-loss-nan"


def _scan(tmp_path: Path, source: str):
    path = tmp_path / "regression.py"
    path.write_text(source, encoding="utf-8")
    return scan_regression(path)


def test_the_sample_file_declares_its_cases_with_their_roles() -> None:
    scan = scan_regression(SAMPLE)
    assert scan.parsed and scan.issues == ()
    assert {c.name: [(m.incident, m.role) for m in c.markers] for c in scan.marked} == {
        "test_symptom_nan_loss": [(ID, "symptom")],
        "test_attempt_lower_learning_rate": [(ID, "attempt:lower-learning-rate")],
        "test_fix_loss_in_float32": [(ID, "fix")],  # keyword arguments
        "test_fix_bf16": [(ID, "fix:bf16")],  # a method of a test class, literal arguments
    }
    assert "_overflowing_logits" in scan.functions and not scan.functions["_overflowing_logits"].markers


@pytest.mark.parametrize(("decorator", "marker"), [
    ('@pytest.mark.incident("x", "fix")', ("x", "fix")),
    ('@mark.incident("x", "symptom")', ("x", "symptom")),
    ('@pytest.mark.incident(ID, role="attempt:a")', ("x", "attempt:a")),
    ('@pytest.mark.incident(ID, ROLE)', ("x", None)),  # ROLE is not a module-level string
    ('@pytest.mark.incident(f"{ID}", "fix")', (None, "fix")),
])
def test_marker_arguments_are_read_from_literals_and_module_constants(tmp_path: Path, decorator: str, marker: tuple) -> None:
    scan = _scan(tmp_path, f'import pytest\nfrom pytest import mark\nID = "x"\nROLE = 3\n\n{decorator}\ndef test_a():\n    pass\n')
    assert scan.functions["test_a"].markers == (IncidentMarker(*marker, line=6, col=2),)


def test_an_unreadable_marker_is_an_issue_at_the_decorator(tmp_path: Path) -> None:
    scan = _scan(tmp_path, 'import pytest\n\n@pytest.mark.incident(make_id(), "fix")\ndef test_a():\n    pass\n')
    assert [(i.line, i.col) for i in scan.issues] == [(3, 2)]
    assert "must give the incident id and the role as literal strings" in scan.issues[0].message


def test_other_markers_are_not_incident_markers(tmp_path: Path) -> None:
    scan = _scan(tmp_path, 'import pytest\n\n@pytest.mark.needs(gpus=2)\n@pytest.mark.timeout(60)\ndef test_a():\n    pass\n')
    assert scan.functions["test_a"].markers == () and scan.marked == []


def test_invalid_python_is_one_issue_and_no_cases(tmp_path: Path) -> None:
    scan = _scan(tmp_path, "def test_a(:\n    pass\n")
    assert not scan.parsed and scan.functions == {}
    assert [(i.line, i.col) for i in scan.issues] == [(1, 12)]
    assert scan.issues[0].message.startswith("invalid Python: ")


@pytest.mark.parametrize("source", [
    "x = " + "-" * 100_000 + "1\n",  # MemoryError from the parser
    "x = 1" + " + 1" * 200_000 + "\n",  # RecursionError while building the tree
])
def test_an_expression_too_deep_for_the_parser_is_an_issue_not_a_crash(tmp_path: Path, source: str) -> None:
    scan = _scan(tmp_path, source)
    assert (scan.parsed, scan.issues) == (False, (
        ScanIssue(1, 1, "invalid Python: an expression is nested too deep for Python to parse"),))


def test_placeholders_are_found_with_columns_in_characters(tmp_path: Path) -> None:
    scan = _scan(tmp_path, 'def test_a():\n    "ünïcödé"; x = "TODO: replace me"\n')
    assert [tuple(i) for i in scan.issues] == [(2, 20, "placeholder left: 'TODO: replace me'; replace it with the real code")]


def test_regression_files_skips_caches_and_hidden_folders(tmp_path: Path) -> None:
    for name in ("test_a.py", "helpers/common.py", "__pycache__/x.py", ".hidden/y.py", "results/r.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in regression_files(tmp_path)] == ["helpers/common.py", "test_a.py"]
    assert regression_files(tmp_path / "missing") == []
