"""Synthetic knowledge bases for the benchmarks: records shaped like real ones, generated on the spot, never committed.

Every record is the size of a real one (a traceback, printed values, a failed attempt, an alternative fix,
lessons, facts, four cases) and valid, with its regression file, so `incidentkb check` runs its whole path on
it. What makes records differ where it costs something differs here too: the signatures (one to three each,
half on RuntimeError, the worst case for the matcher's index by exception type; regular expressions with
alternations, `\\d+` and placeholders; some with frames), the category (ten of them) and the tags (two to four
of forty), which decide how many category and tag pages the site has. Record 0 keeps the seed's batch-size
signature, so matching the seed's traceback finds exactly one incident at every size.

    from synthetic import generate
    generate(root, 1000)          # root/incidents/*.yaml, root/regressions/*.py, root/schema/...
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from incidentkb.records.json_schema import SCHEMA_FILE, write_schema

__all__ = ["TRACEBACK", "incident_id", "random_signatures", "record_text", "regression_text", "generate"]

#: The seed's batch-size error, as `incidentkb match` gets it pasted (five frames, Windows paths).
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

_BATCH_SIGNATURE: dict[str, Any] = {
    "exception": "RuntimeError",
    "message": r"The size of tensor a \(\d+\) must match the size of tensor b \(\d+\) at non-singleton dimension 0",
    "frames": ["trl.trainer.sft_trainer:compute_loss"],
}

WORDS = ("tensor size dtype device grad batch shape memory index token model layer weight bias input output "
         "expected got found match cannot must have the same of for in to be with").split()
TYPES = ["RuntimeError"] * 5 + ["ValueError", "KeyError", "TypeError", "torch.OutOfMemoryError", "IndexError", None]
FRAMES = ["transformers.trainer:training_step", "trl.trainer.sft_trainer:compute_loss", "torch.nn.functional:linear",
          "accelerate.accelerator:backward", "torch.utils.data.dataloader:__next__"]
CATEGORIES = ["LLM", "StyleGAN", "Diffusion", "Data loading", "Distributed", "Mixed precision", "Tokenizers",
              "Checkpointing", "Evaluation", "Infrastructure"]
TAGS = [f"{a}-{b}" for a in ("dtype", "memory", "multi-gpu", "nan", "shape", "cuda", "oom", "batch-size")
        for b in ("torch", "trl", "peft", "hf")] + [f"area-{n}" for n in range(8)]


def _pattern(rng: random.Random) -> str:
    words = rng.sample(WORDS, rng.randint(4, 8))
    at = rng.randrange(len(words))
    words[at] = rng.choice([r"\(\d+\)", r"\(<n>\)", r"(?:mat1|m1)", r"<mem>", r"[\w.]+", r"(?:Double|double)"])
    return r"\s+".join(words) if rng.random() < 0.3 else " ".join(words)


def random_signatures(rng: random.Random) -> list[dict[str, Any]]:
    """One to three signatures as a record writes them: a message pattern, mostly a type, sometimes frames."""
    signatures: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 3)):
        signature: dict[str, Any] = {"message": _pattern(rng)}
        kind = rng.choice(TYPES)
        if kind:
            signature["exception"] = kind
        if rng.random() < 0.3:
            signature["frames"] = rng.sample(FRAMES, rng.randint(1, 2))
        signatures.append(signature)
    return signatures


def incident_id(number: int) -> str:
    return f"2025-{number % 12 + 1:02d}-{number % 28 + 1:02d}-synthetic-incident-{number:04d}"


RECORD = """\
# yaml-language-server: $schema=../schema/incident.schema.json
id: {id}
title: "Synthetic incident {n}: the {words}"
date: {date}
category: {category}
tags: {tags}
severity: critical
severity_original: 심각
status: resolved
project: bench
environment:
  os: Windows 10
  python: 3.10.11
  gpu: {{model: NVIDIA Quadro M6000, count: 2, memory_gb: 12, architecture: Maxwell, compute_capability: "5.2"}}
  cuda: "12.4"
  libraries: {{torch: 2.6.0+cu124, transformers: 4.51.3, trl: 0.15.2, peft: 0.13.2, accelerate: 1.0.1}}
  notes: [liger-kernel was installed but not pinned]
