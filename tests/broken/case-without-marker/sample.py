"""A listed case without its incident marker."""

import pytest

ID = "case-without-marker"


@pytest.mark.incident(ID, "symptom")
def test_symptom(observe):
    pass


@pytest.mark.incident(ID, "attempt:lower-learning-rate")
def test_attempt_lower_learning_rate(observe):
    pass


def test_fix(observe):
    pass
