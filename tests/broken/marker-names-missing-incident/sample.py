"""A marked case for an incident that has no record."""

import pytest

ID = "marker-names-missing-incident"


@pytest.mark.incident(ID, "symptom")
def test_symptom(observe):
    pass


@pytest.mark.incident(ID, "attempt:lower-learning-rate")
def test_attempt_lower_learning_rate(observe):
    pass


@pytest.mark.incident(ID, "fix")
def test_fix(observe):
    pass


@pytest.mark.incident("2025-01-15-no-such-incident", "symptom")
def test_symptom_elsewhere(observe):
    pass
