"""The three seed records keep the original log's words: its errors, printed tensors and commit link, verbatim.

The records are English renderings of a Korean troubleshooting log; prose may be reworded, but what was copied
from a terminal must stay byte for byte (Windows paths, library line numbers, double spaces, the line break a
terminal put into the OOM message). The seed lives outside the repository, in `shared/seed/` (locally beside the
clone, in CI as a read-only copy at `../shared`), so this module is skipped where it is absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from incidentkb.match.signatures import any_matches, collapse_whitespace
from incidentkb.match.tracebacks import parse_traceback
from incidentkb.records.reader import load_record
from incidentkb.records.schema import Incident

REPO = Path(__file__).resolve().parents[1]
SEED_CANDIDATES = (REPO.parent / "shared" / "seed", REPO / "shared" / "seed")
SEED = next((path for path in SEED_CANDIDATES if (path / "ohlora-issue-log.ko.md").is_file()), None)
if SEED is None:
    pytest.skip(
        "seed log not found (looked in ../shared/seed and shared/seed); the records' fidelity to it cannot be checked",
        allow_module_level=True,
    )

LOG = (SEED / "ohlora-issue-log.ko.md").read_text(encoding="utf-8")
RENDERING = (SEED / "README.md").read_text(encoding="utf-8")

DTYPE = "2025-04-12-stylegan-label-dtype-mismatch"
LEAK = "2025-04-15-stylegan-test-image-memory-leak"
BATCH = "2025-04-21-llm-sft-batch-size-multi-gpu"


def _record(incident_id: str) -> Incident:
    return load_record(REPO / "incidents" / f"{incident_id}.yaml")


def _verbatim_fields(record: Incident) -> list[str]:
    """Every field of a record that holds text copied from the log rather than written about it."""
    fields = [record.symptom.error_text, record.fix.commit]
    fields += [observation.text for observation in record.symptom.observations]
    fields += [attempt.error_text for attempt in record.failed_attempts]
    return [text for text in fields if text]


def _fenced_blocks(markdown: str) -> list[str]:
    """The contents of the log's ``` fenced blocks (fences on lines of their own)."""
    blocks: list[str] = []
    current: list[str] | None = None
    for line in markdown.splitlines(keepends=True):
        if line.strip() == "```":
            if current is None:
                current = []
            else:
                blocks.append("".join(current).rstrip("\n"))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


RECORDS = {incident_id: _record(incident_id) for incident_id in (DTYPE, LEAK, BATCH)}


@pytest.mark.parametrize(
    ("incident_id", "text"),
    [(incident_id, text) for incident_id, record in RECORDS.items() for text in _verbatim_fields(record)],
    ids=lambda value: value[:40] if isinstance(value, str) else None,
)
def test_copied_text_occurs_verbatim_in_the_log(incident_id: str, text: str) -> None:
    assert text in LOG, f"{incident_id}: text not found verbatim in the Korean log: {text[:80]!r}"


@pytest.mark.parametrize("block", _fenced_blocks(LOG), ids=lambda block: block.splitlines()[-1][:40])
def test_every_error_block_of_the_log_is_kept_by_a_record(block: str) -> None:
    kept = [incident_id for incident_id, record in RECORDS.items() if block in _verbatim_fields(record)]
    assert kept, f"no record keeps this block of the log verbatim: {block[:80]!r}"


@pytest.mark.parametrize("block", _fenced_blocks(LOG), ids=lambda block: block.splitlines()[-1][:40])
def test_the_english_rendering_shows_the_same_blocks(block: str) -> None:
    # The rendering indents the OOM text inside a list and drops its trailing space; the words are the same.
    assert collapse_whitespace(block) in collapse_whitespace(RENDERING)


@pytest.mark.parametrize("printed", re.findall(r"```(\[[^`]*device=[^`]*)```", LOG))
def test_every_printed_tensor_is_an_observation_of_the_dtype_record(printed: str) -> None:
    assert printed in [observation.text for observation in RECORDS[DTYPE].symptom.observations]


@pytest.mark.parametrize("commit", re.findall(r"https://github\.com/\S+?/commit/[0-9a-f]{40}", LOG))
def test_the_commit_link_of_the_log_is_the_leak_fix(commit: str) -> None:
    assert RECORDS[LEAK].fix.commit == commit
    assert commit in RENDERING


def test_the_oom_of_the_use_liger_attempt_keeps_the_terminal_line_break() -> None:
    (attempt,) = [a for a in RECORDS[BATCH].failed_attempts if a.id == "use-liger"]
    assert attempt.error_text is not None
    assert "reserved by \nPyTorch but unallocated" in attempt.error_text


@pytest.mark.parametrize("incident_id", [DTYPE, BATCH])
def test_the_signatures_recognise_the_logs_own_error(incident_id: str) -> None:
    record = RECORDS[incident_id]
    assert record.symptom.error_text is not None
    final = parse_traceback(record.symptom.error_text).final  # read as `incidentkb match` reads a paste
    assert final is not None and any_matches(record.symptom.signatures, final.info())
