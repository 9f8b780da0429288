"""Cases of the first record."""

import pytest

ID = "first-record"


@pytest.mark.incident(ID, "symptom")
def test_symptom(observe):
    pass


@pytest.mark.incident(ID, "attempt:lower-learning-rate")
def test_attempt_lower_learning_rate(observe):
    pass


@pytest.mark.incident(ID, "fix")
def test_fix(observe):
    pass
