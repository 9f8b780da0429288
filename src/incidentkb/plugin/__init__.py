"""The pytest plugin: case roles, host needs, observations, outcomes and the run's JSON report.

Loaded as the pytest11 entry point `incidentkb` in every pytest run where incidentkb is installed, so it stays
inert: it registers its markers, options and fixtures, imports nothing heavy (no torch, no pydantic) at load time,
and does nothing to a test without an `incident` or `needs` marker. As in pytest's own `_pytest/`, each concern is
a plugin module of its own, registered through `pytest_plugins` below:

- `markers`: the `incident` and `needs` markers and the command-line options;
- `skipping`: skips a case whose `needs` the host does not meet (`needs` holds the pure rule);
- `fixtures`: `observe` (an `observation.Observation`) and `incident_record`;
- `wording`: turns a case's pytest result into its outcome word (`incidentkb.verdict` decides);
- `report`: gathers the cases, prints the summary and writes `--incidentkb-report`;
- `scheduling`: keeps a case that killed its pytest-xdist worker from killing the next;
- `known` (its own entry point, off unless asked): annotates failing tests with the incidents they match.

May import: `incidentkb.verdict`, `incidentkb.match`, `incidentkb.records`, `incidentkb.host`. Nothing imports it
but pytest (and `incidentkb.matrix` reads the report it writes, as data).
"""

pytest_plugins = [
    "incidentkb.plugin.markers",
    "incidentkb.plugin.skipping",
    "incidentkb.plugin.fixtures",
    "incidentkb.plugin.wording",
    "incidentkb.plugin.report",
    "incidentkb.plugin.scheduling",
]
