"""Safe YAML loading with positions: plain values only, every key and value findable by its path."""

from __future__ import annotations

import datetime as dt

import pytest

from incidentkb.records.yamlload import YamlSyntaxError, format_path, load_yaml

DOC = """\
# a comment
id: 2025-04-12-x
date: 2025-04-12
python: 3.10
quoted: "3.10"
yes: no
count: 2
empty:
tags: [a, b]
gpu:
  model: M6000
  memory_gb: 12.5
cases:
  - {name: test_a, role: symptom}
  - name: test_b
    role: fix
"""


@pytest.mark.parametrize(("path", "value"), [
    (("id",), "2025-04-12-x"),
    (("date",), dt.date(2025, 4, 12)),
    (("python",), 3.1),  # YAML's reading, which the schema reports with a hint to quote it
    (("quoted",), "3.10"),
    (("yes",), False),  # a key is its text; a value `no` is YAML 1.1's false
    (("count",), 2),
    (("empty",), None),
    (("tags", 1), "b"),
    (("gpu", "memory_gb"), 12.5),
    (("cases", 1, "role"), "fix"),
])
def test_values_are_plain_python(path: tuple, value: object) -> None:
    found = load_yaml(DOC).value
    for part in path:
        found = found[part]
    assert found == value and type(found) is type(value)


@pytest.mark.parametrize(("path", "key", "mark"), [
    (("id",), False, (2, 5)),
    (("id",), True, (2, 1)),
    (("gpu", "model"), True, (11, 3)),
    (("gpu", "model"), False, (11, 10)),
    (("cases", 0), False, (14, 5)),
    (("cases", 0, "role"), False, (14, 26)),
    (("cases", 1, "role"), True, (16, 5)),
    (("tags", 1), False, (9, 11)),
    (("gpu", "no-such-key"), False, (11, 3)),  # falls back to the nearest value that was written: gpu's mapping
    ((), False, (2, 1)),
])
def test_marks_are_one_based_line_and_column(path: tuple, key: bool, mark: tuple[int, int]) -> None:
    assert load_yaml(DOC).mark(path, key=key) == mark


def test_text_at_gives_a_scalar_as_written() -> None:
    doc = load_yaml(DOC)
    assert doc.text_at(("python",)) == "3.10"
    assert doc.text_at(("gpu",)) is None


@pytest.mark.parametrize(("text", "issue"), [
    ("a: 1\nb: 2\na: 3\n", (("a",), 3, 1, "duplicate key 'a' in the record: it is already set at line 1; keep one of them")),
    ("a: !!python/object/apply:os.system [ls]\n", (("a",), 1, 4,
     "unsupported YAML tag '!!python/object/apply:os.system' in 'a'; records hold only text, numbers, true/false, dates, lists and mappings")),
    ("a: !custom 1\n", (("a",), 1, 4,
     "unsupported YAML tag '!custom' in 'a'; records hold only text, numbers, true/false, dates, lists and mappings")),
    ("base: &b {x: 1}\nother:\n  <<: *b\n", (("other",), 3, 3, "merge keys ('<<') are not supported in 'other'; write the keys out")),
    ("a:\n  [1, 2]: x\n", (("a",), 2, 3, "a key in 'a' is a list or mapping; keys must be plain words")),
    ("a:\n  !!python/name:os.system b: x\n", (("a",), 2, 3,
     "unsupported YAML tag '!!python/name:os.system' on the key 'b' in 'a'; keys are plain words")),
])
def test_what_is_not_plain_yaml_is_reported_not_built(text: str, issue: tuple) -> None:
    doc = load_yaml(text)
    assert [(i.path, i.line, i.col, i.message) for i in doc.issues] == [issue]


def test_a_number_too_long_for_python_is_reported_not_raised() -> None:
    doc = load_yaml("count: " + "9" * 5000 + "\n")
    assert doc.value == {"count": None}
    assert [(i.path, i.line, i.col, i.message) for i in doc.issues] == [(("count",), 1, 8, (
        "'count' is a number of 5000 characters, too long to read; write a shorter number, or put it in quotes "
        "if it is text"))]


def test_the_first_of_duplicate_keys_is_kept() -> None:
    assert load_yaml("a: 1\na: 2\n").value == {"a": 1}


def test_an_unsafe_tag_is_never_constructed() -> None:
    doc = load_yaml("a: !!python/object/apply:os.system [echo unsafe]\n")
    assert doc.value == {"a": None}


def test_a_date_that_does_not_exist_stays_text_for_the_schema_to_report() -> None:
    assert load_yaml("date: 2025-02-30\n").value == {"date": "2025-02-30"}


def test_aliases_that_expand_without_bound_are_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 7)]
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml("\n".join(lines) + "\n")
    assert caught.value.message == "the document expands to more than 200000 values through aliases; remove the aliases"


def test_a_list_too_long_for_a_record_is_refused_without_blaming_aliases() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml("tags: [" + ", ".join(["x"] * 250_000) + "]\n")
    assert caught.value.message == "the record holds more than 200000 values; a record describes one incident, keep it short"


@pytest.mark.parametrize("opening", ["[", "{a: ", "- "])
def test_nesting_deeper_than_a_record_needs_is_refused_before_the_stack_runs_out(opening: str) -> None:
    depth = 900  # libyaml stops at 1,000; building 900 levels recursively would overflow Python's stack
    if opening == "- ":
        text = "".join("  " * n + "-\n" for n in range(depth))
    else:
        text = "a: " + opening * depth + "1" + ("]" if opening == "[" else "}") * depth + "\n"
    with pytest.raises(YamlSyntaxError, match="^.*values are nested more than 50 levels deep; a record needs a few levels$"):
        load_yaml(text)


@pytest.mark.parametrize(("text", "line", "col", "message"), [
    ("a: [1, 2\nb: 3\n", 2, 2, "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence)"),
    ("a: 1\n  b: 2\n", 2, 4, "invalid YAML: mapping values are not allowed in this context"),
    ("a:\n\tb: 1\n", 2, 1,
     "invalid YAML: found character that cannot start any token (while scanning for the next token); indent with spaces, not tabs"),
    ("a: 1\n---\nb: 2\n", 2, 1, "invalid YAML: expected a single document in the stream, but found another document"),
    # libyaml counts this position in bytes, so the three before it on line 1 must not shift it.
    ("a: \u00e9\u00e9\u00e9\nb: x\x07y\n", 2, 5,
     'invalid YAML: control characters are not allowed (U+0007 here); remove it, or write it as "\\u0007" inside double quotes'),
    ("a: x\x00\n", 1, 5,
     'invalid YAML: control characters are not allowed (U+0000 here); remove it, or write it as "\\u0000" inside double quotes'),
])
def test_syntax_errors_say_where(text: str, line: int, col: int, message: str) -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml(text)
    assert (caught.value.line, caught.value.col, caught.value.message) == (line, col, message)


def test_an_empty_document_has_no_value() -> None:
    assert load_yaml("# only a comment\n").value is None


@pytest.mark.parametrize(("path", "text"), [
    ((), ""),
    (("id",), "id"),
    (("symptom", "signatures", 0, "message"), "symptom.signatures[0].message"),
])
def test_format_path(path: tuple, text: str) -> None:
    assert format_path(path) == text
