"""A listed case whose test function was renamed."""

import pytest

ID = "case-not-defined"


@pytest.mark.incident(ID, "symptom")
def test_symptom(observe):
    pass


@pytest.mark.incident(ID, "attempt:lower-learning-rate")
def test_attempt_lower_learning_rate(observe):
    pass


@pytest.mark.incident(ID, "fix")
def test_fix_float32(observe):
    pass
