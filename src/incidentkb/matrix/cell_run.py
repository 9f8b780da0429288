"""One run of one matrix cell, from its environment to its results file; what a `regressions(...)` nox session does.

Kept out of the noxfile so the session stays a few lines and this can be read (and changed) as ordinary code.
The caller passes `run`, which runs an installer command and raises on failure (nox's `session.run`), and `log`.
Time is measured per step (environment, probe, pytest) and written into the results file, so the overhead of a
cold and of a warm run can be read from the results themselves.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incidentkb.matrix import envs, pytest_process, resolve, results_files
from incidentkb.matrix.axes import Cell, Matrix
from incidentkb.matrix.hosts import HostFacts, visible_devices
from incidentkb.matrix.planning import Assignment

__all__ = ["find_uv", "prepare", "cell_environ", "run_cell"]


def find_uv() -> str | None:
    """uv's executable: the `uv` package beside nox, else `uv` on PATH; None selects venv + pip."""
    if os.environ.get("INCIDENTKB_BACKEND", "").lower() == "pip":
        return None
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except Exception:  # noqa: BLE001 - no uv package: look on PATH
        return shutil.which("uv")


def prepare(spec: envs.EnvSpec, venv: Path, uv: str | None, run: Callable[[list[str]], Any], log: Callable[[str], None]) -> bool:
    """Build the environment unless it is current; True when it was reused as it was."""
    if envs.is_current(spec, venv):
        log(f"reusing {venv} (built from the same spec)")
        return True
    for command in envs.create_commands(spec, venv):
        run([uv if c == "uv" and uv else c for c in command])
    commands, files = envs.install_commands(spec, venv)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    for command in commands:
        run([uv if c == "uv" and uv else c for c in command])
    envs.mark_current(spec, venv)
    return False


def cell_environ(cell: Cell, venv: Path, bytecode: str = "lazy") -> dict[str, str]:
    """The process environment of the cell's pytest: its GPUs, its venv first on PATH, nothing else on the path.

    With `lazy` bytecode (envs.BYTECODE_MODES) the cases' imports write their .pyc, whatever the caller's shell says.
    """
    env = dict(os.environ)
    env["CUDA_VISIBLE_DEVICES"] = visible_devices(cell.gpus, os.environ.get("CUDA_VISIBLE_DEVICES"))
    env["INCIDENTKB_CELL"] = str(cell)
    if bytecode == "lazy":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPATH", None)  # only the cell's environment may supply packages
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{envs.python_in(venv).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@dataclass
class _Attempt:
    """What one run of a cell gathered on its way, step by step, for its results file."""

    spec: envs.EnvSpec
    venv: Path
    env: dict[str, str]
    facts: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] | None = None
    pytest_run: pytest_process.PytestRun | None = None
    failure: str | None = None
    reused: bool = False
    bytecode: str = "lazy"
    env_seconds: float = 0.0
    probe_seconds: float = 0.0


def _build(attempt: _Attempt, uv: str | None, run: Callable[[list[str]], Any], log: Callable[[str], None]) -> None:
    t0 = time.monotonic()
    try:
        attempt.reused = prepare(attempt.spec, attempt.venv, uv, run, log)
    except Exception as exc:  # noqa: BLE001 - an install that fails is this cell's result, not the end of the matrix
        attempt.failure = f"the environment could not be built: {exc}"
    attempt.env_seconds = round(time.monotonic() - t0, 1)


def _probe(attempt: _Attempt, root: Path, *, hardware: bool = False) -> None:
    t1 = time.monotonic()
    attempt.facts.update(pytest_process.probe_environment(
        envs.python_in(attempt.venv), env=attempt.env, cwd=root, hardware=hardware))
    if not hardware:
        attempt.probe_seconds = round(time.monotonic() - t1, 1)


def _run_pytest(attempt: _Attempt, matrix: Matrix, cell: Cell, files: Sequence[str], root: Path,
                log: Callable[[str], None], posargs: Sequence[str], strict: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="incidentkb-") as tmp:
        report_path = Path(tmp, "report.json")
        command = pytest_process.pytest_command(
            envs.python_in(attempt.venv), files, report=report_path, case_timeout_s=matrix.case_timeout_s,
            workers=matrix.gpu_setting(cell).workers, strict=strict, posargs=posargs,
        )
        log(f"{cell}: {' '.join(command)}")
        attempt.pytest_run = pytest_process.run_pytest(command, env=attempt.env, cwd=root, timeout_s=matrix.cell_timeout_s)
        if report_path.exists():
            attempt.report = json.loads(report_path.read_text(encoding="utf-8"))


