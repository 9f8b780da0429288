"""Regression of 2025-04-12-stylegan-label-dtype-mismatch: float64 labels against a float32 label weight.

The labels are made as the original made them (pandas -> `.tolist()` Python floats -> Dataset dict -> DataLoader
default collation -> concat / reshape(5, -1) / transpose), so their dtype is whatever that pipeline yields, and
the generator's mapping computes `torch.matmul(label, self.label_weight)` with a float32 (5 x 512) weight.
"""

from __future__ import annotations

import pytest
import torch
from stylegan import Generator, concatenate_labels, label_loader, property_score_rows
from stylegan.labels import TRAIN_BATCH_SIZE

from incidentkb.match.signatures import any_matches
from incidentkb.plugin.observation import Observation
from incidentkb.records.schema import Incident

ID = "2025-04-12-stylegan-label-dtype-mismatch"
DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param("cuda", id="cuda", marks=pytest.mark.needs(gpus=1)),
]

pytestmark = pytest.mark.usefixtures("single_cpu_thread")


@pytest.fixture
def generator(device: str) -> Generator:
    return Generator().to(device).train()


def first_batch_labels() -> torch.Tensor:
    """The (16, 5) label tensor of the first training batch, exactly as the original pipeline made it."""
    batch = next(iter(label_loader(property_score_rows())))
    return concatenate_labels(batch)


def latent_codes(device: str) -> torch.Tensor:
    return torch.randn(TRAIN_BATCH_SIZE, 512, device=device)


def record_printed(observe: Observation, label: torch.Tensor, generator: Generator) -> None:
    """What the original printed while investigating: the label and the label weight, as their reprs."""
    rows = property_score_rows()
    observe.value("score_rows", f"{type(rows).__module__}.{type(rows).__qualname__}")  # pandas, as the original
    observe.value("label_dtype", str(label.dtype))
    observe.value("label_shape", list(label.shape))
    observe.value("label_weight_dtype", str(generator.mapping.label_weight.dtype))
    observe.value("label_repr", repr(label))
    observe.value("label_weight_repr", repr(generator.mapping.label_weight.data))


@pytest.mark.incident(ID, "symptom")
@pytest.mark.parametrize("device", DEVICES)
def test_symptom_float64_labels_fail_matmul(
    device: str, generator: Generator, observe: Observation, incident_record: Incident
) -> None:
    label = first_batch_labels().to(device)  # the original: concatenated_labels.cuda()
    record_printed(observe, label, generator)

    with observe.catching():
        generator(latent_codes(device), label)

    assert label.dtype == torch.float64, "the pipeline no longer makes float64 labels"
    assert any_matches(incident_record.symptom.signatures, observe.error), observe.error


@pytest.mark.incident(ID, "attempt:cast-to-double")
@pytest.mark.parametrize("device", DEVICES)
def test_attempt_cast_to_double_still_fails(
    device: str, generator: Generator, observe: Observation, incident_record: Incident
) -> None:
    before = first_batch_labels()
    label = before.double().to(device)  # the attempt: cast to Double, which float64 already is
    record_printed(observe, label, generator)

    with observe.catching():
        generator(latent_codes(device), label)

    # The attempt failed because the cast changed nothing: the pipeline's labels were float64 (Double) already.
    assert before.dtype == torch.float64, f"the pipeline now makes {before.dtype} labels: the cast is no longer a no-op"
    assert any_matches(incident_record.symptom.signatures, observe.error), observe.error


@pytest.mark.incident(ID, "fix")
@pytest.mark.parametrize("device", DEVICES)
def test_fix_cast_to_float32(device: str, generator: Generator, observe: Observation) -> None:
    label = first_batch_labels().to(torch.float32).to(device)  # the fix: .to(torch.float32) before .cuda()
    record_printed(observe, label, generator)

    with observe.catching():
        images = generator(latent_codes(device), label)

    assert observe.error is None, observe.error
    observe.value("image_shape", list(images.shape))
    assert images.shape[0] == TRAIN_BATCH_SIZE
    assert bool(torch.isfinite(images).all())
