"""Regression of 2025-04-21-llm-sft-batch-size-multi-gpu: two visible GPUs double trl's train batch.

Each case trains a tiny Gemma2-like LM with trl's `SFTTrainer` in fresh processes (`sft_batch.launch`), with the
training arguments built at import of a separate module as in the original, and asserts what the record says
from what those processes measured: the GPUs they saw, `n_gpu`, the train batch, the rows of every forward pass
and the error, if any.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from pathlib import Path
from typing import Any

import pytest
from sft_batch.compat import liger_option
from sft_batch.launch import LAUNCHES

from incidentkb.match.signatures import any_matches

ID = "2025-04-21-llm-sft-batch-size-multi-gpu"
PER_DEVICE_BATCH = 2  # the original's per_device_train_batch_size

# The harness passes the tokenizer as `SFTTrainer(processing_class=...)` (sft_batch/common.py), which trl 0.12.0
# introduced (trl 0.11.4 takes `tokenizer=` and raises "SFTTrainer.__init__() got an unexpected keyword argument
# 'processing_class'"). On older trl (the ORPO incident's stacks 4.46.3 and 4.45.0) the cases are not run.
pytestmark = pytest.mark.needs(versions={"trl": ">=0.12"})


def _liger_packages() -> tuple[str, ...]:
    """liger-kernel where the installed trl's Liger switch needs it (`compat.liger_option` says which switch)."""
    try:
        return ("liger_kernel",) if liger_option() == "use_liger_kernel" else ()
    except PackageNotFoundError:
        return ()  # no trl: the case crashes on import, which says more than a skip would


def train(role: str, observe: Any, workdir: Path) -> list[dict[str, Any]]:
    """Run the training of the case, merge what its processes saw into `observe`, and return their values."""
    launch = LAUNCHES[role]
    observe.note(f"ran `{launch}` from regressions/")
    seen = launch.run(workdir)
    if len(seen) == 1:
        observe.merge(seen[0])
    else:
        observe.value("ranks", [observation["values"] for observation in seen])
        errors = [observation["error"] for observation in seen if observation["error"]]
        notes = sorted({note for observation in seen for note in observation["notes"]})
        observe.merge({"error": errors[0] if errors else None, "notes": notes})
    runs = [observation["values"] for observation in seen]
    for run in runs:
        observe.note(describe_forwards(run))
    return runs


def describe_forwards(run: dict[str, Any]) -> str:
    """One sentence on where the forward passes ran, to read beside the train batch size."""
    rows = run.get("forward_rows_by_device") or {}
    where = "; ".join(f"{device}: {len(sizes)} passes of {sorted(set(sizes))} rows" for device, sizes in rows.items())
    return (
        f"process {run.get('process_index', 0)}: train batch {run.get('train_batch_size')}, n_gpu {run.get('n_gpu')}, "
        f"forward passes {where or 'none'}"
    )


@pytest.mark.incident(ID, "symptom")
@pytest.mark.needs(gpus=2)
def test_symptom_two_visible_gpus_double_the_batch(observe, incident_record, tmp_path):  # type: ignore[no-untyped-def]
    (run,) = train("symptom", observe, tmp_path)
    observe.require(run["torch_device_count"] == 2, "the harness did not show the training process 2 GPUs")

    assert run["n_gpu"] == 2, f"n_gpu {run['n_gpu']}: both GPUs are no longer counted"
    assert run["train_batch_size"] == 2 * PER_DEVICE_BATCH, f"train batch {run['train_batch_size']}: not doubled"
    assert observe.error is not None, f"no error: {describe_forwards(run)}"
    assert any_matches(incident_record.symptom.signatures, observe.error), f"another error: {observe.error}"


