"""A regression stub whose placeholder was not replaced."""

import pytest

ID = "regression-placeholder"


@pytest.mark.incident(ID, "symptom")
def test_symptom(observe):
    pass


@pytest.mark.incident(ID, "attempt:lower-learning-rate")
def test_attempt_lower_learning_rate(observe):
    pass


@pytest.mark.incident(ID, "fix")
def test_fix(observe):
    pytest.fail("TODO: put the fixed code here")
