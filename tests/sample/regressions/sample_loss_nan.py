"""The regression file of the sample record (read by the tests with `ast`, never collected or run)."""

from __future__ import annotations

import pytest

ID = "2025-01-15-sample-loss-nan"


def _overflowing_logits() -> None:
    """A helper: not a case, so it carries no marker."""


@pytest.mark.incident(ID, "symptom")
def test_symptom_nan_loss(observe):
    pass


@pytest.mark.incident(ID, "attempt:lower-learning-rate")
def test_attempt_lower_learning_rate(observe):
    pass


@pytest.mark.incident(incident_id=ID, role="fix")
def test_fix_loss_in_float32(observe):
    pass


class TestAlternatives:
    @pytest.mark.incident("2025-01-15-sample-loss-nan", "fix:bf16")
    def test_fix_bf16(self, observe):
        pass
