"""A regression file that is not valid Python."""

import pytest

ID = "regression-invalid-python"


@pytest.mark.incident(ID, "symptom")
def test_symptom(observe):
    pass


@pytest.mark.incident(ID, "attempt:lower-learning-rate")
def test_attempt_lower_learning_rate(observe):
    pass


@pytest.mark.incident(ID, "fix")
def test_fix(observe)
    pass