def run_cell(
    matrix: Matrix,
    cell: Cell,
    assignment: Assignment,
    *,
    host: HostFacts,
    root: Path,
    run: Callable[[list[str]], Any],
    log: Callable[[str], None],
    posargs: Sequence[str] = (),
    strict: bool = False,
    candidate: Mapping[str, Any] | None = None,
) -> results_files.CellResult:
    """Build (or reuse) the cell's environment, run its assigned regressions, write and return its results.

    A cell that leaves versions open (`latest`, a candidate) has them chosen first (`resolve.resolve`), which
    raises `resolve.ResolveError` (one line) when it cannot; nothing is written then. `candidate`: what the user
    asked for (pins, their source, what was ignored), recorded in the results file as it is.
    """
    started = results_files.now()
    uv = find_uv()
    option = matrix.torch_option(cell)
    interpreter = host.host_python if option.is_host else os.environ.get("INCIDENTKB_PYTHON", sys.executable)
    resolution = None
    if resolve.needs_resolution(matrix, cell):
        excludes = envs.host_has(option.host_provides, host.host_site) if option.is_host else ()
        resolution = resolve.resolve(matrix, cell, uv=uv, python=interpreter, excludes=excludes,
                                     offline=bool(host.wheelhouse), wheelhouse=host.wheelhouse)
        frozen_in = f", frozen in {resolution.wheelhouse['folder']}" if resolution.wheelhouse else ""
        log(f"{cell}: resolved {', '.join(f'{n} {v}' for n, v in resolution.chosen.items())} ({resolution.date}{frozen_in})")
        matrix = matrix.pinned(cell, resolve.pins_of(resolution.chosen))
    bytecode = envs.bytecode_mode(os.environ.get("INCIDENTKB_BYTECODE"))
    spec = envs.spec_for(
        matrix, cell, backend="uv" if uv else "pip", interpreter=interpreter, project=root,
        wheelhouse=host.wheelhouse, host_torch=host.host_torch, host_site=host.host_site, bytecode=bytecode,
    )
    venv = envs.env_dir(root, spec)
    attempt = _Attempt(spec, venv, cell_environ(cell, venv, bytecode), bytecode=bytecode)
    _build(attempt, uv, run, log)
    if attempt.failure is None:
        _probe(attempt, root)
        if assignment.run:
            _run_pytest(attempt, matrix, cell, assignment.files, root, log, posargs, strict)
        if attempt.report is None:  # pytest did not say what it ran on: ask the environment itself
            _probe(attempt, root, hardware=True)
    if attempt.report is not None:
        attempt.facts.setdefault("environment", attempt.report.get("environment"))
        attempt.facts.setdefault("hardware", attempt.report.get("hardware"))
    data = _results_data(cell, assignment, attempt, host, started=started, host_torch=option.is_host, strict=strict)
    data["resolved"] = None if resolution is None else resolution.as_dict()
    if candidate is not None:
        data["candidate"] = dict(candidate)
    path = results_files.write(data, results_files.results_dir(root))
    log(f"{cell}: results in {path}")
    return results_files.CellResult.from_dict(data, path)


def _results_data(cell: Cell, assignment: Assignment, attempt: _Attempt, host: HostFacts, *, started: str,
                  host_torch: bool, strict: bool) -> dict[str, Any]:
    """The results file's content, in the layout `results_files.SCHEMA` names."""
    facts, spec, pytest_run, report = attempt.facts, attempt.spec, attempt.pytest_run, attempt.report
    return {
        "schema": results_files.SCHEMA,
        "cell": str(cell),
        "axes": cell.as_dict(),
        "started": started,
        "finished": results_files.now(),
        "python": facts.get("python"),
        "versions": facts.get("environment"),
        "packages": facts.get("packages"),
        # `hardware` as the cell's pytest saw it (CUDA_VISIBLE_DEVICES applied), and the host's own GPUs
        "host": {**(facts.get("hardware") or {}), "host_gpus": list(host.gpu_names), "host_gpu_count": host.gpu_count},
        "environment": {
            "name": spec.name, "backend": spec.backend, "reused": attempt.reused, "seconds": attempt.env_seconds,
            "probe_seconds": attempt.probe_seconds, "offline": spec.no_index, "host_site": list(spec.host_site),
            "bytecode": attempt.bytecode,
            "host_torch": host.host_torch if host_torch else None,
        },
        "pytest": None if pytest_run is None else {
            "argv": list(pytest_run.command[1:]), "exit_code": pytest_run.exit_code, "seconds": pytest_run.seconds,
            "timed_out": pytest_run.timed_out, "strict": strict,
        },
        "incidents": {
            "ran": [t.incident for t in assignment.run],
            "covered_by": {incident: str(by) for incident, by in assignment.covered.items()},
        },
        "cases": pytest_process.cases_for(assignment.run, report, pytest_run, failure=attempt.failure),
        # the plugin's report, whose `cases` are the `cases` above
        "report": None if report is None else {k: v for k, v in report.items() if k != "cases"},
    }
