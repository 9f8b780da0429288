"""The record and the marker give a case different roles."""

import pytest

ID = "case-role-disagrees"


@pytest.mark.incident(ID, "symptom")
def test_symptom(observe):
    pass


@pytest.mark.incident(ID, "attempt:lower-learning-rate")
def test_attempt_lower_learning_rate(observe):
    pass


@pytest.mark.incident(ID, "symptom")
def test_fix(observe):
    pass
