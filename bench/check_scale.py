"""How long `incidentkb check` takes on a large knowledge base: N synthetic records, each with its regression file.

Each synthetic record is the size of a real one (a traceback, printed values, a failed attempt, an alternative
fix, lessons, facts, four cases) and is valid, so the whole path runs: YAML composition, the schema, the
placeholder scan, the cross-references and the `ast` scan of every regression file. The time reported is for
`check()` itself (loading and checking, Python already started), the best of a few repeats, in wall-clock and CPU time (CPU time is what the checker costs when
other work shares the machine); the end-to-end
time of the `incidentkb check` command, interpreter start-up included, is printed beside it.

    .venv/bin/python bench/check_scale.py            # 1,000 records
    .venv/bin/python bench/check_scale.py -n 5000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from incidentkb.check import SCHEMA_FILE, check
from incidentkb.jsonschema import write_schema

RECORD = """\
# yaml-language-server: $schema=../schema/incident.schema.json
id: {id}
title: Synthetic incident number {n} for timing the checker
date: 2025-04-{day:02d}
category: LLM
tags: [synthetic, batch-size, multi-gpu]
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
    - exception: RuntimeError
      message: The size of tensor a \\(\\d+\\) must match the size of tensor b \\(\\d+\\) at non-singleton dimension 0
      frames: ["trl.trainer.sft_trainer:compute_loss"]
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

from incidentkb.signatures import any_matches

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


def generate(root: Path, count: int) -> None:
    """Write `count` valid records, their regression files and the JSON Schema under `root`."""
    (root / "incidents").mkdir(parents=True)
    (root / "regressions").mkdir()
    write_schema(root / SCHEMA_FILE)
    for n in range(count):
        incident_id = f"2025-04-{n % 28 + 1:02d}-synthetic-incident-{n:04d}"
        (root / "incidents" / f"{incident_id}.yaml").write_text(
            RECORD.format(id=incident_id, n=n, day=n % 28 + 1), encoding="utf-8")
        (root / "regressions" / f"test_synthetic_{n:04d}.py").write_text(REGRESSION.format(id=incident_id), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--records", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the best is reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, args.records)
        times, cpu = [], []
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            report = check(root)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        if not report.ok:
            print("\n".join(str(p) for p in report.problems[:10]), file=sys.stderr)
            return 1
        start = time.perf_counter()
        cli = subprocess.run([sys.executable, "-m", "incidentkb.cli", "check", "--root", str(root)],
                             capture_output=True, text=True)
        end_to_end = time.perf_counter() - start
        print(f"{report.summary()}")
        print(f"check() on {args.records} records: best {min(times):.3f} s, median "
              f"{sorted(times)[len(times) // 2]:.3f} s over {args.repeat} runs (CPU time: best {min(cpu):.3f} s)")
        print(f"load average while timing: {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} cores (other work on the machine slows the wall-clock time)")
        print(f"`incidentkb check` end to end (interpreter start included): {end_to_end:.3f} s, exit {cli.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
