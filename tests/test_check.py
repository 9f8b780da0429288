"""`check` across files: which files it reads, what it reports where, and its summary line."""

from __future__ import annotations

from pathlib import Path

import pytest
from repo_samples import sample_repository

from incidentkb.check.checker import CheckError, Report, check, find_root
from incidentkb.records.reader import Problem

RECORD = "incidents/2025-01-15-sample-loss-nan.yaml"
REGRESSION = "regressions/sample_loss_nan.py"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the sample repository: one valid record, its regression file and the JSON Schema."""
    return sample_repository(tmp_path / "repo").resolve()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _shown(report: Report, root: Path) -> list[str]:
    return [f"{Path(p.path).relative_to(root).as_posix()}:{p.line}:{p.col}: {p.message}" for p in report.problems]


def test_the_sample_repository_is_all_good(root: Path) -> None:
    report = check(root)
    assert report.ok and report.problems == ()
    assert report.summary() == "checked 1 record and 1 regression file: all good"


def test_checking_a_record_checks_its_regression_file_too(root: Path) -> None:
    _edit(root / REGRESSION, 'def test_fix_loss_in_float32(observe):\n    pass', 'def test_fix_loss_in_float32(observe):\n    "TODO: x"')
    report = check(root, [root / RECORD])
    assert [Path(p).name for p in report.regressions] == ["sample_loss_nan.py"]
    assert _shown(report, root) == [f"{REGRESSION}:26:5: placeholder left: 'TODO: x'; replace it with the real code"]


def test_checking_a_regression_file_checks_the_records_its_markers_name(root: Path) -> None:
    _edit(root / REGRESSION, '"attempt:lower-learning-rate"', '"attempt:smaller-steps"')
    report = check(root, [root / REGRESSION])
    assert [Path(p).name for p in report.records] == ["2025-01-15-sample-loss-nan.yaml"]
    assert _shown(report, root) == [
        f"{RECORD}:41:54: case 'test_attempt_lower_learning_rate' has role 'attempt:lower-learning-rate' here but "
        f"'attempt:smaller-steps' in its marker at {REGRESSION}:19; make them agree",
    ]


def test_other_records_are_known_but_not_reported_when_one_file_is_checked(root: Path) -> None:
    (root / "incidents" / "broken.yaml").write_text("id: [\n", encoding="utf-8")
    assert check(root, [root / RECORD]).ok
    assert not check(root).ok


def test_a_record_outside_incidents_is_checked_against_the_repository(root: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "drafts" / "2025-01-16-draft.yaml"
    elsewhere.parent.mkdir()
    text = (root / RECORD).read_text(encoding="utf-8").replace("2025-01-15-sample-loss-nan", "2025-01-16-draft")
    elsewhere.write_text(text.replace("regressions/sample_loss_nan.py", "regressions/draft.py"), encoding="utf-8")
    report = check(root, [elsewhere])
    assert [(p.line, p.message) for p in report.problems] == [
        (1, "the JSON Schema '../schema/incident.schema.json' does not exist; write $schema=../repo/schema/incident.schema.json"),
        (38, "regression file 'regressions/draft.py' does not exist; correct the path, or create the file (`incidentkb new` writes a stub)"),
    ]


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('role: "fix:bf16"', 'role: "fix:bf-16"',
     ["incidents/2025-01-15-sample-loss-nan.yaml:43:35: role 'fix:bf-16' names no alternative fix 'bf-16'; did you mean 'fix:bf16'?"]),
    ("  case: test_symptom_nan_loss\n", "  case: test_fix_bf16\n",
     ["incidents/2025-01-15-sample-loss-nan.yaml:23:9: case 'test_fix_bf16' is listed in regression.cases with role 'fix:bf16', "
      "but as the case of this part of the record its role is 'symptom'"]),
    ("    - {name: test_fix_bf16, role: \"fix:bf16\"}\n", "    - {name: test_fix_bf16, role: \"fix:bf16\"}\n    - {name: test_fix_bf16, role: \"fix:bf16\"}\n",
     ["incidents/2025-01-15-sample-loss-nan.yaml:44:14: case 'test_fix_bf16' is listed twice in regression.cases; keep one"]),
    ("# yaml-language-server: $schema=../schema/incident.schema.json", "# yaml-language-server: $schema=../schema/incidents.json",
     ["incidents/2025-01-15-sample-loss-nan.yaml:1:33: the JSON Schema '../schema/incidents.json' does not exist; "
      "write $schema=../schema/incident.schema.json"]),
])
def test_record_side_cross_references(root: Path, old: str, new: str, expected: list[str]) -> None:
    _edit(root / RECORD, old, new)
    assert _shown(check(root), root) == expected


def test_a_regression_path_leading_out_of_regressions_is_refused_not_read(root: Path) -> None:
    (root.parent / "outside.py").write_text("def broken(:\n", encoding="utf-8")  # would be reported if it were read
    _edit(root / RECORD, "path: regressions/sample_loss_nan.py", "path: regressions/../../outside.py")
    assert _shown(check(root), root) == [
        "incidents/2025-01-15-sample-loss-nan.yaml:38:9: regression file 'regressions/../../outside.py' is outside "
        "regressions/; write its path under regressions/, without '..'"]


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('@pytest.mark.incident(ID, "symptom")', '@pytest.mark.incident(ID, "symptom")\n@pytest.mark.incident(ID, "fix")',
     ["regressions/sample_loss_nan.py:15:2: case 'test_symptom_nan_loss' has 2 incident markers; a case checks one role of one incident"]),
    ('def _overflowing_logits() -> None:', '@pytest.mark.incident(ID, "symptom")\ndef _overflowing_logits() -> None:',
     ["regressions/sample_loss_nan.py:10:2: case '_overflowing_logits' is marked for incident '2025-01-15-sample-loss-nan', but "
      "incidents/2025-01-15-sample-loss-nan.yaml does not list it; add {name: _overflowing_logits, role: symptom} to its regression.cases"]),
])
def test_regression_side_cross_references(root: Path, old: str, new: str, expected: list[str]) -> None:
    _edit(root / REGRESSION, old, new)
    assert _shown(check(root), root) == expected


def test_a_problem_in_one_case_does_not_hide_the_problems_of_the_others(root: Path) -> None:
    _edit(root / RECORD, "role: symptom}", "role: symptoms}")
    _edit(root / RECORD, "{name: test_fix_loss_in_float32,", "{name: test_fix_loss_in_fp32,")
    _edit(root / RECORD, "  case: test_fix_loss_in_float32", "  case: test_fix_loss_in_fp32")
    assert [" ".join(p.split()[1:4]) for p in _shown(check(root), root)] == [
        "'regression.cases[0].role' is the",
        "case 'test_fix_loss_in_fp32' is",
        "case 'test_fix_loss_in_float32' is",
    ]


def test_a_case_marked_in_another_file_than_the_record_names(root: Path) -> None:
    (root / "regressions" / "stray.py").write_text(
        'import pytest\n\n@pytest.mark.incident("2025-01-15-sample-loss-nan", "symptom")\ndef test_symptom_nan_loss():\n    pass\n',
        encoding="utf-8")
    assert _shown(check(root), root) == [
        "regressions/stray.py:3:2: case 'test_symptom_nan_loss' is marked for incident '2025-01-15-sample-loss-nan', but "
        "incidents/2025-01-15-sample-loss-nan.yaml names regressions/sample_loss_nan.py as its regression file"]


@pytest.mark.parametrize(("problems", "records", "regressions", "summary"), [
    ([], 3, 3, "checked 3 records and 3 regression files: all good"),
    ([], 1, 0, "checked 1 record: all good"),
    ([], 0, 0, "checked 0 records: all good"),
    ([("r0.yaml", 1), ("r0.yaml", 2), ("r1.yaml", 1)], 3, 3, "3 problems in 2 records"),
    ([("r0.yaml", 1), ("g0.py", 1)], 3, 3, "2 problems in 1 record and 1 regression file"),
    ([("g0.py", 1)], 3, 3, "1 problem in 1 regression file"),
])
def test_summary(problems: list[tuple[str, int]], records: int, regressions: int, summary: str) -> None:
    report = Report(
        problems=tuple(Problem(f"/r/{name}", line, 1, "x") for name, line in problems),
        records=tuple(Path(f"/r/r{n}.yaml") for n in range(records)),
        regressions=tuple(Path(f"/r/g{n}.py") for n in range(regressions)),
    )
    assert report.summary() == summary


def test_helper_modules_are_counted_apart_from_regression_files(root: Path) -> None:
    (root / "regressions" / "helpers").mkdir()
    (root / "regressions" / "helpers" / "__init__.py").write_text('"""Helpers of the sample."""\n', encoding="utf-8")
    (root / "regressions" / "helpers" / "model.py").write_text("def tiny_model():\n    return None\n", encoding="utf-8")
    assert check(root).summary() == "checked 1 record, 1 regression file and 2 helper modules: all good"


def test_find_root_walks_up_to_the_folder_with_incidents(root: Path) -> None:
    (root / "regressions" / "deep").mkdir()
    assert find_root(root / "regressions" / "deep") == root


def test_find_root_says_what_it_looked_for(tmp_path: Path) -> None:
    with pytest.raises(CheckError, match=r"no incidentkb repository at or above .* \(a folder with incidents/ or pyproject.toml\)"):
        find_root(tmp_path)


@pytest.mark.parametrize(("name", "message"), [
    ("missing.yaml", "missing.yaml does not exist; give record files, regression files or folders holding them"),
    ("notes.txt", "cannot check notes.txt: records are .yaml files and regressions are .py files"),
])
def test_paths_that_cannot_be_checked(root: Path, monkeypatch: pytest.MonkeyPatch, name: str, message: str) -> None:
    (root / "notes.txt").write_text("", encoding="utf-8")
    monkeypatch.chdir(root)
    with pytest.raises(CheckError) as caught:
        check(root, [Path(name)])
    assert str(caught.value) == message


def test_a_record_without_a_fix_is_good_and_its_fix_role_is_a_problem(root: Path) -> None:
    """An incident given up on leaves `fix` out; a case that still claims the role `fix` names nothing."""
    text = (root / RECORD).read_text(encoding="utf-8")
    start, end = text.index("fix:\n  summary"), text.index("regression:\n")
    (root / RECORD).write_text(text[:start] + text[end:], encoding="utf-8")
    _edit(root / RECORD, "status: resolved", "status: wontfix")
    assert _shown(check(root), root) == [
        "incidents/2025-01-15-sample-loss-nan.yaml:35:46: role 'fix' but the record has no fix (`fix` is left out: "
        "no fix known); add the fix, or list the case as a `smoke` or an attempt",
        "incidents/2025-01-15-sample-loss-nan.yaml:36:35: role 'fix:bf16' but the record has no fix (`fix` is left "
        "out: no fix known); add the fix, or list the case as a `smoke` or an attempt",
    ]


def test_a_resolved_record_needs_its_fix(root: Path) -> None:
    text = (root / RECORD).read_text(encoding="utf-8")
    start, end = text.index("fix:\n  summary"), text.index("regression:\n")
    (root / RECORD).write_text(text[:start] + text[end:], encoding="utf-8")
    messages = [p.message for p in check(root).problems]
    assert any("status is 'resolved' but the record has no `fix`" in m for m in messages), messages