@pytest.mark.incident(ID, "attempt:visible-devices-after-import")
@pytest.mark.needs(gpus=2)
def test_attempt_visible_devices_set_after_import(observe, incident_record, tmp_path):  # type: ignore[no-untyped-def]
    (run,) = train("attempt:visible-devices-after-import", observe, tmp_path)

    observe.require(run["cuda_visible_devices"] == "0", "the attempt's line did not run")
    assert run["torch_device_count"] == run["n_gpu"] == 2, "the variable, set after the training arguments, still counted"
    assert run["train_batch_size"] == 2 * PER_DEVICE_BATCH
    assert observe.error is not None, f"no error: {describe_forwards(run)}"
    assert any_matches(incident_record.symptom.signatures, observe.error), f"another error: {observe.error}"


@pytest.mark.incident(ID, "attempt:use-liger")
@pytest.mark.needs(gpus=2, packages=_liger_packages())
def test_attempt_use_liger(observe, incident_record, tmp_path):  # type: ignore[no-untyped-def]
    (run,) = train("attempt:use-liger", observe, tmp_path)
    observe.note(
        "The original run then ran out of memory on a 12 GB card with gemma-2-2b-it (about 2.6 billion parameters); "
        f"this model has {run.get('model_parameters')}, so that part is not reproduced "
        f"(peak GPU memory here, MiB: {run.get('max_memory_allocated_mib')})."
    )

    observe.require(run["liger_enabled"], f"{run['liger_option']} was not set")
    assert not any_matches(incident_record.symptom.signatures, observe.error), "the option no longer avoids the error"
    assert observe.error is None, "the option avoided the recorded error, but training still failed"
    assert run["n_gpu"] == 2, "not a root fix: both GPUs are still counted"
    assert run["train_batch_size"] == 2 * PER_DEVICE_BATCH, "not a root fix: the train batch is still doubled"


@pytest.mark.incident(ID, "fix")
def test_fix_visible_devices_before_training_args(observe, tmp_path):  # type: ignore[no-untyped-def]
    (run,) = train("fix", observe, tmp_path)
    observe.require(run["cuda_visible_devices_given"] not in ("", "0"), "the case needs several GPUs visible at start")

    assert_trains_on_one_device(observe, run)


@pytest.mark.incident(ID, "smoke")
def test_smoke_sft_trains_at_per_device_batch(observe, tmp_path):  # type: ignore[no-untyped-def]
    """The fixed script trains on these versions wherever it runs: not the fix (that needs 2 GPUs), the setup."""
    (run,) = train("fix", observe, tmp_path)
    if run["torch_device_count"] == 0:
        observe.note("CPU host: this shows that training with the import-time arguments works at per-device batch 2")

    assert_trains_on_one_device(observe, run)


def assert_trains_on_one_device(observe: Any, run: dict[str, Any]) -> None:
    """Training ran without error on one device, with the per-device batch as the real batch."""
    observe.require(run["cuda_visible_devices"] == "0", "the fix's line did not run")
    assert observe.error is None, observe.error
    assert run["torch_device_count"] <= 1 and run["n_gpu"] <= 1
    assert run["train_batch_size"] == PER_DEVICE_BATCH
    (rows,) = run["forward_rows_by_device"].values()  # one device ran every forward pass
    assert run["optimizer_steps"] > 0 and rows and max(rows) <= PER_DEVICE_BATCH


@pytest.mark.incident(ID, "fix:torchrun")
@pytest.mark.needs(gpus=2)
def test_fix_torchrun_one_process_per_gpu(observe, tmp_path):  # type: ignore[no-untyped-def]
    runs = train("fix:torchrun", observe, tmp_path)

    observe.require(sorted(run["process_index"] for run in runs) == [0, 1], "torchrun did not start 2 processes")
    observe.require(all(run["world_size"] == 2 for run in runs), "the processes did not form a group of 2")
    assert observe.error is None, observe.error
    devices = set()
    for run in runs:
        assert run["n_gpu"] == 1
        assert run["distributed_backend"] == "nccl"
        assert run["train_batch_size"] == PER_DEVICE_BATCH
        (device,) = run["forward_rows_by_device"]  # each rank runs its forward passes on its own GPU
        rows = run["forward_rows_by_device"][device]
        assert run["optimizer_steps"] > 0 and rows and max(rows) <= PER_DEVICE_BATCH
        devices.add(device)
    assert devices == {"cuda:0", "cuda:1"}
