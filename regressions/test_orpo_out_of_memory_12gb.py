"""Regression of 2025-03-23-orpo-out-of-memory-12gb: ORPO needs more GPU memory than SFT of the same model and batch.

An incident with no fix: the cases measure the symptom and re-check the one failed attempt that can be re-run.
The model is deepseek-coder-1.3b-instruct's shape in float16 with LoRA adapters (`orpo_memory`), so its peak
memory is compared with the original card's 12 GiB directly. The batch is the one the original's premise fixes:
the largest batch (of 1, 2, 4, 8, 16) at which SFT fits the card, since SFT ran on it. ORPO is then measured at
that batch. The cases need one GPU with more memory than the card (an H100 or H200), so that ORPO's peak can be
measured rather than only fail; one ORPO run under `torch.cuda.set_per_process_memory_fraction` (12 GiB) stands
in for the card itself.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from incidentkb.plugin.observation import Observation
from incidentkb.records.schema import Incident

ID = "2025-03-23-orpo-out-of-memory-12gb"

pytestmark = [
    pytest.mark.needs(gpus=1, packages=("trl", "peft"), versions={"transformers": "==4.45.0", "trl": "==0.11.4"}),
    pytest.mark.timeout(600),
]


def largest_sft_batch(observe: Observation, tmp_path: Path) -> int:
    """The largest of `BATCH_SIZES` whose SFT step's peak stays within the card; each SFT peak is recorded."""
    from orpo_memory import BATCH_SIZES, CARD_GIB, peak_gib, sft_trainer

    fits, runs = 0, []
    for batch_size in BATCH_SIZES:
        run = peak_gib(sft_trainer, batch_size, tmp_path / f"sft-{batch_size}")
        runs.append(run)
        if run["peak_allocated_gib"] > CARD_GIB:
            break
        fits = batch_size
    observe.value("sft_runs", runs)
    observe.value("sft_batch_size_that_fits", fits)
    return fits


def orpo_under_card_limit(observe: Observation, batch_size: int, tmp_path: Path) -> None:
    """ORPO at `batch_size` with the process limited to the card's memory: the error it raises, if any, recorded
    as a value (the verdict of this silent symptom is the measured peak, not this run)."""
    import torch

    from orpo_memory import card_limit, orpo_trainer, peak_gib

    try:
        with card_limit():
            peak_gib(orpo_trainer, batch_size, tmp_path / "orpo-limited")
        observe.value("orpo_under_12_gib_limit", None)
    except torch.cuda.OutOfMemoryError as error:
        observe.value("orpo_under_12_gib_limit", f"{type(error).__name__}: {str(error)[:300]}")
        frames = traceback.extract_tb(error.__traceback__)
        observe.value("orpo_under_12_gib_limit_frames", [f"{f.filename.rsplit('site-packages/', 1)[-1]}:{f.name}"
                                                          for f in frames][-6:])


@pytest.mark.incident(ID, "symptom")
def test_symptom_orpo_peak_exceeds_12_gib_where_sft_fits(
    observe: Observation, incident_record: Incident, tmp_path: Path
) -> None:
    from orpo_memory import orpo_trainer, peak_gib

    batch_size = largest_sft_batch(observe, tmp_path)
    assert batch_size, "SFT does not fit the card even at batch size 1: the premise of the log does not hold"
    orpo = observe.value("orpo_run", peak_gib(orpo_trainer, batch_size, tmp_path / "orpo"))
    orpo_under_card_limit(observe, batch_size, tmp_path)
    assert observe.measured(incident_record.symptom.measured, orpo["peak_allocated_gib"]), orpo


@pytest.mark.incident(ID, "attempt:prepare-model-for-kbit-training")
def test_attempt_kbit_preparation_still_exceeds_12_gib(
    observe: Observation, incident_record: Incident, tmp_path: Path
) -> None:
    from peft import prepare_model_for_kbit_training

    from orpo_memory import orpo_trainer, peak_gib

    batch_size = largest_sft_batch(observe, tmp_path)
    assert batch_size, "SFT does not fit the card even at batch size 1: the premise of the log does not hold"
    orpo = observe.value("orpo_run", peak_gib(orpo_trainer, batch_size, tmp_path / "orpo", prepare_model_for_kbit_training))
    assert observe.measured(incident_record.symptom.measured, orpo["peak_allocated_gib"]), orpo
