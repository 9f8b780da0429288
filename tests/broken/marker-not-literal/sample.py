"""A marker whose arguments cannot be read without importing."""

import pytest

ID = "marker-not-literal"


@pytest.mark.incident(ID, "symptom")
def test_symptom(observe):
    pass


@pytest.mark.incident(ID, "attempt:lower-learning-rate")
def test_attempt_lower_learning_rate(observe):
    pass


@pytest.mark.incident(ID, ROLES["fix"])
def test_fix(observe):
    pass
