"""The pytest side of incidentkb: case roles, host needs, observations, and the run's JSON report.

Loaded as a pytest11 entry point in every pytest run where incidentkb is installed, so it stays inert: it only
registers its markers, options and fixtures, imports nothing heavy (no torch, no pydantic) at load time, and does
nothing to a test without an `incident` or `needs` marker.

A case asserts what its record describes. The plugin turns the pytest result into an outcome worded for the
role: passed -> as recorded (reproduces / holds / still fails); AssertionError -> differs (changed or no longer
reproduces / BROKEN / now behaves differently); any other exception -> crashed; pytest-timeout -> timed out;
skipped -> not run. Drift (a symptom or attempt that differs) is reported, shown as XFAIL with its outcome, and
fails the run only with `--incidentkb-strict`; a broken fix or a crash fails it as any failing test does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from incidentkb.outcomes import Outcome, Role, parse_role

if TYPE_CHECKING:
    from incidentkb.needs import Host
    from incidentkb.observation import Observation
    from incidentkb.schema import Incident

__all__ = ["REPORT_SCHEMA", "observe", "incident_record"]

#: Version of the report's layout; bumped when a reader would misread an older one.
REPORT_SCHEMA = 1

INCIDENT_MARKER = (
    "incident(incident_id, role): this case is the regression of incidents/<incident_id>.yaml in the given role: "
    "'symptom', 'fix', 'fix:<alternative-fix-id>' or 'attempt:<failed-attempt-id>'; its result is reported "
    "as an outcome worded for that role."
)
NEEDS_MARKER = (
    "needs(gpus=0, packages=(), versions=None, cuda=False): skip this case unless the host has `gpus` CUDA GPUs "
    "visible to torch, every package in `packages` installed, each `versions` entry ({name: specifier}) "
    "satisfied and, with cuda=True, a CUDA build of torch; the skip reason lists every unmet condition."
)
REPORT_HELP = "write the incident cases' outcomes, observations, versions and hardware as JSON to PATH."
STRICT_HELP = "fail the run when a symptom or failed attempt no longer behaves as its record says (drift)."
INCIDENTS_HELP = "folder of the incident records, relative to the rootdir (default: incidents)."

_OBSERVATION = pytest.StashKey["Observation"]()
_RUN = pytest.StashKey["_Run"]()
_DETAIL_CHARS = 600


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("incidentkb", "incident regressions")
    group.addoption("--incidentkb-report", metavar="PATH", default=None, help=REPORT_HELP)
    group.addoption("--incidentkb-strict", action="store_true", default=False, help=STRICT_HELP)
    parser.addini("incidentkb_incidents", INCIDENTS_HELP, default="incidents")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", INCIDENT_MARKER)
    config.addinivalue_line("markers", NEEDS_MARKER)
    report = config.getoption("incidentkb_report", None)
    if report and not hasattr(config, "workerinput"):
        _refuse_foreign_file(Path(report))
    run = _Run(report_path=Path(report) if report else None)
    config.stash[_RUN] = run
    config.pluginmanager.register(run, "incidentkb-run")


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


# --- crashes under pytest-xdist -------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """In a run that writes a report, a worker that dies does not take the case it died on to the next worker.

    pytest-xdist 3.8's file/scope schedulers put the case a worker crashed on back in the queue with the rest of
    its file (pytest-xdist PR #1371, open): a case that segfaults kills every replacement worker in turn, until
    `--max-worker-restart` is spent and the rest of the file never runs. Its `load` scheduler drops the case;
    this does the same for `loadfile`, `loadscope` and `loadgroup`, whose crash report then marks it crashed.
    """
    dist = config.getvalue("dist")
    if not config.getoption("incidentkb_report", None) or dist not in ("loadfile", "loadscope", "loadgroup"):
        return None
    from xdist.scheduler import LoadFileScheduling, LoadGroupScheduling, LoadScopeScheduling

    base = {"loadfile": LoadFileScheduling, "loadscope": LoadScopeScheduling, "loadgroup": LoadGroupScheduling}[dist]

    class _DropCrashed(base):  # type: ignore[misc, valid-type]
        def remove_node(self, node: Any) -> str | None:
            crashed = next((nodeid for unit in self.assigned_work.get(node, {}).values()
                            for nodeid, done in unit.items() if not done), None)
            if crashed is None:
                return super().remove_node(node)  # type: ignore[no-any-return]
            for unit in self.assigned_work[node].values():
                if crashed in unit:
                    unit[crashed] = True  # done: the rest of its unit goes back to the queue without it
            super().remove_node(node)
            return crashed

    return _DropCrashed(config, log)


# --- markers -------------------------------------------------------------------------------------------------


def _incident_of(item: pytest.Item) -> tuple[str, str] | None:
    """The (incident id, role) the item's marker names, checked; None for a test that is no incident case."""
    marker = item.get_closest_marker("incident")
    if marker is None:
        return None
    try:
        incident_id, role = _incident_args(*marker.args, **marker.kwargs)
        if not isinstance(incident_id, str) or not isinstance(role, str):
            raise TypeError("incident_id and role are strings")
        parse_role(role)
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.incident{_call_text(marker)} (from marker): {exc}; "
            "write @pytest.mark.incident('<incident-id>', 'symptom'|'fix'|'fix:<id>'|'attempt:<id>')"
        ) from None
    return incident_id, role


def _incident_args(incident_id: str, role: str) -> tuple[str, str]:
    return incident_id, role


