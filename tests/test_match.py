"""`Matcher` on real tracebacks: each incident's wordings from several versions and devices find it, and only it;
real errors of other kinds find nothing.

Every file in tests/tracebacks/ says in its header where it came from and what it must match (`# expect:`).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from repo_samples import load_bench

from incidentkb.match.matcher import KnownIncident, Matcher
from incidentkb.match.signatures import ErrorInfo

REPO = Path(__file__).resolve().parents[1]
TRACEBACKS = REPO / "tests" / "tracebacks"
DTYPE = "2025-04-12-stylegan-label-dtype-mismatch"
BATCH = "2025-04-21-llm-sft-batch-size-multi-gpu"


def read_traceback(path: Path) -> tuple[str, str]:
    """(what it must match, the traceback as printed) of one file of tests/tracebacks/."""
    lines = path.read_text(encoding="utf-8").splitlines()
    expect = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("# expect:"))
    while lines and (lines[0].startswith("#") or not lines[0].strip()):
        lines.pop(0)
    return expect, "\n".join(lines)


FILES = sorted(TRACEBACKS.glob("*.txt"))


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.from_directory(REPO / "incidents", relative_to=REPO)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_traceback_matches_what_its_header_says(matcher: Matcher, path: Path) -> None:
    expect, text = read_traceback(path)
    found = [m.incident_id for m in matcher.match_text(text)]
    assert found == ([] if expect == "nothing" else [expect])


def test_the_collection_covers_versions_devices_and_unrelated_errors() -> None:
    expects = [read_traceback(p)[0] for p in FILES]
    assert expects.count(DTYPE) >= 5 and expects.count(BATCH) >= 3
    assert expects.count("nothing") >= 10


def test_match_explains_itself(matcher: Matcher) -> None:
    _, text = read_traceback(TRACEBACKS / "batch-size-8gpu-shapes-torch2.13-cpu.txt")
    (found,) = matcher.match_text(text)
    assert found.title.startswith("LLM fine-tuning: batch-size error")
    assert found.known.path == f"incidents/{BATCH}.yaml"
    assert found.page == f"incidents/{BATCH}.html"
    assert "\n" not in found.fix
    assert found.reasons[0] == "exception RuntimeError"
    assert found.reasons[1].startswith("message matches signature 1 /The size of tensor a")
    assert found.reasons[2] == "frames trl.trainer.sft_trainer:compute_loss"


def test_a_bare_last_line_matches_and_says_frames_were_not_checked(matcher: Matcher) -> None:
    text = "RuntimeError: The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0"
    (found,) = matcher.match_text(text)
    assert found.incident_id == BATCH
    assert found.reasons[-1] == (
        "frames not checked: the traceback shows none (the signature expects trl.trainer.sft_trainer:compute_loss)"
    )


def test_a_match_on_an_earlier_error_is_ranked_below_and_said(matcher: Matcher) -> None:
    _, text = read_traceback(TRACEBACKS / "dtype-torchrun-tee-torch2.13-cpu.txt")
    (found,) = matcher.match_text(text)
    assert found.incident_id == DTYPE and not found.final
    assert found.reasons[-1] == "found in an earlier error of the traceback (RuntimeError)"


def test_ranking_prefers_the_match_with_more_evidence(matcher: Matcher) -> None:
    records = list(matcher.records)
    by_id = {known.incident.id: known.incident for known in records}
    dtype, batch = by_id[DTYPE], by_id[BATCH]
    broad = dtype.model_copy(update={"id": "2025-01-01-broad", "symptom": dtype.symptom.model_copy(
        update={"signatures": [batch.symptom.signatures[0].model_copy(update={"frames": [], "exception": None})]})})
    ranked = Matcher([*records, KnownIncident(broad, "incidents/2025-01-01-broad.yaml")])
    _, text = read_traceback(TRACEBACKS / "batch-size-seed-torch2.6-2gpu-windows.txt")
    assert [m.incident_id for m in ranked.match_text(text)] == [BATCH, "2025-01-01-broad"]


def test_a_pasted_path_of_a_million_parts_is_read_in_seconds(matcher: Matcher) -> None:
    """Only the last dotted tails of a frame's module are kept (all of them took minutes: quadratic size)."""
    message = "The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0"
    frame = '  File "' + "/a" * 1_000_000 + '/trl/trainer/sft_trainer.py", line 490, in compute_loss\n'
    started = time.perf_counter()
    (found,) = matcher.match_text(frame + f"RuntimeError: {message}\n")
    assert found.incident_id == BATCH and found.reasons[2] == "frames trl.trainer.sft_trainer:compute_loss"
    assert time.perf_counter() - started < 10


def test_one_traceback_against_a_thousand_records_takes_under_50_ms() -> None:
    result = load_bench("match_scale").measure(1000, repeats=30)
    assert result["median_ms"] < 50, result


def test_no_error_matches_nothing(matcher: Matcher) -> None:
    assert matcher.match_errors([]) == []
    assert matcher.match(ErrorInfo("RuntimeError", "something else entirely")) == []


def test_a_note_is_not_cut_at_an_abbreviation() -> None:
    from incidentkb.match.matcher import first_sentence

    assert first_sentence("Older torch words it so, i.e. before 2.4. Newer ones do not.") == (
        "Older torch words it so, i.e. before 2.4")
    assert first_sentence("One sentence, e.g. this one.") == "One sentence, e.g. this one"


def test_a_successor_error_finds_its_incident_and_says_what_it_is(matcher: Matcher) -> None:
    """trl 1.x's refusal is in the record's `symptom.successors`: pasting it finds the batch-size incident."""
    _, text = read_traceback(TRACEBACKS / "batch-size-trl1.16-refusal-2gpu.txt")
    (found,) = matcher.match_text(text)
    assert found.incident_id == BATCH and found.successor is not None
    assert found.kind == ("a newer library's error for the same setup (trl 1.15 and newer refuse the setup up front "
                          "(SFTTrainer.__init__ rejects nn.DataParallel and names the fix) instead of failing in "
                          "compute_loss: the bug can no longer happen, a different error says so)")
    assert "message matches successor signature 1" in found.why
