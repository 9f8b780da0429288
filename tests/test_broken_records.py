"""The corpus of broken records: each one produces exactly its messages, at its lines.

Each case under tests/broken/ is either one record (`<case>.yaml`, whose regression file is written here from
its own `regression.cases`, so that only the record's defect shows), or a folder holding records and the
regression files they name (for defects in the regression side). A case is checked alone in a fresh repository
with the committed JSON Schema, and the problems must be exactly those in the table: the defect is found, at
the right place, with the message a person needs, and nothing else is reported because of it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from repo_samples import regression_for, with_schema

from incidentkb.check.checker import check

BROKEN = Path(__file__).parent / "broken"

# case, then every problem `check` reports for it, as it prints them (relative to the repository).
EXPECTED: list[tuple[str, list[str]]] = [
    ("bad-date-day.yaml", ["incidents/bad-date-day.yaml:5:7: bad date in 'date': '2025-02-30' (day value is outside expected range); write it as YYYY-MM-DD, e.g. 2025-04-12"]),
    ("bad-date-format.yaml", ["incidents/bad-date-format.yaml:5:7: bad date in 'date': 'January 15, 2025' (invalid character in year); write it as YYYY-MM-DD, e.g. 2025-04-12"]),
    ("bad-enum-case.yaml", ["incidents/bad-enum-case.yaml:8:11: 'severity' is the text 'High'; did you mean 'high'?"]),
    ("bad-enum-value.yaml", ["incidents/bad-enum-value.yaml:9:9: 'status' is the text 'done'; write one of 'open', 'investigating', 'resolved' or 'wontfix'"]),
    ("bad-id.yaml", ["incidents/bad-id.yaml:3:5: 'id' is the text 'Loss NaN', which is not lowercase words and digits joined by '-', e.g. 2025-04-12-short-name"]),
    ("bad-role.yaml", [
        "incidents/bad-role.yaml:32:34: 'regression.cases[0].role' is the text 'symptoms', which is not 'symptom', 'fix', 'fix:<alternative fix id>' or 'attempt:<failed attempt id>'; did you mean 'symptom'?",
        "regressions/sample.py:4:2: case 'test_symptom' has role 'symptoms' in its marker, which is not a role; write 'symptom', 'fix', 'fix:<alternative fix id>' or 'attempt:<failed attempt id>'",
    ]),
    ("case-field-not-listed.yaml", ["incidents/case-field-not-listed.yaml:19:9: case 'test_symptom_nan' is not listed in regression.cases; add {name: test_symptom_nan, role: symptom} there"]),
    ("case-field-wrong-role.yaml", ["incidents/case-field-wrong-role.yaml:28:9: case 'test_symptom' is listed in regression.cases with role 'symptom', but as the case of this part of the record its role is 'fix'"]),
    ("case-marked-for-other-incident", [
        "incidents/case-marked-for-other-incident.yaml:34:14: case 'test_fix' (regressions/sample.py:19) is marked for incident '2025-01-15-other-incident', not for 'case-marked-for-other-incident'",
        "regressions/sample.py:18:2: case 'test_fix' is marked for incident '2025-01-15-other-incident', which does not exist; did you mean 'case-marked-for-other-incident'?",
    ]),
    ("case-not-defined", [
        "incidents/case-not-defined.yaml:34:14: case 'test_fix' is not defined in regressions/sample.py; did you mean 'test_fix_float32'?",
        "regressions/sample.py:18:2: case 'test_fix_float32' is marked for incident 'case-not-defined', but incidents/case-not-defined.yaml does not list it; add {name: test_fix_float32, role: fix} to its regression.cases",
    ]),
    ("case-role-disagrees", ["incidents/case-role-disagrees.yaml:34:30: case 'test_fix' has role 'fix' here but 'symptom' in its marker at regressions/sample.py:18; make them agree"]),
    ("case-without-marker", ["incidents/case-without-marker.yaml:34:14: case 'test_fix' (regressions/sample.py:18) has no incident marker; add @pytest.mark.incident(\"case-without-marker\", \"fix\") above it"]),
    ("duplicate-id", [
        "incidents/second-record.yaml:3:5: duplicate id 'first-record': incidents/first-record.yaml already has it; give each incident its own id",
        "incidents/second-record.yaml:3:5: id 'first-record' does not match the file name 'second-record.yaml'; rename the file to first-record.yaml or set the id to 'second-record'",
    ]),
    ("duplicate-key.yaml", ["incidents/duplicate-key.yaml:7:1: duplicate key 'category' in the record: it is already set at line 6; keep one of them"]),
    ("empty-file.yaml", ["incidents/empty-file.yaml:1:1: the record is empty; start from `incidentkb new \"<title>\"`"]),
    ("id-not-file-name.yaml", ["incidents/id-not-file-name.yaml:3:5: id '2025-01-15-loss-nan' does not match the file name 'id-not-file-name.yaml'; rename the file to 2025-01-15-loss-nan.yaml or set the id to 'id-not-file-name'"]),
    ("invalid-yaml-indentation.yaml", ["incidents/invalid-yaml-indentation.yaml:12:11: invalid YAML: mapping values are not allowed in this context"]),
    ("invalid-yaml-tab-indentation.yaml", ["incidents/invalid-yaml-tab-indentation.yaml:11:1: invalid YAML: found character that cannot start any token (while scanning for the next token); indent with spaces, not tabs"]),
    ("invalid-yaml-unclosed-list.yaml", ["incidents/invalid-yaml-unclosed-list.yaml:8:9: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence)"]),
    ("marked-case-not-listed", ["regressions/sample.py:23:2: case 'test_fix_with_bf16' is marked for incident 'marked-case-not-listed', but incidents/marked-case-not-listed.yaml does not list it; add {name: test_fix_with_bf16, role: fix} to its regression.cases"]),
    ("marker-names-missing-incident", ["regressions/sample.py:23:2: case 'test_symptom_elsewhere' is marked for incident '2025-01-15-no-such-incident', which does not exist; create incidents/2025-01-15-no-such-incident.yaml or correct the id"]),
    ("marker-not-literal", ["regressions/sample.py:18:2: the incident marker of 'test_fix' must give the incident id and the role as literal strings (or module-level string constants), e.g. @pytest.mark.incident(\"2025-04-12-short-name\", \"symptom\"), so that `incidentkb check` can read it without importing the file"]),
    ("missing-field.yaml", ["incidents/missing-field.yaml:3:1: missing field 'cause' in the record; add `cause:` (why it happened)"]),
    ("missing-nested-field.yaml", ["incidents/missing-nested-field.yaml:22:5: missing field 'tried' in 'failed_attempts[0]'; add `tried:` (what was tried)"]),
    ("no-cases.yaml", ["incidents/no-cases.yaml:31:10: 'regression.cases' is empty; list at least one item"]),
    ("no-schema-line.yaml", ["incidents/no-schema-line.yaml:1:1: the record does not name its JSON Schema, so editors cannot check it; add '# yaml-language-server: $schema=../schema/incident.schema.json' as its first line"]),
    ("not-a-mapping.yaml", ["incidents/not-a-mapping.yaml:3:1: the record must be a mapping of keys (id: ..., title: ...), not a list"]),
    ("placeholder-left.yaml", ["incidents/placeholder-left.yaml:20:8: placeholder left in 'cause': replace 'TODO: why it happened' with the real value"]),
    ("regression-file-missing", ["incidents/regression-file-missing.yaml:30:9: regression file 'regressions/missing.py' does not exist; correct the path, or create the file (`incidentkb new` writes a stub)"]),
    ("regression-invalid-python", ["regressions/sample.py:19:22: invalid Python: expected ':'"]),
    ("regression-path-outside.yaml", ["incidents/regression-path-outside.yaml:30:9: 'regression.path' is the text 'tests/sample.py', which is not a Python file under regressions/, e.g. regressions/test_short_name.py"]),
    ("regression-placeholder", ["regressions/sample.py:20:17: placeholder left: 'TODO: put the fixed code here'; replace it with the real code"]),
    ("role-names-no-attempt.yaml", ["incidents/role-names-no-attempt.yaml:33:54: role 'attempt:lower-lr' names no failed attempt 'lower-lr'; the record's failed attempts are lower-learning-rate"]),
    ("signature-does-not-compile.yaml", ["incidents/signature-does-not-compile.yaml:18:16: the signature pattern in 'symptom.signatures[0].message' does not compile (missing ), unterminated subpattern at position 23); escape characters such as ( ) [ ] . * + ? with a backslash"]),
    ("unknown-key-nested.yaml", ["incidents/unknown-key-nested.yaml:13:49: unknown key 'memory' in 'environment.gpu'; did you mean 'memory_gb'?"]),
    ("unknown-key-no-suggestion.yaml", ["incidents/unknown-key-no-suggestion.yaml:10:1: unknown key 'owner' in the record; allowed keys are id, title, title_original, original_language, date, category, tags, severity, severity_original, status, project, environment, symptom, cause, cause_notes, failed_attempts, fix, lessons, facts, references, regression"]),
    ("unknown-key-typo.yaml", ["incidents/unknown-key-typo.yaml:8:1: unknown key 'sevrity' in the record; did you mean 'severity'?"]),
    ("unsafe-tag.yaml", ["incidents/unsafe-tag.yaml:20:8: unsupported YAML tag '!!python/object/apply:os.system' in 'cause'; records hold only text, numbers, true/false, dates, lists and mappings"]),
    ("wrong-type-count.yaml", ["incidents/wrong-type-count.yaml:13:46: 'environment.gpu.count' should be a whole number, not the text 'two'"]),
    ("wrong-type-empty-mapping.yaml", ["incidents/wrong-type-empty-mapping.yaml:26:1: 'fix' is empty; write its keys under 'fix:', at least summary"]),
    ("wrong-type-text-for-list.yaml", ["incidents/wrong-type-text-for-list.yaml:7:7: 'tags' should be a list, not the text 'fp16'; write it as a list: tags: [fp16]"]),
    ("wrong-type-version-number.yaml", ["incidents/wrong-type-version-number.yaml:12:11: 'environment.python' should be text, not a number (3.1); put it in quotes: python: \"3.10\""]),
]


def _repository(case: Path, root: Path) -> Path:
    (root / "incidents").mkdir()
    (root / "regressions").mkdir()
    with_schema(root)
    if case.is_dir():
        for file in case.iterdir():
            shutil.copy(file, root / ("incidents" if file.suffix == ".yaml" else "regressions") / file.name)
    else:
        shutil.copy(case, root / "incidents" / case.name)
        regression_for(case, root)
    return root


@pytest.mark.parametrize(("case", "expected"), EXPECTED, ids=[case for case, _ in EXPECTED])
def test_broken_case_reports_exactly_its_problems(case: str, expected: list[str], tmp_path: Path) -> None:
    root = _repository(BROKEN / case, tmp_path).resolve()
    report = check(root)
    shown = [f"{Path(p.path).relative_to(root).as_posix()}:{p.line}:{p.col}: {p.message}" for p in report.problems]
    assert shown == expected
    assert not report.ok


def test_every_case_in_the_corpus_has_its_expectations() -> None:
    on_disk = sorted(p.name for p in BROKEN.iterdir() if p.suffix == ".yaml" or p.is_dir())
    assert on_disk == sorted(case for case, _ in EXPECTED)
    assert len(on_disk) >= 20
