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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from incidentkb.host.versions import canonical_name
from incidentkb.matrix import envs, pytest_process, resolve, results_files
from incidentkb.matrix.axes import Cell, Matrix
from incidentkb.matrix.fingerprint import Fingerprint
from incidentkb.matrix.locks import Lock
from incidentkb.matrix.reuse import Source
from incidentkb.matrix.hosts import HostFacts, visible_devices
from incidentkb.matrix.planning import Assignment
from incidentkb.records.schema import requirement_name
from incidentkb.results.runs import Run

__all__ = ["find_uv", "prepare", "cell_environ", "Reuse", "run_cell", "newest_required"]


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
    lock: Lock | None = None
    prints: Mapping[str, Fingerprint | None] = field(default_factory=dict)
    """The fingerprint of every incident the results file holds, run or reused."""
    reused_runs: Mapping[str, Source] = field(default_factory=dict)
    """The stored runs that stand for the incidents this run leaves out (`matrix.reuse`)."""


def _build(attempt: _Attempt, uv: str | None, run: Callable[[list[str]], Any], log: Callable[[str], None]) -> None:
    t0 = time.monotonic()
    try:
        attempt.reused = prepare(attempt.spec, attempt.venv, uv, run, log)
    except Exception as exc:  # noqa: BLE001 - an install that fails is this cell's result, not the end of the matrix
        where = f" from the wheelhouse alone ({', '.join(attempt.spec.find_links)})" if attempt.spec.no_index else ""
        attempt.failure = f"the environment could not be built{where}: {exc}; the installer's output is in the log"
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
    if (refused := pytest_process.usage_error(attempt.pytest_run, attempt.report)) is not None:
        raise refused


@dataclass(frozen=True)
class Reuse:
    """What `matrix.reuse` decided for a cell that still runs some incidents: its lock, every fingerprint, and
    the stored runs that stand for the incidents it does not run (their cases are copied into its results file,
    each incident dated by its own run, so a reader of the cell's newest file sees every verdict)."""

    lock: Lock | None = None
    prints: Mapping[str, Fingerprint | None] = field(default_factory=dict)
    reused: Mapping[str, Source] = field(default_factory=dict)


def _spec(matrix: Matrix, cell: Cell, host: HostFacts, root: Path, uv: str | None, lock: Lock | None,
          log: Callable[[str], None]) -> tuple[Matrix, envs.EnvSpec, resolve.Resolution | None]:
    """The cell's environment spec, once what it leaves open is chosen (from its lock when there is one)."""
    option = matrix.torch_option(cell)
    interpreter = host.host_python if option.is_host else os.environ.get("INCIDENTKB_PYTHON", sys.executable)
    resolution = None
    if resolve.needs_resolution(matrix, cell):
        excludes = envs.host_has(option.host_provides, host.host_site) if option.is_host else ()
        if lock is not None and not host.wheelhouse:  # a wheelhouse's frozen resolution keeps its own date
            resolution = resolve.from_lock(matrix, cell, lock.pins)
        else:
            resolution = resolve.resolve(matrix, cell, uv=uv, python=interpreter, excludes=excludes,
                                         offline=bool(host.wheelhouse), wheelhouse=host.wheelhouse)
        frozen_in = f", frozen in {resolution.wheelhouse['folder']}" if resolution.wheelhouse else ""
        log(f"{cell}: resolved {', '.join(f'{n} {v}' for n, v in resolution.chosen.items())} ({resolution.date}{frozen_in})")
        matrix = matrix.pinned(cell, resolve.pins_of(resolution.chosen))
    spec = envs.spec_for(
        matrix, cell, backend="uv" if uv else "pip", interpreter=interpreter, project=root,
        wheelhouse=host.wheelhouse, host_torch=host.host_torch, host_site=host.host_site,
        bytecode=envs.bytecode_mode(os.environ.get("INCIDENTKB_BYTECODE")),
    )
    if lock is not None:  # the host's own packages stay the host's
        left = {canonical_name(name) for name in spec.excludes}
        spec = replace(spec, lock=tuple(f"{n}=={v}" for n, v in sorted(lock.pins.items()) if n not in left))
    return matrix, spec, resolution


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
    reuse: Reuse | None = None,
) -> Run:
    """Build (or reuse) the cell's environment, run its assigned regressions, write and return its results.

    A cell that leaves versions open (`latest`, a candidate) has them chosen first (from its lock, else
    `resolve.resolve`), which raises `resolve.ResolveError` (one line) when it cannot; nothing is written then,
    nor when pytest refuses the arguments passed through to it (`pytest_process.PytestUsageError`).
    A run with no case in it (pytest's `-k` deselected every one) writes no results file either.
    `candidate`: what the user asked for (pins, their source, what was ignored), recorded in the results file as
    it is. `reuse`: the cell's lock, the fingerprints to record and the stored runs that stand for the rest.
    """
    started = results_files.now()
    uv = find_uv()
    reuse = reuse or Reuse()
    matrix, spec, resolution = _spec(matrix, cell, host, root, uv, reuse.lock, log)
    venv = envs.env_dir(root, spec)
    bytecode = envs.bytecode_mode(os.environ.get("INCIDENTKB_BYTECODE"))
    attempt = _Attempt(spec, venv, cell_environ(cell, venv, bytecode), bytecode=bytecode, lock=reuse.lock,
                       prints=reuse.prints, reused_runs=reuse.reused)
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
    data = _results_data(cell, assignment, attempt, host, started=started,
                         host_torch=matrix.torch_option(cell).is_host, strict=strict)
    data["resolved"] = None if resolution is None else resolution.as_dict()
    if candidate is not None:
        data["candidate"] = dict(candidate)
    if not (unwritten := Run.from_dict(data)).cases:  # pytest deselected every case (`-k`): a file would say nothing
        log(f"{cell}: every case was deselected ({' '.join(posargs)}): no results file written")
        return unwritten
    path = results_files.write(data, results_files.results_dir(root))
    log(f"{cell}: results in {path}")
    return Run.from_dict(data, path)


