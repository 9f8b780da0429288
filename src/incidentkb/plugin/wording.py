"""A case's pytest result worded as its outcome: what the run observed, decided by `incidentkb.verdict`.

passed -> as recorded (reproduces / holds / still fails); AssertionError -> differs (changed or no longer
reproduces / BROKEN / now behaves differently); any other exception -> crashed; pytest-timeout -> timed out;
a failed `observe.require` (a self-check of the harness) -> harness error; an exception raised while importing
the library under test -> environment fault (`incidentkb.verdict.env_fault`); skipped -> not run, or not
applicable when the record's `applies_when` rules the cell out. Drift (a symptom or attempt that differs) is reported, shown as XFAIL with its outcome, and
fails the run only with `--incidentkb-strict`; a broken fix or a crash fails it as any failing test does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from incidentkb.plugin.fixtures import OBSERVATION
from incidentkb.plugin.harness import HarnessError
from incidentkb.plugin.markers import incident_of
from incidentkb.plugin.skipping import NOT_APPLICABLE
from incidentkb.verdict import env_fault
from incidentkb.verdict.outcomes import Observed, Outcome, decide, parse_role

if TYPE_CHECKING:
    from incidentkb.plugin.observation import Observation

__all__ = ["DETAIL_CHARS", "short", "observed"]

DETAIL_CHARS = 600


def short(text: str) -> str:
    """A detail as the report keeps it: at most DETAIL_CHARS characters."""
    text = text.strip()
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 3] + "..."


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")


def observed(
    report: pytest.TestReport, call: pytest.CallInfo[None], observation: Observation | None
) -> tuple[Observed | None, str | None]:
    """What this phase showed (None when it shows nothing: a passing setup or teardown) and a detail."""
    if report.skipped:
        reason = _skip_reason(report)
        return (Observed.not_applicable if reason.startswith(NOT_APPLICABLE) else Observed.skipped), reason
    if report.passed:
        return (Observed.as_recorded, None) if report.when == "call" else (None, None)
    excinfo = call.excinfo
    detail = short(excinfo.exconly()) if excinfo is not None else short(str(report.longrepr))
    if excinfo is not None and excinfo.errisinstance(pytest.fail.Exception) and "from pytest-timeout" in detail:
        return Observed.timed_out, detail
    if excinfo is not None and excinfo.errisinstance(HarnessError):
        return Observed.harness_fault, detail
    if report.when == "call" and excinfo is not None and excinfo.errisinstance(AssertionError):
        raised = observation is not None and observation.error is not None
        return (Observed.differs_with_error if raised else Observed.differs_without_error), detail
    fault = env_fault.from_exception(excinfo.value) if excinfo is not None else None
    if fault is not None:
        return Observed.env_fault, short(fault.sentence(env_fault.installed_of(fault.modules())))
    return Observed.crashed, detail


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    marker = incident_of(item)
    if marker is None:
        return report
    role_text = marker[1]
    role, _ = parse_role(role_text)
    observation = item.stash.get(OBSERVATION, None)
    seen, detail = observed(report, call, observation)
    outcome: Outcome | None = None if seen is None else decide(role, seen)
    if outcome is not None and outcome.is_drift and not item.config.getoption("incidentkb_strict"):
        # Drift is news, not a failure: shown as XFAIL with its outcome, listed in the summary and the report.
        report.outcome = "skipped"
        report.wasxfail = f"incidentkb: {role_text} {outcome.value} (run with --incidentkb-strict to fail)"
    # A plain attribute of JSON data travels from xdist workers to the controller with the report.
    report.incidentkb = {  # type: ignore[attr-defined]
        "incident": marker[0],
        "role": role_text,
        "outcome": outcome.value if outcome is not None else None,
        "observation": observation.to_dict() if observation is not None else None,
        "detail": detail,
    }
    return report
