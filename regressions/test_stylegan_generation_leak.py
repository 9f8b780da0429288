"""Regression of 2025-04-15-stylegan-test-image-memory-leak: image tests without `no_grad` keep every graph.

The generator is in train mode with a trainable mapping network, and its forward updates the `w_avg` buffer by
an in-place `copy_` (no `detach()`), as the original did. Training steps alternate with the image test (7 label
sets x batch 10, images reassigned and dropped), and the memory in use is measured exactly (CUDA allocator bytes,
or glibc's in-use bytes on CPU) after each test. The symptom: each test call leaves memory behind, more than the
record's `symptom.measured` threshold per generator call; the fix: under `torch.no_grad()` the tests leave nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from stylegan import Generator, generate_test_images, image_test_labels, train_step
from stylegan.memory import collector_sees_only_new_objects, meter_for
from stylegan.training import TEST_LABEL_SETS

from incidentkb.plugin.observation import Observation
from incidentkb.records.schema import Incident, Measured

ID = "2025-04-15-stylegan-test-image-memory-leak"
DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param("cuda", id="cuda", marks=pytest.mark.needs(gpus=1)),
]
#: Rounds of (training step, image test); the first warms up the allocator and the optimizer's state.
ROUNDS = 4
# The growth per call that counts as a leak is the record's: symptom.measured.threshold (with why it is chosen).

pytestmark = pytest.mark.usefixtures("single_cpu_thread")


@dataclass(frozen=True)
class Growth:
    """Bytes of memory left behind in each measured round, by the image test and by the training step."""

    method: str
    by_test: list[int]
    by_training_step: list[int]

    @property
    def calls(self) -> int:
        return len(self.by_test) * TEST_LABEL_SETS

    @property
    def per_call(self) -> float:
        return sum(self.by_test) / self.calls


def measure_growth(device: str, *, no_grad: bool) -> tuple[Growth, Generator]:
    """Alternate training steps and image tests as the fine-tuning loop did, measuring around each test."""
    generator = Generator().to(device).train()
    optimizer = torch.optim.Adam(generator.parameters(), lr=1e-4)
    train_z, train_labels = torch.randn(16, 512, device=device), torch.randn(16, 5, device=device)
    test_z, test_labels = torch.randn(10, 512, device=device), image_test_labels(torch.device(device))
    meter = meter_for(torch.device(device))
    readings: list[tuple[int, int]] = []  # (before the test, after it), per round
    with collector_sees_only_new_objects():
        for _ in range(ROUNDS):
            train_step(generator, optimizer, train_z, train_labels)
            before_test = meter()
            generate_test_images(generator, test_z, test_labels, no_grad=no_grad)
            readings.append((before_test, meter()))
    measured = range(1, ROUNDS)  # round 0 warms up
    by_test = [readings[r][1] - readings[r][0] for r in measured]
    by_step = [readings[r][0] - readings[r - 1][1] for r in measured]
    return Growth(meter.method, by_test, by_step), generator


def w_avg_updates_chained(generator: Generator) -> int:
    """How many in-place updates of `w_avg` its autograd history still reaches (0: a plain buffer)."""
    seen, stack, updates = set(), [generator.truncation.w_avg.grad_fn], 0
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        updates += type(node).__name__.startswith("CopyBackwards")
        stack.extend(next_node for next_node, _ in node.next_functions)
    return updates


def record(observe: Observation, leak: Measured, growth: Growth, generator: Generator) -> bool:
    """Record the measurements; True when the growth per call shows the symptom (the record's threshold)."""
    observe.value("memory_measure", growth.method)
    observe.value("test_calls_measured", growth.calls)
    shows_leak = observe.measured(leak, round(growth.per_call))  # recorded as growth_per_call_bytes
    observe.value("growth_per_call_mb", round(growth.per_call / 1e6, 3))
    observe.value("growth_by_test_bytes", growth.by_test)
    observe.value("growth_by_training_step_bytes", growth.by_training_step)
    observe.value("leak_floor_bytes", int(leak.threshold))
    observe.value("mapping_parameter_bytes", sum(p.numel() * p.element_size() for p in generator.mapping.parameters()))
    observe.value("w_avg_requires_grad", generator.truncation.w_avg.requires_grad)
    observe.value("w_avg_updates_chained", w_avg_updates_chained(generator))
    return shows_leak


def leak_of(observe: Observation, incident_record: Incident) -> Measured:
    """The record's threshold of the leak; a record without one is the harness's fault, not the leak's absence."""
    leak = incident_record.symptom.measured
    observe.require(leak is not None, "the record's symptom.measured (the leak's threshold) is missing")
    assert leak is not None  # for the type checker: `require` raised otherwise
    return leak


@pytest.mark.incident(ID, "symptom")
@pytest.mark.parametrize("device", DEVICES)
def test_symptom_memory_grows_without_no_grad(device: str, observe: Observation, incident_record: Incident) -> None:
    leak = leak_of(observe, incident_record)
    growth, generator = measure_growth(device, no_grad=False)
    shows_leak = record(observe, leak, growth, generator)

    per_test_floor = leak.threshold * TEST_LABEL_SETS
    assert all(grown > per_test_floor for grown in growth.by_test), growth.by_test
    assert shows_leak, growth.per_call


@pytest.mark.incident(ID, "fix")
@pytest.mark.parametrize("device", DEVICES)
def test_fix_no_grad_keeps_memory_flat(device: str, observe: Observation, incident_record: Incident) -> None:
    leak = leak_of(observe, incident_record)
    growth, generator = measure_growth(device, no_grad=True)
    shows_leak = record(observe, leak, growth, generator)
    if any(growth.by_training_step):
        observe.note(
            "Training steps still grow memory a little: their w_avg update (no detach) chains each step's autograd "
            "nodes to the buffer; backward frees the saved tensors but the nodes stay. The fix does not touch this."
        )

    assert not shows_leak and abs(growth.per_call) < leak.threshold, growth.by_test