symptom:
  summary: The train batch size and the batch size of the predictions do not match.
  error_text: |
    Traceback (most recent call last):
      File "train.py", line 78, in <module>
        trainer.train()
      File "transformers/trainer.py", line 2245, in train
        return inner_training_loop(
      File "transformers/trainer.py", line 2560, in _inner_training_loop
        tr_loss_step = self.training_step(model, inputs, num_items_in_batch)
      File "trl/trainer/sft_trainer.py", line 490, in compute_loss
        correct_predictions = (predictions == shift_labels) & mask
    RuntimeError: The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0
  observations:
    - {{label: torch.cuda.device_count(), text: "2"}}
  signatures:
{signatures}
  case: test_symptom
cause: With two visible GPUs the Trainer multiplies the per-device batch size by the number of GPUs.
cause_notes: [The analysis in the original log names the right line of transformers.]
failed_attempts:
  - id: visible-devices-after-import
    tried: Set CUDA_VISIBLE_DEVICES at the top of the training script.
    why_failed: The training arguments were built on import, before the variable was set.
    code:
      before: "from common import training_args"
      after: "os.environ['CUDA_VISIBLE_DEVICES'] = '0'"
    case: test_attempt_after_import
fix:
  summary: Set CUDA_VISIBLE_DEVICES before the training arguments are built.
  explanation: The Trainer then sees one GPU, and the batch sizes agree.
  case: test_fix
  alternatives:
    - id: torchrun
      summary: Launch one process per GPU with torchrun.
      case: test_fix_torchrun
lessons: [Set CUDA_VISIBLE_DEVICES before anything imports torch.]
facts: [The training arguments are built at module level.]
references:
  - {{title: transformers training_args.py, url: "https://github.com/huggingface/transformers", note: line 2137}}
regression:
  path: regressions/test_synthetic_{n:04d}.py
  cases:
    - {{name: test_symptom, role: symptom}}
    - {{name: test_attempt_after_import, role: "attempt:visible-devices-after-import"}}
    - {{name: test_fix, role: fix}}
    - {{name: test_fix_torchrun, role: "fix:torchrun"}}
  depends_on: [torch, transformers, trl]
"""

REGRESSION = '''\
"""Regression of the synthetic incident {id}."""

import pytest

from incidentkb.match.signatures import any_matches

ID = "{id}"


@pytest.mark.incident(ID, "symptom")
def test_symptom(observe, incident_record):
    with observe.catching():
        raise RuntimeError("The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0")
    assert any_matches(incident_record.symptom.signatures, observe.error)


@pytest.mark.incident(ID, "attempt:visible-devices-after-import")
def test_attempt_after_import(observe):
    observe.value("train_batch_size", 4)
    assert True


@pytest.mark.incident(ID, "fix")
def test_fix(observe):
    observe.value("train_batch_size", 2)


@pytest.mark.incident(ID, "fix:torchrun")
def test_fix_torchrun(observe):
    observe.value("train_batch_size", 2)
'''


def _signature_yaml(signature: dict[str, Any]) -> str:
    # JSON strings are YAML double-quoted strings, so any pattern is written safely.
    lines = [f"      {key}: {json.dumps(value, ensure_ascii=False)}" for key, value in signature.items()]
    return "    - " + "\n".join(lines)[6:]


def record_text(number: int, rng: random.Random) -> str:
    """The YAML of synthetic record `number`; `rng` decides its signatures, category, tags and date."""
    signatures = [_BATCH_SIGNATURE] if number == 0 else random_signatures(rng)
    tags = rng.sample(TAGS, rng.randint(2, 4))
    return RECORD.format(
        id=incident_id(number),
        n=number,
        words=" ".join(rng.sample(WORDS, 5)),
        date=f"2025-{number % 12 + 1:02d}-{number % 28 + 1:02d}",
        category=rng.choice(CATEGORIES),
        tags="[" + ", ".join(tags) + "]",
        signatures="\n".join(_signature_yaml(s) for s in signatures),
    )


def regression_text(number: int) -> str:
    """The regression file of synthetic record `number`: its four cases, marked for it."""
    return REGRESSION.format(id=incident_id(number))


def generate(root: Path, count: int, *, seed: int = 0) -> list[str]:
    """Write `count` valid records, their regression files and the JSON Schema under `root`; returns the ids."""
    rng = random.Random(seed)
    (root / "incidents").mkdir(parents=True)
    (root / "regressions").mkdir()
    write_schema(root / SCHEMA_FILE)
    ids = []
    for number in range(count):
        ids.append(incident_id(number))
        (root / "incidents" / f"{ids[-1]}.yaml").write_text(record_text(number, rng), encoding="utf-8")
        (root / "regressions" / f"test_synthetic_{number:04d}.py").write_text(regression_text(number),
                                                                             encoding="utf-8")
    return ids
