"""The run's report: every incident case's outcome, observation and duration, summarised and written as JSON.

`--incidentkb-report=PATH` writes it (the matrix runner reads it into the cell's results file); the terminal
summary lists every case with its outcome either way. Under pytest-xdist only the controller writes: it
receives every worker's reports.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from incidentkb.plugin.wording import short
from incidentkb.verdict.outcomes import Outcome

__all__ = ["REPORT_SCHEMA", "CaseLog"]

#: Version of the report's layout; bumped when a reader would misread an older one.
REPORT_SCHEMA = 1


def pytest_configure(config: pytest.Config) -> None:
    report = config.getoption("incidentkb_report", None)
    if report and not hasattr(config, "workerinput"):
        _refuse_foreign_file(Path(report))
    config.pluginmanager.register(CaseLog(report_path=Path(report) if report else None), "incidentkb-run")


def _refuse_foreign_file(path: Path) -> None:
    """A report may replace an earlier report, never some other file the user happens to have at that path."""
    if not path.exists():
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        ours = isinstance(data, dict) and "schema" in data and "cases" in data
    except (OSError, ValueError):
        ours = False
    if not ours:
        raise pytest.UsageError(
            f"--incidentkb-report {path}: the file exists and is not an incidentkb report; "
            "choose another path or remove it yourself"
        )


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(eq=False)  # a registered plugin must be hashable: pytest 9.0 keeps plugins in a set
class CaseLog:
    """What one pytest run gathers of its incident cases, registered as a plugin for the reporting hooks."""

    report_path: Path | None
    started: str = ""
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)

    def pytest_sessionstart(self) -> None:
        self.started = _now()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "incidentkb", None)
        if data is not None:
            self.add(report, data)
        elif report.failed and report.nodeid in self.cases:
            # pytest-xdist's report of a worker that died in the case ("worker 'gw0' crashed while running ..."),
            # made on the controller without the case's markers: its earlier phases said which case it is.
            case = self.cases[report.nodeid]
            self.add(report, {"incident": case["incident"], "role": case["role"], "observation": None,
                              "outcome": Outcome.crashed.value, "detail": short(str(report.longrepr))})

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.report_path is not None and not hasattr(session.config, "workerinput"):
            self.write(self.report_path)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.cases:
            return
        write = terminalreporter.write_line
        terminalreporter.section("incidentkb")
        width = max(len(case["outcome"] or "?") for case in self.cases.values())
        role_width = max(len(case["role"]) for case in self.cases.values())
        drift = 0
        for case in self.cases.values():
            outcome = Outcome(case["outcome"]) if case["outcome"] else None
            flag = ""
            if outcome is not None and outcome.is_drift:
                flag, drift = "  (drift)", drift + 1
            elif outcome is not None and outcome.fails_run:
                flag = "  (fails the run)"
            write(f"{case['outcome'] or '?':<{width}}  {case['role']:<{role_width}}  {case['nodeid']}{flag}")
        if drift:
            write(f"{drift} case(s) drifted from their record; --incidentkb-strict makes drift fail the run")
        if self.report_path is not None:
            write(f"report: {self.report_path}")

    def add(self, report: pytest.TestReport, data: dict[str, Any]) -> None:
        """Fold one phase's report into its case: the first deciding phase wins, but a failing teardown crashes."""
        case = self.cases.setdefault(
            report.nodeid,
            {"nodeid": report.nodeid, "incident": data["incident"], "role": data["role"], "outcome": None,
             "observation": None, "duration_s": 0.0, "detail": None},
        )
        case["duration_s"] = round(case["duration_s"] + report.duration, 3)
        if data["observation"] is not None:
            case["observation"] = data["observation"]
        outcome = data["outcome"]
        if outcome is None:
            return
        current = Outcome(case["outcome"]) if case["outcome"] else None
        if current is None or (not current.fails_run and Outcome(outcome).fails_run):
            case["outcome"], case["detail"] = outcome, data["detail"]

    def write(self, path: Path) -> None:
        from incidentkb.host import probe

        empty = {"error": None, "values": {}, "notes": []}
        cases = [dict(case, outcome=case["outcome"] or Outcome.not_run.value,
                      observation=case["observation"] or empty) for case in self.cases.values()]
        report = {
            "schema": REPORT_SCHEMA,
            "started": self.started,
            "finished": _now(),
            "environment": probe.environment(),
            "hardware": probe.hardware(),
            "cases": cases,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed, so a reader never sees half a report.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2, ensure_ascii=False)
            out.write("\n")
        os.replace(tmp, path)
