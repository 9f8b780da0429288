"""The `incidentkb` command: exit codes and exact output of check, new and schema; every command documented."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
from repo_samples import sample_repository

from incidentkb.cli import COMMANDS, main
from incidentkb.records.json_schema import SCHEMA_FILE, render_schema

REPO = Path(__file__).parent.parent
RECORD = "incidents/2025-01-15-sample-loss-nan.yaml"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the sample repository, as the current folder."""
    sample_repository(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    return tmp_path / "repo"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_all_good(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "check") == (0, "checked 1 record and 1 regression file: all good\n", "")


def test_check_prints_one_line_per_problem_then_the_summary(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (root / RECORD).read_text(encoding="utf-8")
    (root / RECORD).write_text(text.replace("severity: high", "sevrity: high").replace("python: \"3.11\"", "python: 3.10"),
                               encoding="utf-8")
    assert _run(capsys, "check") == (1, (
        f"{RECORD}:8:1: unknown key 'sevrity' in the record; did you mean 'severity'?\n"
        f"{RECORD}:12:11: 'environment.python' should be text, not a number (3.1); put it in quotes: python: \"3.10\"\n"
        "2 problems in 1 record\n"
    ), "")


def test_a_problem_stays_on_one_line_and_sends_no_terminal_escapes(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (root / RECORD).read_text(encoding="utf-8")
    (root / RECORD).write_text(text.replace("severity: high", 'severity: "\\e[31mhigh\\nsecond line"')
                               .replace("cause:", '"evil\\nkey": 1\ncause:'), encoding="utf-8")
    (root / "incidents" / "bad\nname.yaml").write_text("id: [\n", encoding="utf-8")
    code, out, _ = _run(capsys, "check")
    assert code == 1
    assert out.splitlines() == [
        "incidents/2025-01-15-sample-loss-nan.yaml:8:11: 'severity' is the text '\\x1b[31mhigh\\nsecond line'; "
        "write one of 'critical', 'high', 'moderate' or 'low'",
        "incidents/2025-01-15-sample-loss-nan.yaml:24:1: unknown key 'evil\\nkey' in the record; allowed keys are "
        "id, title, title_original, original_language, date, category, tags, severity, severity_original, status, "
        "project, environment, symptom, cause, cause_notes, failed_attempts, fix, lessons, facts, references, regression",
        "incidents/bad\\nname.yaml:2:1: invalid YAML: did not find expected node content (while parsing a flow node)",
        "3 problems in 2 records",
    ]


def test_check_paths_are_shown_relative_to_the_current_folder(root: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (root / "incidents" / "bad.yaml").write_text("id: [\n", encoding="utf-8")
    monkeypatch.chdir(root / "incidents")
    code, out, _ = _run(capsys, "check")
    assert code == 1
    assert out.splitlines()[0] == "bad.yaml:2:1: invalid YAML: did not find expected node content (while parsing a flow node)"


def test_check_with_root_from_anywhere(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _run(capsys, "check", "--root", str(root)) == (0, "checked 1 record and 1 regression file: all good\n", "")


@pytest.mark.parametrize(("argv", "message"), [
    (["check", "nope.yaml"], "incidentkb check: nope.yaml does not exist; give record files, regression files or folders holding them\n"),
    (["check", "--root", "nowhere"], "incidentkb check: --root nowhere is not a folder\n"),
    (["schema", "--write", "--check"], "incidentkb schema: give --write or --check, not both\n"),
])
def test_errors_are_one_line_and_exit_2(root: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert _run(capsys, *argv) == (2, "", message)


def test_new_writes_both_files_and_says_what_next(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "new", "Loss is NaN after the first step", "--date", "2025-05-02")
    assert (code, err) == (0, "")
    assert out == (
        "wrote incidents/2025-05-02-loss-is-nan-after-the-first-step.yaml\n"
        "wrote regressions/test_loss_is_nan_after_the_first_step.py\n"
        "next: replace every 'TODO: ...' in both (incidentkb check lists those left), then run "
        "pytest regressions/test_loss_is_nan_after_the_first_step.py\n"
    )
    assert (root / "incidents" / "2025-05-02-loss-is-nan-after-the-first-step.yaml").is_file()
    code, out, _ = _run(capsys, "check")
    assert code == 1 and out.endswith("16 problems in 1 record and 1 regression file\n")


def test_new_refuses_to_overwrite(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "new", "Loss is NaN", "--date", "2025-05-02")
    assert _run(capsys, "new", "Loss is NaN", "--date", "2025-05-02") == (2, "", (
        "incidentkb new: incidents/2025-05-02-loss-is-nan.yaml already exists and is left as it is; "
        "choose another title or pass --id\n"))


def test_new_with_an_explicit_id(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "new", "텐서 dtype 불일치", "--id", "2025-04-12-label-dtype", "--date", "2025-04-12")
    assert code == 0 and out.splitlines()[0] == "wrote incidents/2025-04-12-label-dtype.yaml"


def test_new_rejects_a_bad_date(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["new", "x", "--date", "12/04/2025"])
    assert caught.value.code == 2
    assert "'12/04/2025' is not a date; write it as YYYY-MM-DD" in capsys.readouterr().err


def test_schema_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "schema") == (0, render_schema(), "")


def test_schema_write_and_check(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    older = {**json.loads(render_schema()), "description": "the schema of an older model"}
    (root / SCHEMA_FILE).write_text(json.dumps(older), encoding="utf-8")
    assert _run(capsys, "schema", "--check") == (1, f"{SCHEMA_FILE} is out of date; run: incidentkb schema --write\n", "")
    assert _run(capsys, "schema", "--write") == (0, f"wrote {SCHEMA_FILE}\n", "")
    assert _run(capsys, "schema", "--write") == (0, f"{SCHEMA_FILE} is up to date\n", "")
    assert _run(capsys, "schema", "--check") == (0, f"{SCHEMA_FILE} is up to date\n", "")


@pytest.mark.parametrize(("make", "why"), [
    (lambda p: p.write_text("{}\n", encoding="utf-8"), "exists and was not written by `incidentkb schema --write`"),
    (lambda p: p.write_text("my notes\n", encoding="utf-8"), "exists and was not written by `incidentkb schema --write`"),
    (lambda p: p.write_bytes(b"\xff\xfe"), "exists and was not written by `incidentkb schema --write`"),
    (lambda p: p.symlink_to(p.parent.parent / "elsewhere.json"), "is not a plain file (a link or a folder)"),
    (lambda p: p.mkdir(), "is not a plain file (a link or a folder)"),
])
def test_schema_write_never_replaces_a_file_it_did_not_write(root: Path, capsys: pytest.CaptureFixture[str],
                                                               make: Callable[[Path], object], why: str) -> None:
    (root / SCHEMA_FILE).unlink()
    make(root / SCHEMA_FILE)
    before = sorted((str(p), p.is_file() and p.read_bytes()) for p in root.rglob("*"))
    assert _run(capsys, "schema", "--write") == (2, "", (
        f"incidentkb schema: {SCHEMA_FILE} {why}; it is left as it is: move it away and run again\n"))
    assert sorted((str(p), p.is_file() and p.read_bytes()) for p in root.rglob("*")) == before
    assert not (root / "elsewhere.json").exists()


def test_schema_write_says_when_the_schema_folder_is_a_file(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(root / "schema")
    (root / "schema").write_text("not a folder\n", encoding="utf-8")
    code, out, err = _run(capsys, "schema", "--write")
    assert (code, out) == (2, "")
    assert err.startswith(f"incidentkb schema: {SCHEMA_FILE} cannot be written (")
    assert (root / "schema").read_text(encoding="utf-8") == "not a folder\n"


def test_new_refuses_when_the_regression_stub_exists(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (root / "regressions" / "test_loss_is_nan.py").write_text("someone's work\n", encoding="utf-8")
    assert _run(capsys, "new", "Loss is NaN", "--date", "2025-05-02") == (2, "", (
        "incidentkb new: regressions/test_loss_is_nan.py already exists and is left as it is; "
        "choose another title or pass --id\n"))
    assert not (root / "incidents" / "2025-05-02-loss-is-nan.yaml").exists()
    assert (root / "regressions" / "test_loss_is_nan.py").read_text(encoding="utf-8") == "someone's work\n"


def test_workflow_write_never_replaces_a_workflow_it_did_not_write(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (root / "regressions" / "matrix.toml").write_text((REPO / "regressions" / "matrix.toml").read_text())
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "regressions.yml").write_text("name: someone's own\n")
    code, out, err = _run(capsys, "workflow", "--write")
    assert code == 2 and err == ("incidentkb workflow: .github/workflows/regressions.yml was not written by "
                                 "`incidentkb workflow` and is left as it is; move it away first\n")
    assert (root / ".github" / "workflows" / "regressions.yml").read_text() == "name: someone's own\n"
    (root / ".github" / "workflows" / "regressions.yml").unlink()
    assert _run(capsys, "workflow", "--write")[0] == 0 and _run(capsys, "workflow", "--check")[0] == 0


def test_results_merge_never_replaces_a_file(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = {"schema": 1, "cell": "torch=2.6.0 stack=4.51.3 gpus=0", "started": "2026-12-01T10:00:00+00:00",
            "finished": "2026-12-01T10:00:00+00:00", "cases": []}
    mine, theirs = root / "regressions" / "results", root.parent / "other-host"
    for folder, host in ((mine, "here"), (theirs, "there")):
        folder.mkdir(parents=True)
        (folder / "20261201T100000Z_torch-2.6.0_stack-4.51.3_gpus-0.json").write_text(json.dumps({**data, "host": host}))
    code, out, _ = _run(capsys, "results", "merge", str(theirs))
    assert code == 0 and out.endswith("1 added, 0 already there, 0 refused\n")
    assert json.loads((mine / "20261201T100000Z_torch-2.6.0_stack-4.51.3_gpus-0.json").read_text())["host"] == "here"
    assert json.loads((mine / "20261201T100000Z_torch-2.6.0_stack-4.51.3_gpus-0-2.json").read_text())["host"] == "there"


# Each command only reads (tests/test_hostile_records.py snapshots the repository around check and match), or
# writes and has a test that it replaces nothing it did not write. A new command must be put in one of the two.
READ_ONLY = {"check", "match"}
WRITERS = {"new": ["test_new_refuses_to_overwrite", "test_new_refuses_when_the_regression_stub_exists"],
           "schema": ["test_schema_write_never_replaces_a_file_it_did_not_write"],
           "workflow": ["test_workflow_write_never_replaces_a_workflow_it_did_not_write"],
           "results": ["test_results_merge_never_replaces_a_file"]}


def test_every_command_only_reads_or_is_tested_never_to_overwrite() -> None:
    assert set(COMMANDS) == READ_ONLY | set(WRITERS)
    assert all(callable(globals().get(test)) for tests in WRITERS.values() for test in tests)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_documented_with_an_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    handler, _ = COMMANDS[name]
    assert handler.__doc__ and "Example:" in handler.__doc__ and f"incidentkb {name}" in handler.__doc__
    with pytest.raises(SystemExit) as caught:
        main([name, "--help"])
    assert caught.value.code == 0
    assert "Example:" in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys)
    assert code == 2 and "check" in out and "new" in out and "schema" in out


def test_the_real_records_pass_check() -> None:
    """The repository's own records and regressions, checked the way CI does it."""
    result = subprocess.run([sys.executable, "-m", "incidentkb.cli", "check"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    *listed, last = result.stdout.splitlines()
    assert ": all good" in last and result.stderr == ""
    # Above the summary only cases whose record states hardware no GPU of the matrix is known to meet.
    notes = ("is verifiable on no cell of this matrix: needs", "is not yet run on a GPU that meets its conditions: needs")
    assert all(any(note in line for note in notes) for line in listed), listed
