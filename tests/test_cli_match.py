"""`incidentkb match`: a traceback in, the matching incidents out (exit 0), or a plain "no match" (exit 1)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from incidentkb.cli import main

REPO = Path(__file__).resolve().parents[1]
TRACEBACKS = REPO / "tests" / "tracebacks"
BATCH = "2025-04-21-llm-sft-batch-size-multi-gpu"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["match", "--root", str(REPO), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_traceback_file(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code, out, err = run(capsys, str(TRACEBACKS / "batch-size-seed-torch2.6-2gpu-windows.txt"))
    lines = out.splitlines()
    assert (code, err, len(lines)) == (0, "", 6)
    assert lines[0] == f"1. LLM fine-tuning: batch-size error with two visible GPUs (trl SFTTrainer) [{BATCH}]"
    assert lines[1] == "   matched: the symptom's error signature"
    assert lines[2].startswith("   why: exception RuntimeError; message matches signature 1 /The size of tensor a")
    assert lines[2].endswith("; frames trl.trainer.sft_trainer:compute_loss")
    assert lines[3] == '   fix: Add `os.environ["CUDA_VISIBLE_DEVICES"] = "0"` at the top of `test_unsloth_common.py`, before SFTConfig is built.'
    assert lines[4:] == [f"   record: incidents/{BATCH}.yaml", f"   page: incidents/{BATCH}.html (on the site)"]


def test_standard_input(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("RuntimeError: expected scalar type Double but found Float\n"))
    code, out, _ = run(capsys)
    assert code == 0 and out.startswith("1. StyleGAN fine-tuning: tensor dtype mismatch")


def test_no_match_says_so_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, str(TRACEBACKS / "unrelated-embedding-index.txt")) == (
        1, "", "no known incident matches this error\n")


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        ((), "  \n", "incidentkb match: nothing to match: standard input is empty; give the error's traceback or the "
                      "symptom in words\n"),
        (("no-such-file.txt",), "", "incidentkb match: cannot read no-such-file.txt: No such file or directory\n"),
    ],
)
def test_nothing_to_read_exits_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                 argv: tuple[str, ...], stdin: str, message: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert run(capsys, *argv) == (2, "", message)


def test_a_symptom_in_words_ranks_by_words_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--text", "memory grows while generating test images")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].endswith("[2025-04-15-stylegan-test-image-memory-leak]")
    assert lines[1] == "   matched: words only, no error signature"
    assert lines[2].startswith("   why: shares the words memory (title, tags, symptom)")


def test_plain_text_on_standard_input_is_ranked_by_words(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("batch size does not match with two GPUs\n"))
    code, out, _ = run(capsys)
    assert code == 0 and out.startswith("1. LLM fine-tuning: batch-size error")
    assert "   matched: words only, no error signature" in out.splitlines()


def test_text_that_fits_no_incident_matches_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--text", "the weather is nice today") == (1, "", "no known incident matches this text\n")


def test_the_korean_title_is_searched_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--text", "이미지 생성 테스트 중 메모리")
    assert code == 0 and out.splitlines()[0].endswith("[2025-04-15-stylegan-test-image-memory-leak]")


def test_a_related_error_is_matched_as_such(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    traceback = ('RuntimeError: Error(s) in loading state_dict for Generator:\n'
                 '\tMissing key(s) in state_dict: "mapping.label_weight". \n')
    monkeypatch.setattr("sys.stdin", io.StringIO(traceback))
    code, out, _ = run(capsys)
    lines = out.splitlines()
    assert code == 0 and lines[0].endswith("[2025-05-09-stylegan-label-weight-random-after-non-strict-load]")
    assert lines[1].startswith("   matched: a related error's signature, not the symptom's own (What a strict")
    assert "message matches related error signature 1" in lines[2]