def _results_data(cell: Cell, assignment: Assignment, attempt: _Attempt, host: HostFacts, *, started: str,
                  host_torch: bool, strict: bool) -> dict[str, Any]:
    """The results file's content, in the layout `results_files.SCHEMA` names."""
    facts, spec, pytest_run, report = attempt.facts, attempt.spec, attempt.pytest_run, attempt.report
    return {
        "schema": results_files.SCHEMA,
        "cell": str(cell),
        "axes": cell.as_dict(),
        # the versions of what the cell's incidents require beyond the stacks, as asked (`any`: the installer's choice)
        "requires": dict(cell.requires),
        "started": started,
        "finished": results_files.now(),
        "python": facts.get("python"),
        "versions": _versions(facts, cell),
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
            "reused": {incident: {"file": s.file, "finished": s.finished} for incident, s in attempt.reused_runs.items()},
        },
        "cases": pytest_process.cases_for(assignment.run, report, pytest_run, failure=attempt.failure)
        + [dict(case) for source in attempt.reused_runs.values() for case in source.cases],
        "lock": None if attempt.lock is None else {"python": attempt.lock.python, "pins": dict(attempt.lock.pins)},
        "fingerprint": {incident: fp.as_dict() for incident, fp in attempt.prints.items() if fp is not None},
        # the plugin's report, whose `cases` are the `cases` above
        "report": None if report is None else {k: v for k, v in report.items() if k != "cases"},
    }


def _versions(facts: Mapping[str, Any], cell: Cell) -> dict[str, Any] | None:
    """The report's library versions, and those of the packages the cell's incidents require, as installed."""
    versions = facts.get("environment")
    if not cell.requires:
        return versions
    installed = {canonical_name(k): v for k, v in (facts.get("packages") or {}).items()}
    return {**(versions or {}), **{name: installed.get(name) for name, _ in cell.requires}}


def newest_required(matrix: Matrix, cell: Cell, requires: Sequence[str], *, host: HostFacts,
                    log: Callable[[str], None]) -> dict[str, str]:
    """The newest versions of `requires` that install with the cell's torch and stack (`uv pip compile`); none
    when no index can be reached (offline: the record's original versions alone are run, and the log says so)."""
    option = matrix.torch_option(cell)
    interpreter = host.host_python if option.is_host else os.environ.get("INCIDENTKB_PYTHON", sys.executable)
    excludes = envs.host_has(option.host_provides, host.host_site) if option.is_host else ()
    try:
        resolution = resolve.resolve(matrix, cell, uv=find_uv(), python=interpreter, excludes=excludes,
                                     offline=bool(host.wheelhouse), wheelhouse=host.wheelhouse,
                                     what=f"the newest {', '.join(requires)}", extra=requires)
    except resolve.ResolveError as exc:
        log(f"{cell}: {exc}; only the versions the records name are run")
        return {}
    names = {requirement_name(text) for text in requires}
    return {name: version.split("+")[0] for name, version in resolution.chosen.items() if name in names}
