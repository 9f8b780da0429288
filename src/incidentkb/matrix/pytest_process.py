"""pytest in a subprocess for one cell: its command line, its run under a time limit, and what it leaves.

pytest runs in its own process group under a wall-clock limit, so a case that hangs where pytest-timeout cannot
reach it, or a crash of the whole interpreter, costs that cell only: its cases are reported 'timed out' or
'crashed' with the tail of pytest's output, and the other cells run on. Every cell of regressions/matrix.toml
runs its cases in pytest-xdist workers (the GPU cells in one), so a case that kills its worker (a segfault in a
CUDA kernel) costs that case only: xdist starts a new worker for the rest.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incidentkb.matrix.planning import Target
from incidentkb.verdict import env_fault
from incidentkb.verdict.outcomes import Observed, decide, parse_role

__all__ = [
    "PytestRun",
    "pytest_command",
    "run_pytest",
    "cases_for",
    "probe_environment",
]


def pytest_command(
    python: Path | str,
    files: Sequence[str],
    *,
    report: Path,
    case_timeout_s: int,
    workers: str,
    strict: bool,
    posargs: Sequence[str] = (),
) -> list[str]:
    """The pytest command line of one cell; the user's own arguments come last so they can override ours."""
    command = [str(python), "-m", "pytest", *files, f"--incidentkb-report={report}", f"--timeout={case_timeout_s}"]
    command += ["-p", "no:cacheprovider", "-q", "-rA"]
    if workers not in ("", "0"):
        command += ["-n", workers, "--dist", "loadfile"]
    if strict:
        command.append("--incidentkb-strict")
    return command + list(posargs)


class PytestUsageError(ValueError):
    """pytest refused the arguments passed through to it (exit status 4, no report): one line, and no results
    file, since no case ran and a typo is not a result."""


def usage_error(run: PytestRun, report: Mapping[str, Any] | None) -> PytestUsageError | None:
    """The one-line error of a pytest that refused its arguments (`pytest: error: ...`), or None."""
    if run.exit_code != 4 or report is not None:
        return None
    lines = [line.strip() for line in run.output_tail.splitlines() if "error:" in line]
    said = lines[-1].split("error:", 1)[1].strip() if lines else "it refused the arguments"
    return PytestUsageError(f"pytest: {said} (arguments after `--` go to pytest; nox -s regressions -- --help)")


@dataclass(frozen=True)
class PytestRun:
    """How the pytest process of a cell ended."""

    command: tuple[str, ...]
    exit_code: int | None
    """None when the process was killed at the cell's time limit."""
    seconds: float
    output_tail: str

    @property
    def timed_out(self) -> bool:
        return self.exit_code is None

    @property
    def crashed(self) -> bool:
        """pytest itself did not finish normally (exit codes 0-5 are its own verdicts)."""
        return self.exit_code is not None and not 0 <= self.exit_code <= 5


def run_pytest(command: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout_s: float, tail_lines: int = 60) -> PytestRun:
    """Run pytest, echoing its output as it comes, and stop its whole process group at the time limit."""
    start = time.monotonic()
    tail: deque[str] = deque(maxlen=tail_lines)
    proc = subprocess.Popen(
        list(command), cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, errors="replace", start_new_session=True,
    )
    timed_out = False

    def _kill() -> None:
        nonlocal timed_out
        timed_out = True
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=20)
                return
            except subprocess.TimeoutExpired:
                continue

    import threading

    timer = threading.Timer(timeout_s, _kill)
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            tail.append(line.rstrip("\n"))
        proc.wait()
    finally:
        timer.cancel()
    code = None if timed_out else proc.returncode
    return PytestRun(tuple(command), code, round(time.monotonic() - start, 1), "\n".join(tail))


def cases_for(targets: Iterable[Target], report: Mapping[str, Any] | None, run: PytestRun | None, *, failure: str | None = None) -> list[dict[str, Any]]:
    """The per-case entries of a cell: the report's own, or, when pytest never wrote one, one per expected case.

    `failure` names a failure before pytest (e.g. the environment could not be installed).
    """
    if report is not None and not failure:
        return [dict(case) for case in report.get("cases", [])] + _not_collected(targets, report, run)
    if failure is None and run is not None and run.timed_out:
        seen, detail = Observed.timed_out, f"the cell's pytest passed its time limit and was killed\n{run.output_tail}"
    elif failure is not None:  # nothing of the bug was tried: the cell's environment is at fault
        seen, detail = Observed.env_fault, f"{env_fault.PREFIX}{failure}"
    else:
        code = None if run is None else run.exit_code
        seen = Observed.crashed
        detail = f"pytest ended with exit code {code} and wrote no report\n{run.output_tail if run else ''}"
    return [
        {
            "nodeid": f"{target.path}::{name}", "incident": target.incident, "role": role,
            "outcome": decide(parse_role(role)[0], seen).value, "observation": None, "duration_s": None, "detail": detail[-4000:],
        }
        for target in targets
        for name, role in target.cases
    ]


def _not_collected(targets: Iterable[Target], report: Mapping[str, Any], run: PytestRun | None) -> list[dict[str, Any]]:
    """The expected cases of a file pytest could not collect (an ImportError, a syntax error): crashed, not gone.

    pytest reports no case of such a file, so without this its incident would vanish from a results file whose
    cell says it ran; `-k` deselection, which also leaves cases out, reports no collection error.
    """
    if run is None or run.exit_code in (0, 5, None):
        return []
    seen = {str(case.get("nodeid", "")).split("[", 1)[0] for case in report.get("cases", [])}
    missing = []
    for target in targets:
        said = (f"ERROR collecting {target.path}", f"ERROR {target.path} - ")  # the section, the short summary
        if not any(words in run.output_tail for words in said):
            continue
        detail = f"pytest could not collect {target.path}\n{run.output_tail}"[-4000:]
        fault = env_fault.from_collection(run.output_tail, str(target.path))
        seen_as = Observed.crashed if fault is None else Observed.env_fault
        detail = detail if fault is None else f"{fault.sentence()}\n{detail}"[:4000]
        missing += [
            {"nodeid": f"{target.path}::{name}", "incident": target.incident, "role": role,
             "outcome": decide(parse_role(role)[0], seen_as).value, "observation": None,
             "duration_s": None, "detail": detail}
            for name, role in target.cases if f"{target.path}::{name}" not in seen
        ]
    return missing


_PROBE = """
import importlib.metadata as m, json, platform, sys
packages = {}
for dist in m.distributions():
    name = dist.metadata["Name"]
    if name and name not in packages:
        packages[name] = dist.version
facts = {"python": platform.python_version(), "executable": sys.executable, "packages": dict(sorted(packages.items(), key=lambda kv: kv[0].lower()))}
if "--hardware" in sys.argv:
    try:
        from incidentkb.host import probe
        facts["environment"] = probe.environment()
        facts["hardware"] = probe.hardware()
    except Exception as exc:
        facts["probe_error"] = repr(exc)
print(json.dumps(facts))
"""


def probe_environment(python: Path | str, *, env: Mapping[str, str], cwd: Path, hardware: bool = False) -> dict[str, Any]:
    """Exact versions of everything installed in the cell's environment (read from metadata, a fraction of a
    second), and with `hardware` the host as the environment sees it (imports torch: seconds; needed only when
    pytest wrote no report, whose own `hardware` is otherwise used)."""
    command = [str(python), "-c", _PROBE] + (["--hardware"] if hardware else [])
    try:
        out = subprocess.run(command, capture_output=True, text=True, env=dict(env), cwd=cwd, timeout=300, check=False)
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        return {"probe_error": repr(exc)}
