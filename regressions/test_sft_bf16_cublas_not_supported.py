"""Regression of 2025-03-20-sft-bf16-cublas-not-supported: SFT of a model loaded in bfloat16 on a card without bf16.

Each case trains the tiny Llama of `tiny_lm` for one step with trl's `SFTTrainer` (`sft_dtype`), the model in the
dtype the case is about, and records the dtypes of its batched GEMMs (the attention's `matmul`, a strided batched
GEMM on CUDA: the call of the error).

Where each claim can be shown: the error needs a GPU without native bf16 (compute capability below 8.0, the
original's Quadro M6000 is 5.2), which this matrix's GPU cells (H100 or H200, 9.0) are not: the symptom case is
*not applicable* there, by its record's `applies_when`, whatever it observes. The failed attempt's claim, that the
batch size leaves the bf16 GEMMs in place, is shown on the CPU. The fix, float16, is tested on a GPU.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from incidentkb.match.signatures import any_matches
from incidentkb.plugin.observation import Observation
from incidentkb.records.schema import Incident
from sft_dtype import sft_step

ID = "2025-03-20-sft-bf16-cublas-not-supported"
#: SFTConfig's default per-device batch size, which the failed attempt lowered to 4.
DEFAULT_BATCH_SIZE = 8


@pytest.mark.incident(ID, "symptom")
@pytest.mark.needs(gpus=1, packages=("trl",))
def test_symptom_bf16_sft_fails_in_batched_gemm(observe: Observation, incident_record: Incident, tmp_path: Path) -> None:
    import torch

    observe.value("compute_capability", "%d.%d" % torch.cuda.get_device_capability(0))
    observe.value("bf16_supported", torch.cuda.is_bf16_supported())
    sft_step(observe, torch.bfloat16, DEFAULT_BATCH_SIZE, "cuda", tmp_path)
    assert any_matches(incident_record.symptom.signatures, observe.error), observe.error


@pytest.mark.incident(ID, "attempt:batch-size-4")
@pytest.mark.needs(packages=("trl",))
@pytest.mark.usefixtures("single_cpu_thread")
def test_attempt_batch_size_4_keeps_the_bf16_batched_gemms(observe: Observation, tmp_path: Path) -> None:
    import torch

    _, dtypes = sft_step(observe, torch.bfloat16, 4, "cpu", tmp_path)
    assert observe.error is None, observe.error
    observe.require(dtypes, "no batched GEMM was seen: the attention no longer calls matmul, so nothing is shown")
    assert set(dtypes) == {"torch.bfloat16"}, dtypes


@pytest.mark.incident(ID, "fix")
@pytest.mark.needs(gpus=1, packages=("trl",))
def test_fix_float16_sft_step_trains_on_the_gpu(observe: Observation, tmp_path: Path) -> None:
    import torch

    observe.value("compute_capability", "%d.%d" % torch.cuda.get_device_capability(0))
    trainer, dtypes = sft_step(observe, torch.float16, DEFAULT_BATCH_SIZE, "cuda", tmp_path)
    assert observe.error is None, observe.error
    observe.require(dtypes, "no batched GEMM was seen: the attention no longer calls matmul, so nothing is shown")
    assert set(dtypes) == {"torch.float16"}, dtypes
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert trainer.state.global_step == 1 and losses and all(math.isfinite(loss) for loss in losses), losses
