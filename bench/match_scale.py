"""How long `incidentkb match` takes for one traceback against N records (the target: < 50 ms at 1,000).

The records are synthetic but shaped like real ones: one to three signatures each, half of them on
RuntimeError (the worst case, since signatures are indexed by exception type), regular expressions with
alternations, `\\d+` and placeholders, some with frames. The traceback is the seed's batch-size error (a
RuntimeError with five frames), parsed and matched as `incidentkb match` does, parse included.

With `--words`, the same records get titles, summaries, causes and tags of real words, and a symptom in words
(`incidentkb match --text`) is ranked against them instead: the word index's one-time build, then each query.

Run: .venv/bin/python bench/match_scale.py [--words] [N ...]     (default: 100 1000 10000)
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

from incidentkb.match.matcher import KnownIncident, Matcher
from incidentkb.records.schema import Incident

sys.path.insert(0, str(Path(__file__).parent))  # the shared generator, also when loaded by a test
from synthetic import TAGS, TRACEBACK, WORDS, random_signatures  # noqa: E402

#: The symptom in words that `--words` ranks the records by (as `incidentkb match --text` would).
WORDS_QUERY = "the loss becomes nan after loading a checkpoint and the memory of the model grows every batch"


def _sentence(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


def synthetic_record(number: int, rng: random.Random) -> Incident:
    signatures = random_signatures(rng)
    words = random.Random(number)  # its own generator: the signatures stay those the traceback numbers were taken with
    slug = f"2025-01-01-synthetic-{number}"
    return Incident.model_validate({
        "id": slug,
        "title": f"Synthetic incident {number}: {_sentence(words, 6)}",
        "date": "2025-01-01",
        "category": "bench",
        "tags": words.sample(TAGS, 3),
        "severity": "low",
        "status": "resolved",
        "environment": {"os": "Linux", "python": "3.11"},
        "symptom": {"summary": _sentence(words, 15), "signatures": signatures},
        "cause": _sentence(words, 30),
        "fix": {"summary": "synthetic"},
        "regression": {"path": "regressions/test_synthetic.py", "cases": [{"name": "test_symptom", "role": "symptom"}]},
    })


def measure(count: int, repeats: int = 200) -> dict[str, float]:
    rng = random.Random(count)
    records = [KnownIncident(synthetic_record(i, rng), f"incidents/{i}.yaml") for i in range(count)]
    started = time.perf_counter()
    matcher = Matcher(records)
    compile_ms = (time.perf_counter() - started) * 1000
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        matcher.match_text(TRACEBACK)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "records": count,
        "signatures": sum(len(r.incident.symptom.signatures) for r in records),
        "compile_ms": compile_ms,
        "median_ms": statistics.median(timings),
        "p95_ms": timings[int(len(timings) * 0.95) - 1],
        "max_ms": timings[-1],
    }


def measure_words(count: int, repeats: int = 200) -> dict[str, float]:
    """The word index's build (once, on the first query) and each query after it, for `count` records."""
    rng = random.Random(count)
    records = [KnownIncident(synthetic_record(i, rng), f"incidents/{i}.yaml") for i in range(count)]
    matcher = Matcher(records)
    started = time.perf_counter()
    found = matcher.match_words(WORDS_QUERY)
    compile_ms = (time.perf_counter() - started) * 1000
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        matcher.match_words(WORDS_QUERY)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "records": count,
        "signatures": len(found),  # shown as "matches" in the words table
        "compile_ms": compile_ms,
        "median_ms": statistics.median(timings),
        "p95_ms": timings[int(len(timings) * 0.95) - 1],
        "max_ms": timings[-1],
    }


def main(counts: list[int], *, words: bool = False) -> None:
    second, first = ("matches", "index+1st ms") if words else ("signatures", "compile ms")
    print(f"{'records':>8} {second:>10} {first:>10} {'median ms':>9} {'p95 ms':>8} {'max ms':>8}")
    for count in counts:
        m = measure_words(count) if words else measure(count)
        print(f"{m['records']:>8} {m['signatures']:>10} {m['compile_ms']:>10.1f} {m['median_ms']:>9.2f} "
              f"{m['p95_ms']:>8.2f} {m['max_ms']:>8.2f}")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    words = "--words" in arguments
    main([int(a) for a in arguments if a != "--words"] or [100, 1000, 10000], words=words)
