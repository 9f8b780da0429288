"""A case marked for the record that the record does not list."""

import pytest

ID = "marked-case-not-listed"


@pytest.mark.incident(ID, "symptom")
def test_symptom(observe):
    pass


@pytest.mark.incident(ID, "attempt:lower-learning-rate")
def test_attempt_lower_learning_rate(observe):
    pass


@pytest.mark.incident(ID, "fix")
def test_fix(observe):
    pass


@pytest.mark.incident(ID, "fix")
def test_fix_with_bf16(observe):
    pass
