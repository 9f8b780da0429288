"""`check_results_wordings`: every error a symptom case observed must match its own incident, and only it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from incidentkb.check.results_wordings import check_results_wordings, read_results_files
from incidentkb.records.reader import read_record, record_files

REPO = Path(__file__).resolve().parents[1]
DTYPE = "2025-04-12-stylegan-label-dtype-mismatch"
BATCH = "2025-04-21-llm-sft-batch-size-multi-gpu"
DTYPE_WORDS = "expected mat1 and mat2 to have the same dtype, but got: double != float"
TRL = ["transformers.trainer:training_step", "trl.trainer.sft_trainer:compute_loss"]
EIGHT_GPUS = "The size of tensor a (2) must match the size of tensor b (16) at non-singleton dimension 0"


def signatures_line(incident: str) -> int:
    lines = (REPO / "incidents" / f"{incident}.yaml").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if line.strip() == "signatures:")


def case(incident: str, role: str, error: dict[str, Any] | None, test: str = "test_symptom_x") -> dict[str, Any]:
    return {"nodeid": f"regressions/test_x.py::{test}[cell]", "incident": incident, "role": role,
            "outcome": "reproduces", "observation": {"error": error, "values": {}, "notes": []}}


def problems_for(tmp_path: Path, cases: list[dict[str, Any]]) -> list[str]:
    results = tmp_path / "regressions" / "results"
    results.mkdir(parents=True, exist_ok=True)
    cell = "torch=2.6.0 stack=4.51.3 gpus=8"
    # The shape and layout `results.write` gives a results file (its other keys left out).
    data = {"schema": 1, "cell": cell, "cases": cases}
    (results / "cell.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    records = [read_record(p) for p in record_files(REPO / "incidents")]
    found = check_results_wordings(records, read_results_files(results), root=REPO)
    return [f"{Path(p.path).name}:{p.line}: {p.message}" for p in found]


def test_a_known_wording_from_another_device_passes(tmp_path: Path) -> None:
    assert problems_for(tmp_path, [
        case(BATCH, "symptom", {"type": "RuntimeError", "message": EIGHT_GPUS, "frames": TRL}),
        case(DTYPE, "symptom", {"type": "builtins.RuntimeError",
                                "message": "expected m1 and m2 to have the same dtype, but got: double != float",
                                "frames": ["test_x:test_symptom_x"]}),
    ]) == []


def test_a_new_wording_is_news_not_a_signature_to_widen(tmp_path: Path) -> None:
    # A different error is judged "changed" (incidentkb.verdict.judge); check no longer asks to widen signatures.
    new = "Per-device batch size 2 does not divide the global batch of 16 (a wording no signature knows)"
    assert problems_for(tmp_path, [
        case(BATCH, "symptom", {"type": "ValueError", "message": new, "frames": TRL},
             test="test_symptom_two_visible_gpus_double_the_batch"),
    ]) == []


def test_a_wording_that_matches_another_incident_names_that_signature(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, [
        case(DTYPE, "symptom", {"type": "RuntimeError", "message": EIGHT_GPUS, "frames": TRL}),
    ])
    assert [p.split(" matches ", 1)[1].split(";")[0] for p in problems] == [
        f"{BATCH} (signature 1 /The size of tensor a \\(\\d+\\) must match the size of tensor b \\(\\d+\\) at "
        f"non-singleton dimension 0/, incidents/{BATCH}.yaml:{signatures_line(BATCH)})",
    ]


@pytest.mark.parametrize(
    "ignored",
    [
        case(BATCH, "fix", {"type": "ValueError", "message": "anything", "frames": []}),
        case(BATCH, "attempt:use-liger", {"type": "torch.OutOfMemoryError", "message": "CUDA out of memory.", "frames": []}),
        case(BATCH, "symptom", None),
        case("2025-01-01-no-such-record", "symptom", {"type": "ValueError", "message": "x", "frames": []}),
    ],
)
def test_only_symptom_errors_of_known_records_are_checked(tmp_path: Path, ignored: dict[str, Any]) -> None:
    assert problems_for(tmp_path, [ignored]) == []


@pytest.mark.parametrize("content", [
    b"\xff\xfe{}",  # not UTF-8
    b"[" * 100_000 + b"]" * 100_000,  # nested past the JSON parser's recursion
    b'{"cases": 3}',
    b'{"cases": {"a": 1}}',
    b'{"cases": [1, "x", null]}',
    b'{"cases": [{"role": "symptom", "observation": []}]}',
    b'{"cases": [{"role": "symptom", "observation": {"error": "RuntimeError: x"}}]}',
    b'{"cases": [{"role": "symptom", "observation": {"error": {"message": "x", "frames": 3}}}]}',
])
def test_a_results_file_of_another_shape_is_left_out_not_a_crash(tmp_path: Path, content: bytes) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "odd.json").write_bytes(content)
    records = [read_record(p) for p in record_files(REPO / "incidents")]
    assert check_results_wordings(records, read_results_files(results), root=REPO) == []


def test_the_problem_sits_on_the_line_of_the_message(tmp_path: Path) -> None:
    filler = case(BATCH, "fix", None)
    problems = problems_for(tmp_path, [filler, filler, case(DTYPE, "symptom", {"type": "RuntimeError", "message": EIGHT_GPUS, "frames": TRL})])
    text = (tmp_path / "regressions" / "results" / "cell.json").read_text().splitlines()
    line = int(problems[0].split(":")[1])
    assert f'"message": "{EIGHT_GPUS}"' in text[line - 1]


def test_the_line_is_that_of_the_case_even_for_a_repeated_or_non_ascii_message(tmp_path: Path) -> None:
    words = f"Größe: {EIGHT_GPUS}"
    error = {"type": "RuntimeError", "message": words, "frames": TRL}
    problems = problems_for(tmp_path, [case(DTYPE, "symptom", error, test="test_a"),
                                       case(DTYPE, "symptom", error, test="test_b")])
    text = (tmp_path / "regressions" / "results" / "cell.json").read_text(encoding="utf-8").splitlines()
    lines = [int(p.split(":")[1]) for p in problems]
    assert [p.split(" by ")[1].split(" ")[0] for p in problems] == ["test_a", "test_b"]
    assert lines[0] < lines[1] and all(f'"message": "{words}"' in text[n - 1] for n in lines)


def test_a_committed_results_file_is_read_as_written(tmp_path: Path) -> None:
    # A results file as a matrix run wrote it, with the wording of one observed error changed.
    committed = sorted((REPO / "regressions" / "results").glob("*gpus-2.json"))[-1]
    data = json.loads(committed.read_text(encoding="utf-8"))
    symptom = next(c for c in data["cases"] if c["role"] == "symptom" and (c["observation"] or {}).get("error"))
    records = [read_record(p) for p in record_files(REPO / "incidents")]
    results = tmp_path / "results"
    results.mkdir()
    shutil.copy(committed, results / committed.name)
    assert check_results_wordings(records, read_results_files(results), root=REPO) == []
    other = DTYPE if symptom["incident"] == BATCH else BATCH
    symptom["observation"]["error"].update(
        {"type": "RuntimeError", "message": EIGHT_GPUS if other == BATCH else DTYPE_WORDS, "frames": TRL})
    (results / committed.name).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    found = check_results_wordings(records, read_results_files(results), root=REPO)
    assert [p.message.split(" (", 1)[0] for p in found] == [
        f"the error observed by {symptom['nodeid'].rsplit('::', 1)[-1].split('[')[0]} in cell {data['cell']}"]


def test_incidentkb_check_reports_a_wording_of_another_incident(tmp_path: Path) -> None:
    from incidentkb.check.checker import check

    for part in ("incidents", "regressions", "schema"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=shutil.ignore_patterns("results", "__pycache__"))
    problems_for(tmp_path, [case(BATCH, "symptom", {"type": "RuntimeError", "message": DTYPE_WORDS, "frames": []})])
    report = check(tmp_path)
    assert [p.message.split(" (signature")[0] for p in report.problems] == [
        f"the error observed by test_symptom_x in cell torch=2.6.0 stack=4.51.3 gpus=8 ({DTYPE_WORDS!r}) also "
        f"matches {DTYPE}",
    ]
    assert report.summary() == "1 problem in 1 results file"
