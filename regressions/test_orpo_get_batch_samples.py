"""Regression of 2025-03-23-orpo-get-batch-samples-collision: trl 0.11.4's ORPOTrainer under transformers 4.46.3.

Each case builds a tiny Llama-shaped causal LM and a character-level tokenizer in code, six prompt/chosen/rejected
rows, and trl's `ORPOTrainer` (`orpo.orpo_trainer`), then runs `trainer.train()` for one optimizer step on the CPU,
catching what it raises and collecting what transformers' trainer.py logs.

Where the cases run (`needs`): each one only on the pair of versions its claim is about, as the record states it:
the symptom with transformers 4.46.3 and trl 0.11.4, the fix with transformers 4.45.0 and trl 0.11.4. A
bisection (`nox -s bisect -- <id>::<case> --package transformers ...`) runs the same code on every candidate
release of one package: it lifts that package's version condition (`--incidentkb-any-version`), and what it
searches is the outcome, "reproduces" or "no longer reproduces". The windows it found are on the incident page
and in the record's cause notes; the `needs` stay on the recorded pairs, which are what the matrix's cells claim.
"""

from __future__ import annotations

import inspect
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from incidentkb.plugin.observation import Observation
from incidentkb.records.schema import Incident
from incidentkb.match.signatures import any_matches
from orpo import get_model, get_tokenizer, orpo_trainer, trainer_warnings

ID = "2025-03-23-orpo-get-batch-samples-collision"
#: The warning the log shows before the error (transformers 4.46.3 trainer.py line 761, the `Trainer.tokenizer` getter).
DEPRECATION = "Trainer.tokenizer is now deprecated. You should use Trainer.processing_class instead."

pytestmark = pytest.mark.usefixtures("single_cpu_thread")


def record_mechanism(observe: Observation, trainer: Any) -> None:
    """Whose `get_batch_samples` the trainer has, and with which parameters (the collision, seen from outside)."""
    from transformers import Trainer

    base = getattr(Trainer, "get_batch_samples", None)
    observe.value("transformers_Trainer_get_batch_samples", str(inspect.signature(base)) if base else None)
    own = type(trainer).__dict__.get("get_batch_samples")
    observe.value("ORPOTrainer_get_batch_samples", str(inspect.signature(own)) if own else None)
    resolved = getattr(type(trainer), "get_batch_samples", None)
    observe.value("get_batch_samples_resolves_to", getattr(resolved, "__qualname__", None))


def record_warnings(observe: Observation, warnings: list[str]) -> None:
    counts = Counter(warnings)
    observe.value("trainer_py_warnings", [{"message": text, "times": n} for text, n in counts.items()])


def train_one_step(observe: Observation, tmp_path: Path) -> tuple[Any, dict[str, Any], list[str]]:
    """Build the trainer and train; the error, if any, goes to `observe`. Returns the trainer, the parameters
    before training and the warnings trainer.py logged while building and training."""
    tokenizer = get_tokenizer()
    model = get_model(tokenizer)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    observe.value("model_parameters", sum(p.numel() for p in before.values()))
    with trainer_warnings() as warnings:
        trainer = orpo_trainer(model, tokenizer, tmp_path)
        record_mechanism(observe, trainer)
        with observe.catching():
            trainer.train()
    record_warnings(observe, warnings)
    observe.value("global_step", trainer.state.global_step)
    return trainer, before, list(warnings)


@pytest.mark.incident(ID, "symptom")
@pytest.mark.needs(versions={"transformers": "==4.46.3", "trl": "==0.11.4"})
def test_symptom_orpo_train_fails_in_get_batch_samples(
    observe: Observation, incident_record: Incident, tmp_path: Path
) -> None:
    trainer, _, warnings = train_one_step(observe, tmp_path)
    # The log showed this warning before the error; it is context, not the symptom: recorded, never decisive.
    observe.value("recorded_deprecation_warning_logged", DEPRECATION in warnings)

    assert any_matches(incident_record.symptom.signatures, observe.error), observe.error
    assert trainer.state.global_step == 0, "an optimizer step was taken before the error"


@pytest.mark.incident(ID, "fix")
@pytest.mark.needs(versions={"transformers": "==4.45.0", "trl": "==0.11.4"})
def test_fix_transformers_4_45_0_trains(observe: Observation, tmp_path: Path) -> None:
    import torch

    trainer, before, warnings = train_one_step(observe, tmp_path)

    assert observe.error is None, observe.error
    assert not [w for w in warnings if "Trainer.tokenizer is now deprecated" in w], "the deprecation warning is back"
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    observe.value("losses", losses)
    assert trainer.state.global_step == 1 and losses and all(math.isfinite(loss) for loss in losses)
    changed = [name for name, p in trainer.model.named_parameters() if not torch.equal(p.detach(), before[name])]
    observe.value("parameters_changed", len(changed))
    assert changed, "the optimizer step changed no parameter"
