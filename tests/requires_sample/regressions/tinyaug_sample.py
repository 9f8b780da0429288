"""The sample regression that requires a package beyond the stacks (`tinyaug`, built by the tests)."""

from __future__ import annotations

import pytest

ID = "2026-01-10-tinyaug-drops-the-last-value"


@pytest.mark.incident(ID, "symptom")
def test_symptom_scale_drops_a_value(observe, incident_record):
    import tinyaug

    observe.value("tinyaug", tinyaug.VERSION)
    lost = 10 - len(tinyaug.scale(list(range(10)), 2))
    assert observe.measured(incident_record.symptom.measured, lost), lost


@pytest.mark.incident(ID, "fix")
def test_fix_scale_by_hand(observe):
    import tinyaug

    observe.value("tinyaug", tinyaug.VERSION)
    assert len([value * 2 for value in range(10)]) == 10
