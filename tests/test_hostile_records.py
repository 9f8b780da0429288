"""Hostile records: `incidentkb check` and `match` answer each with one-line problems (or accept it), never crash,
never hang, and never change a file; a valid record whose text is HTML or script is shown as text on the site.

The corpus is tests/hostile/*.yaml (small files, each saying on its second line what it attempts) and the
generated cases below, too big or too binary to commit (a 10 MB traceback, an alias bomb, binary junk, text in
other encodings, nesting a thousand levels deep, twenty thousand problems in one record...). Each case is put
beside the sample record in a fresh repository and checked there by the real command, in its own process with a
time limit: every file of the repository must be byte for byte and time for time what it was, no file may
appear, and every problem must be about the hostile file.
"""

from __future__ import annotations

import hashlib
import html
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable

import pytest
from repo_samples import regression_for, sample_repository
from site_samples import make_project, mkdocs_build

from incidentkb.records.yamlload import load_yaml

TESTS = Path(__file__).parent
REPO = TESTS.parent
HOSTILE = TESTS / "hostile"
SAMPLE = TESTS / "sample"
SAMPLE_RECORD = SAMPLE / "incidents" / "2025-01-15-sample-loss-nan.yaml"
#: No case may take longer than this; each takes well under 5 s on a 2-core machine.
LIMIT_S = 60
_PROBLEM = re.compile(r"^[^:]+:\d+:\d+: \S.*$")
TRACEBACK = "RuntimeError: Function 'LogSoftmaxBackward0' returned nan values in its 0th output.\n"


def _base(stem: str) -> str:
    """The sample record as a hostile case starts from it: its own id and regression file."""
    text = SAMPLE_RECORD.read_text(encoding="utf-8")
    return (text.replace("id: 2025-01-15-sample-loss-nan", f"id: {stem}")
            .replace("path: regressions/sample_loss_nan.py", "path: regressions/test_hostile.py"))


def _nested(opening: str, closing: str, depth: int) -> bytes:
    return f"id: x\nx: {opening * depth}1{closing * depth}\n".encode()


def _bomb() -> bytes:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 10)]
    return ("\n".join(lines) + "\n").encode()