def _call_text(marker: pytest.Mark) -> str:
    args = [repr(a) for a in marker.args] + [f"{k}={v!r}" for k, v in marker.kwargs.items()]
    return f"({', '.join(args)})"


def _unmet_needs(item: pytest.Item, run: _Run) -> list[str]:
    from incidentkb.needs import NeedsError, unmet

    missing: list[str] = []
    for marker in item.iter_markers("needs"):
        try:
            if marker.args:
                raise TypeError("needs takes keyword arguments only")
            names = tuple(marker.kwargs.get("packages", ())) + tuple(marker.kwargs.get("versions") or ())
            # Counting GPUs imports torch: done only for a marker that asks about GPUs or CUDA.
            host = run.host(names, gpus=bool(marker.kwargs.get("gpus") or marker.kwargs.get("cuda")))
            found = unmet(host, **marker.kwargs)
        except (TypeError, NeedsError) as exc:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.needs{_call_text(marker)} (from marker): {exc}")
        missing.extend(m for m in found if m not in missing)
    return missing


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = config.stash[_RUN]
    for item in items:
        _incident_of(item)  # a malformed marker stops the run before anything runs
        if item.get_closest_marker("needs") is None:
            continue
        missing = _unmet_needs(item, run)
        if missing:
            from incidentkb.needs import skip_reason

            item.add_marker(pytest.mark.skip(reason=skip_reason(missing)))


# --- fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture
def observe(request: pytest.FixtureRequest) -> Observation:
    """The case's Observation: `with observe.catching(): ...`, `observe.value(name, x)`, `observe.note(text)`."""
    from incidentkb.observation import Observation

    observation = Observation()
    request.node.stash[_OBSERVATION] = observation
    return observation


@pytest.fixture
def incident_record(request: pytest.FixtureRequest) -> Incident:
    """The Incident that the case's `incident` marker names, read from the incidents folder."""
    marker = _incident_of(request.node)
    if marker is None:
        pytest.fail(
            f"{request.node.nodeid}: the incident_record fixture needs @pytest.mark.incident('<id>', '<role>')",
            pytrace=False,
        )
    folder = request.config.rootpath / request.config.getini("incidentkb_incidents")
    return request.config.stash[_RUN].incident(folder, marker[0])


def _load_incident(folder: Path, incident_id: str) -> Incident:
    from incidentkb.records import RecordError, load_record

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


# --- outcomes ------------------------------------------------------------------------------------------------


def _short(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 3] + "..."


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")


def _interpret(
    role: Role, report: pytest.TestReport, call: pytest.CallInfo[None], observation: Observation | None
) -> tuple[Outcome | None, str | None]:
    """The outcome this phase decides (None when it decides nothing: a passing setup or teardown) and a detail."""
    if report.skipped:
        return Outcome.not_run, _skip_reason(report)
    if report.passed:
        return (Outcome.as_recorded(role), None) if report.when == "call" else (None, None)
    excinfo = call.excinfo
    detail = _short(excinfo.exconly()) if excinfo is not None else _short(str(report.longrepr))
    if excinfo is not None and excinfo.errisinstance(pytest.fail.Exception) and "from pytest-timeout" in detail:
        return Outcome.timed_out, detail
    if report.when == "call" and excinfo is not None and excinfo.errisinstance(AssertionError):
        raised = observation is not None and observation.error is not None
        return Outcome.differs(role, raised=raised), detail
    return Outcome.crashed, detail


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    marker = _incident_of(item)
    if marker is None:
        return report
    role_text = marker[1]
    role, _ = parse_role(role_text)
    observation = item.stash.get(_OBSERVATION, None)
    outcome, detail = _interpret(role, report, call, observation)
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


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(eq=False)  # a registered plugin must be hashable: pytest 9.0 keeps plugins in a set
class _Run:
    """What one pytest run gathers: host facts (probed once, on demand), records read, and the cases' results.

    Registered as a plugin for the run's reporting hooks; on xdist workers it only serves fixtures and needs,
    since the controller receives every report and writes the summary and the file.
    """

    report_path: Path | None
    started: str = ""
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    _host: Host | None = None
    _asked: frozenset[str] = frozenset()
    _gpus_probed: bool = False
    _incidents: dict[str, Incident] = field(default_factory=dict)

    def host(self, packages: tuple[str, ...], *, gpus: bool) -> Host:
        """The host's facts, probed again only when a marker asks about more than was probed."""
        from incidentkb.needs import probe

        if self._host is None or not set(packages) <= self._asked or gpus and not self._gpus_probed:
            self._asked = self._asked | set(packages)
            self._gpus_probed = self._gpus_probed or gpus
            self._host = probe(sorted(self._asked), gpus=self._gpus_probed)
        return self._host

    def incident(self, folder: Path, incident_id: str) -> Incident:
        if incident_id not in self._incidents:
            self._incidents[incident_id] = _load_incident(folder, incident_id)
        return self._incidents[incident_id]

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
                              "outcome": Outcome.crashed.value, "detail": _short(str(report.longrepr))})

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
        from incidentkb import hostinfo

        empty = {"error": None, "values": {}, "notes": []}
        cases = [dict(case, outcome=case["outcome"] or Outcome.not_run.value,
                      observation=case["observation"] or empty) for case in self.cases.values()]
        report = {
            "schema": REPORT_SCHEMA,
            "started": self.started,
            "finished": _now(),
            "environment": hostinfo.environment(),
            "hardware": hostinfo.hardware(),
            "cases": cases,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed, so a reader never sees half a report.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2, ensure_ascii=False)
            out.write("\n")
        os.replace(tmp, path)
