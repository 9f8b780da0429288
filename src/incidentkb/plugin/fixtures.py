"""The fixtures a regression case uses: `observe` (what the case saw) and `incident_record` (its record)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from incidentkb.plugin.markers import incident_of

if TYPE_CHECKING:
    from incidentkb.plugin.observation import Observation
    from incidentkb.records.schema import Incident

__all__ = ["OBSERVATION", "observe", "incident_record"]

#: Where a case's Observation is kept on its item, for the outcome and the report.
OBSERVATION = pytest.StashKey["Observation"]()
_INCIDENTS = pytest.StashKey[dict[str, "Incident"]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_INCIDENTS] = {}  # each record read once per run


@pytest.fixture
def observe(request: pytest.FixtureRequest) -> Observation:
    """The case's Observation: `with observe.catching(): ...`, `observe.value(name, x)`, `observe.note(text)`."""
    from incidentkb.plugin.observation import Observation

    observation = Observation()
    request.node.stash[OBSERVATION] = observation
    return observation


@pytest.fixture
def incident_record(request: pytest.FixtureRequest) -> Incident:
    """The Incident that the case's `incident` marker names, read from the incidents folder."""
    marker = incident_of(request.node)
    if marker is None:
        pytest.fail(
            f"{request.node.nodeid}: the incident_record fixture needs @pytest.mark.incident('<id>', '<role>')",
            pytrace=False,
        )
    loaded = request.config.stash[_INCIDENTS]
    if marker[0] not in loaded:
        folder = request.config.rootpath / request.config.getini("incidentkb_incidents")
        loaded[marker[0]] = _load_incident(folder, marker[0])
    return loaded[marker[0]]


def _load_incident(folder: Path, incident_id: str) -> Incident:
    from incidentkb.records.reader import RecordError, load_record

    path = folder / f"{incident_id}.yaml"
    if not path.is_file():
        pytest.fail(f"{path}: no such incident record (named by @pytest.mark.incident)", pytrace=False)
    try:
        return load_record(path)
    except RecordError as exc:
        problems = [str(p) for p in exc.problems]
    more = f" (and {len(problems) - 3} more; run `incidentkb check`)" if len(problems) > 3 else ""
    # Failed outside the except block, so the message is not buried under the exception it replaces.
    pytest.fail("not a valid incident record: " + "; ".join(problems[:3]) + more, pytrace=False)