def _traceback_10mb() -> bytes:
    frame = '      File "/opt/venv/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1736, in _call_impl\n' \
            "        return forward_call(*args, **kwargs)\n"
    body = "    Traceback (most recent call last):\n" + frame * (10_000_000 // len(frame))
    body += "    RuntimeError: Function 'LogSoftmaxBackward0' returned nan values in its 0th output.\n"
    text = _base("huge-traceback")
    start = text.index("  error_text: |\n") + len("  error_text: |\n")
    end = text.index("  signatures:")
    return (text[:start] + body + text[end:]).encode()


def _replace(stem: str, old: str, new: str) -> bytes:
    text = _base(stem)
    assert old in text
    return text.replace(old, new, 1).encode()


#: Generated cases: file name in incidents/ -> its bytes.
GENERATED: dict[str, Callable[[], bytes]] = {
    "huge-traceback.yaml": _traceback_10mb,
    "huge-title.yaml": lambda: _replace("huge-title", "title: Loss becomes NaN in the first step with fp16",
                                        "title: " + "A very long title " * 560_000),
    "huge-line.yaml": lambda: _replace("huge-line", "cause: The logits overflow float16.", "cause: " + "word " * 2_000_000),
    "huge-number.yaml": lambda: _replace("huge-number", "count: 1", "count: " + "9" * 5000),
    "huge-list.yaml": lambda: _replace("huge-list", "tags: [fp16, nan]", "tags: [" + ", ".join(["fp16"] * 250_000) + "]"),
    "huge-key.yaml": lambda: _replace("huge-key", "cause:", "k" * 100_000 + ": 1\ncause:"),
    "many-unknown-keys.yaml": lambda: _replace("many-unknown-keys", "cause:",
                                               "".join(f"key{n}: 1\n" for n in range(20_000)) + "cause:"),
    "many-placeholders.yaml": lambda: _replace("many-placeholders", "tags: [fp16, nan]",
                                               "tags: [" + ", ".join(["TODO x"] * 20_000) + "]"),
    "alias-bomb.yaml": _bomb,
    "nested-flow-lists.yaml": lambda: _nested("[", "]", 900),
    "nested-flow-mappings.yaml": lambda: _nested("{a: ", "}", 900),
    "nested-block-lists.yaml": lambda: b"x:\n" + b"".join(b"  " * n + b"-\n" for n in range(900)),
    "binary-junk.yaml": lambda: random.Random(7).randbytes(65_536),
    "nul-bytes.yaml": lambda: _base("nul-bytes").encode().replace(b"cause: The", b"cause: \x00\x00The"),
    "latin-1.yaml": lambda: _base("latin-1").replace("The logits", "Les logits \u00e9t\u00e9").encode("latin-1"),
    "utf-16.yaml": lambda: _base("utf-16").encode("utf-16"),
}

# What check prints about each hostile file (`_shown`: at most three problems, cut to 300 characters, then how many
# there were); [] for a record that is valid.
EXPECTED: dict[str, list[str]] = {
    "alias-bomb-mapping.yaml": [
        "incidents/alias-bomb-mapping.yaml:3:43: the document expands to more than 200000 values through aliases; remove the aliases",
    ],
    "alias-bomb-small.yaml": [
        "incidents/alias-bomb-small.yaml:3:50: the document expands to more than 200000 values through aliases; remove the aliases",
    ],
    "alias-bomb.yaml": [
        "incidents/alias-bomb.yaml:1:50: the document expands to more than 200000 values through aliases; remove the aliases",
    ],
    "alias-self-list.yaml": [
        "incidents/alias-self-list.yaml:7:7: 'tags[1]' refers to itself through an alias; write the value out",
    ],
    "alias-self-mapping.yaml": [
        "incidents/alias-self-mapping.yaml:12:3: unknown key 'again' in 'environment'; allowed keys are os, python, gpu, gpu_unknown, cuda, libraries, notes",
        "incidents/alias-self-mapping.yaml:12:10: 'environment.again.inner' refers to itself through an alias; write the value out",
    ],
    "alias-undefined.yaml": ["incidents/alias-undefined.yaml:7:7: invalid YAML: found undefined alias"],
    "binary-junk.yaml": [
        "incidents/binary-junk.yaml:1:1: the file is not UTF-8 text (invalid start byte at byte 1); save it as UTF-8",
    ],
    "duplicate-key-flow.yaml": [
        "incidents/duplicate-key-flow.yaml:13:39: duplicate key 'model' in 'environment.gpu': it is already set at line 13; keep one of them",
    ],
    "duplicate-key-top.yaml": [
        "incidents/duplicate-key-top.yaml:5:1: duplicate key 'title' in the record: it is already set at line 4; keep one of them",
    ],
    "empty-document.yaml": [
        "incidents/empty-document.yaml:1:1: the record is empty; start from `incidentkb new \"<title>\"`",
    ],
    "huge-key.yaml": [
        "incidents/huge-key.yaml:24:100001: invalid YAML: could not find expected ':' (while scanning a simple key)",
    ],
    "huge-line.yaml": [],
    "huge-list.yaml": [
        "incidents/huge-list.yaml:7:1199972: the record holds more than 200000 values; a record describes one incident, keep it short",
    ],
    "huge-number.yaml": [
        "incidents/huge-number.yaml:13:46: 'environment.gpu.count' is a number of 5000 characters, too long to read; write a shorter number, or put it in quotes if it is text",
    ],
    "huge-title.yaml": [],
    "huge-traceback.yaml": [],
    "id-path-traversal.yaml": [
        "incidents/id-path-traversal.yaml:3:5: 'id' is the text '../../etc/passwd', which is not lowercase words and digits joined by '-', e.g. 2025-04-12-short-name",
    ],
    "key-complex.yaml": [
        "incidents/key-complex.yaml:24:3: a key in the record is a list or mapping; keys must be plain words",
    ],
    "key-control-characters.yaml": [
        "incidents/key-control-characters.yaml:24:1: unknown key 'evil\\nkey\\x1b[31m' in the record; allowed keys are id, title, title_original, original_language, date, category, tags, severity, severity_original, status, project, environment, symptom, cause, cause_notes, failed_attempts, fix, lessons, facts",
    ],
    "key-null.yaml": [
        "incidents/key-null.yaml:24:1: unknown key '~' in the record; allowed keys are id, title, title_original, original_language, date, category, tags, severity, severity_original, status, project, environment, symptom, cause, cause_notes, failed_attempts, fix, lessons, facts, references, regression",
    ],
    "key-number.yaml": [
        "incidents/key-number.yaml:24:1: unknown key '3.10' in the record; allowed keys are id, title, title_original, original_language, date, category, tags, severity, severity_original, status, project, environment, symptom, cause, cause_notes, failed_attempts, fix, lessons, facts, references, regression",
    ],
    "latin-1.yaml": [
        "incidents/latin-1.yaml:1:1: the file is not UTF-8 text (invalid continuation byte at byte 792); save it as UTF-8",
    ],
    "list-document.yaml": [
        "incidents/list-document.yaml:3:1: the record must be a mapping of keys (id: ..., title: ...), not a list",
    ],
    "many-placeholders.yaml": [
        "incidents/many-placeholders.yaml:7:8: placeholder left in 'tags[0]': replace 'TODO x' with the real value",
        "incidents/many-placeholders.yaml:7:16: placeholder left in 'tags[1]': replace 'TODO x' with the real value",
        "incidents/many-placeholders.yaml:7:24: placeholder left in 'tags[2]': replace 'TODO x' with the real value",
        "... 20000 problems",
    ],
    "many-unknown-keys.yaml": [
        "incidents/many-unknown-keys.yaml:24:1: unknown key 'key0' in the record; allowed keys are id, title, title_original, original_language, date, category, tags, severity, severity_original, status, project, environment, symptom, cause, cause_notes, failed_attempts, fix, lessons, facts, references, regr",
        "incidents/many-unknown-keys.yaml:25:1: unknown key 'key1' in the record; allowed keys are id, title, title_original, original_language, date, category, tags, severity, severity_original, status, project, environment, symptom, cause, cause_notes, failed_attempts, fix, lessons, facts, references, regr",
        "incidents/many-unknown-keys.yaml:26:1: unknown key 'key2' in the record; allowed keys are id, title, title_original, original_language, date, category, tags, severity, severity_original, status, project, environment, symptom, cause, cause_notes, failed_attempts, fix, lessons, facts, references, regr",
        "... 20000 problems",
    ],
    "merge-key.yaml": [
        "incidents/merge-key.yaml:30:1: unknown key 'base' in the record; did you mean 'cause'?",
        "incidents/merge-key.yaml:32:3: merge keys ('<<') are not supported in 'fix'; write the keys out",
    ],
    "multi-document.yaml": [
        "incidents/multi-document.yaml:45:1: invalid YAML: expected a single document in the stream, but found another document",
    ],
    "nested-block-lists.yaml": [
        "incidents/nested-block-lists.yaml:51:99: values are nested more than 50 levels deep; a record needs a few levels",
    ],
    "nested-flow-lists.yaml": [
        "incidents/nested-flow-lists.yaml:2:53: values are nested more than 50 levels deep; a record needs a few levels",
    ],
    "nested-flow-mappings.yaml": [
        "incidents/nested-flow-mappings.yaml:2:200: values are nested more than 50 levels deep; a record needs a few levels",
    ],
    "nul-bytes.yaml": [
        "incidents/nul-bytes.yaml:24:8: invalid YAML: control characters are not allowed (U+0000 here); remove it, or write it as \"\\u0000\" inside double quotes",
    ],
    "number-float-count.yaml": [
        "incidents/number-float-count.yaml:13:46: 'environment.gpu.count' should be a whole number, not a number (1.5)",
    ],
    "number-infinite.yaml": [
        "incidents/number-infinite.yaml:13:60: 'environment.gpu.memory_gb' is inf; it must be a number, not infinity or NaN",
    ],
    "number-nan.yaml": [
        "incidents/number-nan.yaml:13:60: 'environment.gpu.memory_gb' is nan; it must be a number, not infinity or NaN",
    ],
    "number-negative.yaml": [
        "incidents/number-negative.yaml:13:46: 'environment.gpu.count' is -1; it must be at least 0",
    ],
    "regex-does-not-compile.yaml": [
        "incidents/regex-does-not-compile.yaml:22:16: the signature pattern in 'symptom.signatures[0].message' does not compile (missing ), unterminated subpattern at position 9); escape characters such as ( ) [ ] . * + ? with a backslash",
    ],
    "regex-catastrophic.yaml": [
        "incidents/regex-catastrophic.yaml:22:16: the signature pattern in 'symptom.signatures[0].message' repeats a repeat (like `(a+)+`), which takes hours on a long run of one character; drop a quantifier or make the inner one possessive (`a++`)",
    ],
    "regex-lookbehind-variable.yaml": [
        "incidents/regex-lookbehind-variable.yaml:22:16: the signature pattern in 'symptom.signatures[0].message' does not compile (look-behind requires fixed-width pattern); escape characters such as ( ) [ ] . * + ? with a backslash",
    ],
    "regression-path-absolute.yaml": [
        "incidents/regression-path-absolute.yaml:38:9: 'regression.path' is the text '/etc/passwd', which is not a Python file under regressions/, e.g. regressions/test_short_name.py",
    ],
    "regression-path-traversal.yaml": [
        "incidents/regression-path-traversal.yaml:38:9: regression file 'regressions/../../../../etc/hostile.py' is outside regressions/; write its path under regressions/, without '..'",
    ],
    "scalar-document.yaml": [
        "incidents/scalar-document.yaml:3:1: the record must be a mapping of keys (id: ..., title: ...), not the text 'just a sentence, not a record'",
    ],
    "syntax-control-character.yaml": [
        "incidents/syntax-control-character.yaml:24:19: invalid YAML: control characters are not allowed (U+0007 here); remove it, or write it as \"\\u0007\" inside double quotes",
    ],
    "syntax-invalid-escape.yaml": [
        "incidents/syntax-invalid-escape.yaml:24:11: invalid YAML: found invalid Unicode character escape code (while parsing a quoted scalar)",
    ],
    "syntax-unclosed-quote.yaml": [
        "incidents/syntax-unclosed-quote.yaml:41:55: invalid YAML: did not find expected key (while parsing a block mapping)",
    ],
    "tag-binary.yaml": [
        "incidents/tag-binary.yaml:24:8: unsupported YAML tag '!!binary' in 'cause'; records hold only text, numbers, true/false, dates, lists and mappings",
    ],
    "tag-custom-local.yaml": [
        "incidents/tag-custom-local.yaml:24:8: unsupported YAML tag '!shell' in 'cause'; records hold only text, numbers, true/false, dates, lists and mappings",
    ],
    "tag-directive.yaml": [
        "incidents/tag-directive.yaml:26:8: unsupported YAML tag '!!python/object/apply:os.system' in 'cause'; records hold only text, numbers, true/false, dates, lists and mappings",
    ],
    "tag-omap.yaml": [
        "incidents/tag-omap.yaml:10:14: unsupported YAML tag '!!omap' in 'environment'; records hold only text, numbers, true/false, dates, lists and mappings",
    ],
    "tag-on-key.yaml": [
        "incidents/tag-on-key.yaml:3:1: missing field 'cause' in the record; add `cause:` (why it happened)",
        "incidents/tag-on-key.yaml:24:1: unsupported YAML tag '!!python/name:os.system' on the key 'cause' in the record; keys are plain words",
    ],
    "tag-python-bytes.yaml": [
        "incidents/tag-python-bytes.yaml:24:8: unsupported YAML tag '!!python/bytes' in 'cause'; records hold only text, numbers, true/false, dates, lists and mappings",
    ],
    "tag-python-module.yaml": [
        "incidents/tag-python-module.yaml:24:8: unsupported YAML tag '!!python/module:os' in 'cause'; records hold only text, numbers, true/false, dates, lists and mappings",
    ],
    "tag-python-name.yaml": [
        "incidents/tag-python-name.yaml:24:8: unsupported YAML tag '!!python/name:os.system' in 'cause'; records hold only text, numbers, true/false, dates, lists and mappings",
    ],
    "tag-python-object-apply.yaml": [
        "incidents/tag-python-object-apply.yaml:24:8: unsupported YAML tag '!!python/object/apply:os.system' in 'cause'; records hold only text, numbers, true/false, dates, lists and mappings",
    ],
    "tag-python-object-new.yaml": [
        "incidents/tag-python-object-new.yaml:24:8: unsupported YAML tag '!!python/object/new:subprocess.Popen' in 'cause'; records hold only text, numbers, true/false, dates, lists and mappings",
    ],
    "tag-python-object.yaml": [
        "incidents/tag-python-object.yaml:30:6: unsupported YAML tag '!!python/object:argparse.Namespace' in 'fix'; records hold only text, numbers, true/false, dates, lists and mappings",
    ],
    "tag-python-tuple.yaml": [
        "incidents/tag-python-tuple.yaml:7:7: unsupported YAML tag '!!python/tuple' in 'tags'; records hold only text, numbers, true/false, dates, lists and mappings",
    ],
    "tag-set.yaml": [
        "incidents/tag-set.yaml:7:7: unsupported YAML tag '!!set' in 'tags'; records hold only text, numbers, true/false, dates, lists and mappings",
    ],
    "tag-verbatim.yaml": [
        "incidents/tag-verbatim.yaml:24:8: unsupported YAML tag '!!python/object/apply:os.system' in 'cause'; records hold only text, numbers, true/false, dates, lists and mappings",
    ],
    "type-cases-mapping.yaml": [
        "incidents/type-cases-mapping.yaml:39:10: 'regression.cases' should be a list, not a mapping",
        "incidents/type-cases-mapping.yaml:40:3: unknown key 'old_cases' in 'regression'; did you mean 'cases'?",
    ],
    "type-cause-bool.yaml": [
        "incidents/type-cause-bool.yaml:24:8: 'cause' should be text, not true (a yes/no value); put it in quotes: cause: \"yes\"",
    ],
    "type-date-number.yaml": [
        "incidents/type-date-number.yaml:5:7: bad date in 'date': '20250115' (Datetimes provided to dates should have zero time - e.g. be exact dates); write it as YYYY-MM-DD, e.g. 2025-04-12",
    ],
    "type-date-time.yaml": [
        "incidents/type-date-time.yaml:5:7: bad date in 'date': '2025-01-15T10:00:00+25:00' (timezone offset must be less than 24 hours); write it as YYYY-MM-DD, e.g. 2025-04-12",
    ],
    "type-environment-list.yaml": [
        "incidents/type-environment-list.yaml:11:1: 'environment' should be a mapping of keys, not a list",
        "incidents/type-environment-list.yaml:12:1: unknown key 'x' in the record; allowed keys are id, title, title_original, original_language, date, category, tags, severity, severity_original, status, project, environment, symptom, cause, cause_notes, failed_attempts, fix, lessons, facts, references, reg",
    ],
    "type-signatures-text.yaml": [
        "incidents/type-signatures-text.yaml:20:15: 'symptom.signatures' should be a list, not the text 'RuntimeError'; write it as a list: signatures: [RuntimeError]",
    ],
    "type-tags-mapping.yaml": ["incidents/type-tags-mapping.yaml:7:7: 'tags' should be a list, not a mapping"],
    "type-title-list.yaml": ["incidents/type-title-list.yaml:4:8: 'title' should be text, not a list"],
    "type-title-mapping.yaml": ["incidents/type-title-mapping.yaml:4:8: 'title' should be text, not a mapping"],
    "url-javascript.yaml": [
        "incidents/url-javascript.yaml:38:25: 'references[0].url' is the text 'javascript:alert(1)', which is not a web address starting with http:// or https://",
    ],
    "utf-16.yaml": [
        "incidents/utf-16.yaml:1:1: the file is not UTF-8 text (invalid start byte at byte 0); save it as UTF-8",
    ],
    "valid-aliases-reused.yaml": [],
    "valid-byte-order-mark.yaml": [],
    "valid-crlf-line-endings.yaml": [],
    "valid-html-everywhere.yaml": [],
    "valid-invisible-characters.yaml": [],
    "valid-markup-syntax.yaml": [],
}


def _repository(root: Path) -> Path:
    return sample_repository(root)


def _snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under `root`: its content hash and modification time."""
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()
    }


def _run(root: Path, *argv: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "incidentkb.cli", *argv], cwd=root, capture_output=True, text=True,
                          timeout=LIMIT_S, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    return done, time.perf_counter() - started


def _check(root: Path, name: str) -> list[str]:
    """Run check and match on `root`; assert what holds for every case; return check's lines (all about `name`)."""
    before = _snapshot(root)
    done, elapsed = _run(root, "check")
    assert elapsed < LIMIT_S
    assert (done.stderr, "Traceback" in done.stdout) == ("", False)
    *problems, summary = done.stdout.splitlines()
    assert re.fullmatch(r"(\d+ problems? in .*|checked \d+ records? and \d+ regression files?: all good)", summary)
    for line in problems:
        assert _PROBLEM.match(line), f"not one path:line:col: message line: {line[:200]!r}"
        assert line.startswith((f"incidents/{name}:", "regressions/test_hostile.py:")), line[:200]
    assert done.returncode == (1 if problems else 0)

    traceback = root.parent / "traceback.txt"
    traceback.write_text(TRACEBACK, encoding="utf-8")
    found, elapsed = _run(root, "match", str(traceback))
    assert elapsed < LIMIT_S
    assert (found.returncode, found.stderr, "Traceback (most recent" in found.stdout) == (0, "", False)
    assert "[2025-01-15-sample-loss-nan]" in found.stdout  # the sample is still found beside the hostile record
    traceback.unlink()
    assert _snapshot(root) == before
    return problems


def _shown(problems: list[str]) -> list[str]:
    """The first three problems (cut to 300 characters), then how many there were when there were more."""
    return [p[:300] for p in problems[:3]] + ([f"... {len(problems)} problems"] if len(problems) > 3 else [])


COMMITTED = sorted(p.name for p in HOSTILE.glob("*.yaml"))


def test_the_corpus_has_at_least_fifty_hostile_records() -> None:
    assert len(COMMITTED) + len(GENERATED) >= 50
    assert all(p.stat().st_size < 20_000 for p in HOSTILE.glob("*.yaml")), "keep committed cases small"


@pytest.mark.parametrize("name", COMMITTED)
def test_a_committed_hostile_record(tmp_path: Path, name: str) -> None:
    root = _repository(tmp_path / "repo")
    shutil.copy(HOSTILE / name, root / "incidents" / name)
    regression_for(root / "incidents" / name, root)
    assert _shown(_check(root, name)) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_a_generated_hostile_record(tmp_path: Path, name: str) -> None:
    root = _repository(tmp_path / "repo")
    (root / "incidents" / name).write_bytes(GENERATED[name]())
    regression_for(root / "incidents" / name, root)
    assert _shown(_check(root, name)) == EXPECTED[name]


def _make_fifo(path: Path) -> None:
    os.mkfifo(path)


# Files in incidents/ that are not record files, or whose name is hostile: (how to make it, what check prints).
ODD_FILES: dict[str, tuple[Callable[[Path], object], list[str]]] = {
    "a name\nwith a newline.yaml": (lambda p: p.write_text("id: [\n", encoding="utf-8"), [
        "incidents/a name\\nwith a newline.yaml:2:1: invalid YAML: did not find expected node content "
        "(while parsing a flow node)"]),
    "a folder.yaml": (lambda p: p.mkdir(), []),
    "a pipe.yaml": (_make_fifo, []),  # reading it would wait for a writer forever
    "a symlink loop.yaml": (lambda p: p.symlink_to(p.name), []),
    "a dangling symlink.yaml": (lambda p: p.symlink_to("nowhere.yaml"), []),
}


@pytest.mark.skipif(os.name == "nt", reason="needs POSIX file names, pipes and symlinks")
@pytest.mark.parametrize("name", sorted(ODD_FILES))
def test_an_odd_file_in_incidents(tmp_path: Path, name: str) -> None:
    root = _repository(tmp_path / "repo")
    make, expected = ODD_FILES[name]
    make(root / "incidents" / name)
    shown = name.replace("\n", "\\n")
    assert _check(root, shown) == expected


VALID = [name for name in COMMITTED if name.startswith("valid-")]
class _LiveMarkup(HTMLParser):
    """What of a record's text a browser would run: an element it made, an event handler, a `javascript:` address.

    The hostile records mark every text with `hostile-`; the site's own markup never contains that word.
    """

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or (value.strip().lower().startswith("javascript:") and value != "javascript:void(0)"):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag in ("iframe", "img") and dict(attrs).get("src") in ("x", "javascript:alert(1)"):
            self.found.append(f"<{tag} src=...>")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and "hostile-" in data:
            self.found.append(f"<script>{data[:80]}")


def _live(markup: str) -> list[str]:
    parser = _LiveMarkup()
    parser.feed(markup)
    parser.close()
    return parser.found


@pytest.mark.skipif(not (REPO / "mkdocs.yml").is_file() or importlib.util.find_spec("incidentkb.site.plugin") is None,
                    reason="the site (mkdocs.yml and incidentkb.site) is not in this checkout")
def test_valid_hostile_records_are_shown_as_text_on_the_site(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    make_project(project, incidents=[], result_files={})
    for name in VALID:
        shutil.copy(HOSTILE / name, project / "incidents" / name)
    done = mkdocs_build(project, strict=False)
    assert done.returncode == 0, done.stderr[-3000:]
    site = project / "site"
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    shown = {str(p): p.read_text(encoding="utf-8") for p in site.rglob("*.html")}
    shown.update({f"search: {d['location']}": f"{d['title']} {d['text']}" for d in index["docs"]})
    assert {where: _live(text) for where, text in shown.items() if _live(text)} == {}
    # The text is shown exactly as written: not run as a template, not read as Markdown, not taken for the
    # plugin's own placeholders.
    for page, field, written in [
        ("valid-markup-syntax", "syntax", _field(HOSTILE / "valid-markup-syntax.yaml", "cause")),
        ("valid-html-everywhere", "cause", _field(HOSTILE / "valid-html-everywhere.yaml", "cause")),
        ("valid-html-everywhere", "fix_summary", _field(HOSTILE / "valid-html-everywhere.yaml", "fix", "summary")),
    ]:
        text = (site / "incidents" / f"{page}.html").read_text(encoding="utf-8")
        paragraph = re.search(rf"<p>([^<]*hostile-{field})</p>", text)
        assert paragraph is not None and html.unescape(paragraph.group(1)) == written


def _field(record: Path, *path: str) -> str:
    value = load_yaml(record.read_text(encoding="utf-8")).value
    for part in path:
        value = value[part]
    return str(value)

