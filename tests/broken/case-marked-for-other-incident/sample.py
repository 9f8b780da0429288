"""A listed case whose marker names another incident."""

import pytest

ID = "case-marked-for-other-incident"


@pytest.mark.incident(ID, "symptom")
def test_symptom(observe):
    pass


@pytest.mark.incident(ID, "attempt:lower-learning-rate")
def test_attempt_lower_learning_rate(observe):
    pass


@pytest.mark.incident("2025-01-15-other-incident", "fix")
def test_fix(observe):
    pass
