"""How long `incidentkb match` takes for one traceback against N records (the target: < 50 ms at 1,000).

The records are synthetic but shaped like real ones: one to three signatures each, half of them on
RuntimeError (the worst case, since signatures are indexed by exception type), regular expressions with
alternations, `\\d+` and placeholders, some with frames. The traceback is the seed's batch-size error (a
RuntimeError with five frames), parsed and matched as `incidentkb match` does, parse included.

Run: .venv/bin/python bench/match_scale.py [N ...]     (default: 100 1000 10000)
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from typing import Any

from incidentkb.match import KnownIncident, Matcher
from incidentkb.schema import Incident

TRACEBACK = r"""Traceback (most recent call last):
  File "C:\Users\20151\Documents\AI_Projects\2025_04_08_OhLoRA\llm\unsloth_test\test_without_unsloth.py", line 78, in <module>
    trainer.train()
  File "C:\Users\20151\Documents\AI_Projects\venv\lib\site-packages\transformers\trainer.py", line 2245, in train
    return inner_training_loop(
  File "C:\Users\20151\Documents\AI_Projects\venv\lib\site-packages\transformers\trainer.py", line 2560, in _inner_training_loop
    tr_loss_step = self.training_step(model, inputs, num_items_in_batch)
  File "C:\Users\20151\Documents\AI_Projects\venv\lib\site-packages\transformers\trainer.py", line 3736, in training_step
    loss = self.compute_loss(model, inputs, num_items_in_batch=num_items_in_batch)
  File "C:\Users\20151\Documents\AI_Projects\venv\lib\site-packages\trl\trainer\sft_trainer.py", line 490, in compute_loss
    correct_predictions = (predictions == shift_labels) & mask
RuntimeError: The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0
"""

WORDS = ("tensor size dtype device grad batch shape memory index token model layer weight bias input output "
         "expected got found match cannot must have the same of for in to be with").split()
TYPES = ["RuntimeError"] * 5 + ["ValueError", "KeyError", "TypeError", "torch.OutOfMemoryError", "IndexError", None]
FRAMES = ["transformers.trainer:training_step", "trl.trainer.sft_trainer:compute_loss", "torch.nn.functional:linear",
          "accelerate.accelerator:backward", "torch.utils.data.dataloader:__next__"]


def _pattern(rng: random.Random) -> str:
    words = rng.sample(WORDS, rng.randint(4, 8))
    at = rng.randrange(len(words))
    words[at] = rng.choice([r"\(\d+\)", r"\(<n>\)", r"(?:mat1|m1)", r"<mem>", r"[\w.]+", r"(?:Double|double)"])
    return r"\s+".join(words) if rng.random() < 0.3 else " ".join(words)


def synthetic_record(number: int, rng: random.Random) -> Incident:
    signatures: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 3)):
        signature: dict[str, Any] = {"message": _pattern(rng)}
        kind = rng.choice(TYPES)
        if kind:
            signature["exception"] = kind
        if rng.random() < 0.3:
            signature["frames"] = rng.sample(FRAMES, rng.randint(1, 2))
        signatures.append(signature)
    slug = f"2025-01-01-synthetic-{number}"
    return Incident.model_validate({
        "id": slug,
        "title": f"Synthetic incident {number}",
        "date": "2025-01-01",
        "category": "bench",
        "severity": "low",
        "status": "resolved",
        "environment": {"os": "Linux", "python": "3.11"},
        "symptom": {"summary": "synthetic", "signatures": signatures},
        "cause": "synthetic",
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


def main(counts: list[int]) -> None:
    print(f"{'records':>8} {'signatures':>10} {'compile ms':>10} {'median ms':>9} {'p95 ms':>8} {'max ms':>8}")
    for count in counts:
        m = measure(count)
        print(f"{m['records']:>8} {m['signatures']:>10} {m['compile_ms']:>10.1f} {m['median_ms']:>9.2f} "
              f"{m['p95_ms']:>8.2f} {m['max_ms']:>8.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 10000])
