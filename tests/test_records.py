"""Reading records: a valid one gives an `Incident`; an invalid one gives every problem, each placed and worded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from incidentkb.records.reader import (
    Problem,
    RecordError,
    load_record,
    load_records,
    read_record,
    record_files,
)
from incidentkb.records.schema import Incident

SAMPLE = Path(__file__).parent / "sample" / "incidents" / "2025-01-15-sample-loss-nan.yaml"


def _problems(tmp_path: Path, old: str, new: str) -> list[str]:
    """The problems of the sample record with one piece of text replaced, as `line:col: message`."""
    text = SAMPLE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / SAMPLE.name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return [f"{p.line}:{p.col}: {p.message}" for p in read_record(path).problems]


def test_the_sample_record_is_valid() -> None:
    record = read_record(SAMPLE)
    assert record.problems == ()
    assert isinstance(record.incident, Incident)
    assert record.incident.fix.alternatives[0].id == "bf16"
    assert record.schema_ref is not None and record.schema_ref.target == "../schema/incident.schema.json"


# Messages for schema rules that the broken-record corpus does not exercise.
@pytest.mark.parametrize(("old", "new", "expected"), [
    ("count: 1,", "count: -1,", ["13:46: 'environment.gpu.count' is -1; it must be at least 0"]),
    ("memory_gb: 80}", "memory_gb: 0}", ["13:60: 'environment.gpu.memory_gb' is 0; it must be more than 0"]),
    ("title: Loss becomes NaN in the first step with fp16", 'title: ""', ["4:8: 'title' is empty; write the text after 'title:'"]),
    ("title: Loss becomes NaN in the first step with fp16", "title:", ["4:1: 'title' is empty; write text after 'title:'"]),
    ("tags: [fp16, nan]", "tags: [fp16, Not A Slug]", [
        "7:14: 'tags[1]' is the text 'Not A Slug', which is not lowercase words and digits joined by '-', e.g. 2025-04-12-short-name"]),
    ("  case: test_fix_loss_in_float32\n", "  case: test_fix_loss_in_float32\n  commit: github.com/x/y/commit/1\n", [
        "33:11: 'fix.commit' is the text 'github.com/x/y/commit/1', which is not a web address starting with http:// or https://"]),
    ("    - {name: test_fix_bf16, role: \"fix:bf16\"}", "    - {name: fix_bf16, role: \"fix:bf16\"}", [
        "43:14: 'regression.cases[3].name' is the text 'fix_bf16', which is not the name of a test function, starting with 'test_'"]),
    ("symptom:\n  summary:", "symptom: [a]\nsymptom_:\n  summary:", [
        "16:10: 'symptom' should be a mapping of keys, not a list",
        "17:1: unknown key 'symptom_' in the record; did you mean 'symptom'?",
    ]),
    ("libraries: {torch: 2.6.0+cu124}", "libraries: {torch: 2.6}", [
        '15:22: \'environment.libraries.torch\' should be text, not a number (2.6); put it in quotes: torch: "2.6"']),
    ("date: 2025-01-15", "date: 2025-01-15 10:30:00", [
        "5:7: bad date in 'date': '2025-01-15T10:30:00' (Datetimes provided to dates should have zero time - e.g. be exact dates); "
        "write it as YYYY-MM-DD, e.g. 2025-04-12"]),
    ("cause: The logits overflow float16.", "cause: |\n  TODO: explain\n  in two lines", [
        "24:8: placeholder left in 'cause': replace 'TODO: explain' with the real value"]),
])
def test_schema_problems_are_placed_and_worded(tmp_path: Path, old: str, new: str, expected: list[str]) -> None:
    assert _problems(tmp_path, old, new) == expected


# `regression.requires` and the hardware conditions of `applies_when`: what a wrong value is told.
@pytest.mark.parametrize(("old", "new", "expected"), [
    ("  depends_on: [torch]", "  depends_on: [torch]\n  requires: [albumentations, \"numpy>=1.24,<3\"]", []),
    ("  depends_on: [torch]", "  depends_on: [torch]\n  requires: []", []),
    ("  depends_on: [torch]", "  depends_on: [torch]\n  requires: [\"albumentations ==\"]", [
        "45:14: 'regression.requires[0]': 'albumentations ==' is not a PEP 508 requirement; write a name, e.g. "
        "'albumentations', or a name and a range, e.g. 'albumentations>=1.3,<2'"]),
    ("  depends_on: [torch]", "  depends_on: [torch]\n  requires: [albumentations, Albumentations>=1]", [
        "45:13: 'regression.requires': 'albumentations' is required twice; keep one requirement per package"]),
    ("{name: test_fix_bf16, role: \"fix:bf16\"}",
     "{name: test_fix_bf16, role: \"fix:bf16\", applies_when: {compute_capability: \">=8.0\", gpu_memory_gb: \">=12\", why: bf16}}",
     []),
    ("{name: test_fix_bf16, role: \"fix:bf16\"}",
     "{name: test_fix_bf16, role: \"fix:bf16\", applies_when: {compute_capability: eight, why: bf16}}", [
        "43:82: 'regression.cases[3].applies_when.compute_capability': compute_capability 'eight' is not a "
        "version range; write e.g. '<8.0'"]),
    ("{name: test_fix_bf16, role: \"fix:bf16\"}",
     "{name: test_fix_bf16, role: \"fix:bf16\", applies_when: {gpu_memory_gb: 12 GB, why: memory}}", [
        "43:77: 'regression.cases[3].applies_when.gpu_memory_gb': gpu_memory_gb '12 GB' is not a memory "
        "range in GiB; write e.g. '>=12' or '<16'"]),
])
def test_requires_and_hardware_conditions_are_checked(tmp_path: Path, old: str, new: str, expected: list[str]) -> None:
    assert _problems(tmp_path, old, new) == expected


# A record's text quoted in a message is cut to 40 characters, so a problem stays one readable line.
LONG = "x" * 100_000
CUT = "x" * 37 + "..."


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("date: 2025-01-15", f"date: {LONG}",
     f"5:7: bad date in 'date': '{CUT}' (invalid character in year); write it as YYYY-MM-DD, e.g. 2025-04-12"),
    ("tags: [fp16, nan]", f"tags: {LONG}", f"7:7: 'tags' should be a list, not the text '{CUT}'; write it as a list: tags: [{CUT}]"),
    ("severity: high", f"severity: {LONG}", f"8:11: 'severity' is the text '{CUT}'; write one of 'critical', 'high', 'moderate' or 'low'"),
    ("cause:", f"? {LONG}\n: 1\ncause:", f"24:3: unknown key '{CUT}' in the record; allowed keys are id, title, title_original, "
     "original_language, date, category, tags, severity, severity_original, status, project, environment, symptom, cause, "
     "cause_notes, failed_attempts, fix, lessons, facts, references, regression"),
    ('python: "3.11"', f"python: 3.{'1' * 100_000}", f"12:11: 'environment.python' should be text, not a number (3.111111111111111); "
     f"put it in quotes: python: \"3.{'1' * 35}...\""),
])
def test_a_long_value_is_quoted_cut_short(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert _problems(tmp_path, old, new) == [expected]


def test_every_problem_of_a_record_is_reported_in_one_go(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "severity: high\nstatus: resolved", "severity: severe\nstatus: closed\nowner: me")
    assert [p.split(":")[0] for p in problems] == ["8", "9", "10"]


def test_a_placeholder_is_reported_once_even_where_the_schema_wants_something_else(tmp_path: Path) -> None:
    assert _problems(tmp_path, "severity: high", 'severity: "TODO: critical, high, moderate or low"') == [
        "8:11: placeholder left in 'severity': replace 'TODO: critical, high, moderate or low' with the real value"]


def test_a_file_that_is_not_utf8_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes("title: caf\u00e9\n".encode("latin-1"))
    assert [p.message for p in read_record(path).problems] == [
        "the file is not UTF-8 text (invalid continuation byte at byte 10); save it as UTF-8"]


def _record_with_problems(tmp_path: Path, count: int) -> Path:
    keys = "".join(f"key{n}: 1\n" for n in range(count))
    todos = "tags: [" + ", ".join(["TODO x"] * count) + "]"
    text = SAMPLE.read_text(encoding="utf-8").replace("tags: [fp16, nan]", todos).replace("cause:", keys + "cause:")
    path = tmp_path / str(count) / SAMPLE.name
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    return path


def _cpu_seconds_to_read(path: Path) -> tuple[float, tuple[Problem, ...]]:
    started = time.process_time()  # this process's CPU time: what other processes on the machine do not inflate
    problems = read_record(path).problems
    return time.process_time() - started, problems


def test_thousands_of_problems_in_one_record_grow_linearly_not_quadratically(tmp_path: Path) -> None:
    """Each problem finds its place through indexes, not by scanning the record (10,000 of each took 25 s).

    Ten times the problems must cost far less than a hundred times the time: linear work gives about 10x, the old
    scan gave about 100x. (How fast it is on this machine is a benchmark's business, not a test's.)
    """
    small, _ = _cpu_seconds_to_read(_record_with_problems(tmp_path, 1_000))
    large, problems = _cpu_seconds_to_read(_record_with_problems(tmp_path, 10_000))
    assert len(problems) == 20_000
    assert problems[0].message == "placeholder left in 'tags[0]': replace 'TODO x' with the real value"
    assert (problems[-1].line, problems[-1].message.split(";")[0]) == (10_023, "unknown key 'key9999' in the record")
    assert large < 40 * max(small, 0.01), f"{small:.2f} s CPU for 2,000 problems, {large:.2f} s for 20,000"


def test_a_byte_order_mark_is_not_part_of_the_record(tmp_path: Path) -> None:
    path = tmp_path / SAMPLE.name
    path.write_bytes(b"\xef\xbb\xbf" + SAMPLE.read_bytes())
    record = read_record(path)
    assert record.problems == () and record.schema_ref == read_record(SAMPLE).schema_ref


def test_problem_prints_as_path_line_col_message() -> None:
    assert str(Problem("incidents/x.yaml", 14, 3, "unknown key 'sevrity'")) == "incidents/x.yaml:14:3: unknown key 'sevrity'"


def test_load_record_returns_the_incident() -> None:
    assert load_record(SAMPLE).id == "2025-01-15-sample-loss-nan"


def test_load_record_raises_record_error_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("id: x\ntitel: y\n", encoding="utf-8")
    with pytest.raises(RecordError) as caught:
        load_record(path)
    assert len(caught.value.problems) > 5
    assert f"{path}:2:1: unknown key 'titel' in the record; did you mean 'title'?" in str(caught.value).splitlines()


def test_load_records_collects_the_problems_of_all_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("id: [\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("- x\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a record\n", encoding="utf-8")
    with pytest.raises(RecordError) as caught:
        load_records(tmp_path)
    assert sorted({Path(p.path).name for p in caught.value.problems}) == ["a.yaml", "b.yaml"]
    assert [p.name for p in record_files(tmp_path)] == ["a.yaml", "b.yaml"]


def test_load_records_of_valid_records(tmp_path: Path) -> None:
    assert [i.id for i in load_records(SAMPLE.parent)] == ["2025-01-15-sample-loss-nan"]


@pytest.mark.parametrize(("check_patterns", "problems"), [
    (True, ["22:16: the signature pattern in 'symptom.signatures[0].message' does not compile (missing ), "
            "unterminated subpattern at position 27); escape characters such as ( ) [ ] . * + ? with a backslash"]),
    (False, []),  # the site: it never matches tracebacks, and `incidentkb check` reports the pattern
])
def test_a_reader_that_never_matches_may_leave_patterns_uncompiled(
    tmp_path: Path, check_patterns: bool, problems: list[str]
) -> None:
    path = tmp_path / SAMPLE.name
    path.write_text(SAMPLE.read_text(encoding="utf-8").replace(r"in its \d+th output", "in its (unclosed"),
                    encoding="utf-8")
    record = read_record(path, check_patterns=check_patterns)
    assert [f"{p.line}:{p.col}: {p.message}" for p in record.problems] == problems
    assert (record.incident is None) == bool(problems)


def test_a_key_written_in_capitals_gets_a_did_you_mean() -> None:
    from incidentkb.records.wording import did_you_mean

    assert did_you_mean("OS", ["os", "python", "gpu"]) == "os"
    assert did_you_mean("Pythn", ["os", "python", "gpu"]) == "python"
