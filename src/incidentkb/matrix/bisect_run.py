"""Running a bisection: each step's environment, its pytest runs, its verdicts, and the bisection's results file.

A step holds the rest of a matrix cell as it is (its torch, its stack's other pins, its GPUs), replaces one
package's pin with the candidate, and builds the environment the way a cell's is built (`envs.spec_for`,
`cell_run.prepare`: reused while its spec is unchanged, so a second bisection over the same releases installs
nothing). When the candidate cannot be installed with a pin of the cell (the resolver refuses), the pin that
conflicts is found by dropping the cell's pins one at a time (with uv's resolver, `uv pip compile`), the step
is built without it and says which pin it dropped and which version the resolver chose instead.

Each step runs the chosen cases `runs` times, each in a fresh pytest process (`pytest_process`), with the
plugin's `--incidentkb-any-version <package>` so a case whose `needs` names the versions of its claim runs on
every candidate. Each run's verdicts are judged as a results file's are (`verdict.judge` against today's
record). The search itself is `bisect.Search`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from incidentkb.host.versions import canonical_name
from incidentkb.matrix import cell_run, envs, pytest_process, results_files
from incidentkb.matrix.axes import Cell, Matrix, pinned_version
from incidentkb.matrix.axes import MatrixError
from incidentkb.matrix.bisect import BisectError, Search, candidates, skipped, describe, endpoints_from_results, final_line, step_outcome
from incidentkb.matrix.package_index import releases
from incidentkb.matrix.planning import Target
from incidentkb.matrix.session_args import SessionParser
from incidentkb.results.files import BISECT_DIR, RESULTS_DIR
from incidentkb.results.runs import Case, Versions, latest_per_cell, read_all
from incidentkb.verdict.judge import CellFacts, judge

__all__ = ["Bisection", "StepEnv", "step_spec", "build_step", "run_bisection", "parse_args", "plan", "KIND", "BISECT_DIR"]

#: The `kind` of a bisection's results file; cell results files have none.
KIND = "bisection"
#: Where bisections are written, inside the results folder; the readers of cell results list only the top level.


@dataclass(frozen=True)
class Bisection:
    """What one `nox -s bisect` was asked: the cases, the package, its range and the cell to hold."""

    incident: str
    cases: tuple[tuple[str, str], ...]
    """(test function, role) of each chosen case."""
    path: str
    """The regression file."""
    package: str
    versions: tuple[str, ...]
    """The candidates, from the good end to the bad end (`bisect.candidates`)."""
    cell: Cell
    runs: int = 2
    options: tuple[str, ...] = ()
    """The command-line options that reproduce the cell (`--torch 2.13.0 --stack 4.46.3`), for the final line."""
    target: str = ""
    """`<incident>` or `<incident>::<case>`, as the user wrote it."""
    find_links: tuple[str, ...] = ()
    offline: bool = False
    not_tried: Mapping[str, str] = field(default_factory=dict)
    """Releases between the ends that are no candidates, and why (`yanked`, `pre-release`)."""


@dataclass
class StepEnv:
    """A step's environment: its spec, where it lives, and which of the cell's pins it had to drop."""

    spec: envs.EnvSpec
    venv: Path
    dropped: list[str] = field(default_factory=list)
    reused: bool = False
    seconds: float = 0.0


def step_spec(base: envs.EnvSpec, package: str, version: str, *, drop: Sequence[str] = ()) -> envs.EnvSpec:
    """The cell's spec with `package` pinned to `version` (added when the cell does not pin it), `drop` left out."""
    wanted, dropped = canonical_name(package), {canonical_name(d) for d in drop}
    requirements, replaced = [], False
    for requirement in base.requirements:
        if requirement.startswith("-e"):
            requirements.append(requirement)
            continue
        name, _ = pinned_version(requirement)
        if name == wanted:
            requirements.append(f"{package}=={version}")
            replaced = True
        elif name not in dropped:
            requirements.append(requirement)
    if not replaced:
        requirements.append(f"{package}=={version}")
    suffix = "".join(f"-no-{d}" for d in sorted(dropped))
    return replace(base, name=f"bisect-{base.name}-{wanted}-{version}{suffix}", requirements=tuple(requirements))


def _resolves(spec: envs.EnvSpec, uv: str) -> tuple[bool, str]:
    """Whether uv's resolver can satisfy the spec's requirements together (nothing is installed)."""
    index = ["--no-index"] if spec.no_index else []
    links = [arg for link in spec.find_links for arg in ("--find-links", link)]
    command = [uv, "pip", "compile", "--quiet", "--python", spec.interpreter, *index, *links, "-"]
    out = subprocess.run(command, input="\n".join(spec.requirements) + "\n", capture_output=True, text=True,
                         check=False, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    return out.returncode == 0, " ".join(lines[-3:])


def _conflicting_pin(base: envs.EnvSpec, package: str, version: str, uv: str) -> str:
    """The first of the cell's pins whose removal lets the candidate resolve; BisectError when none does."""
    ok, why = _resolves(step_spec(base, package, version), uv)
    if ok:
        raise BisectError(f"{package} {version}: the install failed although the pins resolve; see the installer's output above")
    for requirement in base.requirements:
        if requirement.startswith("-e"):
            continue
        name, _ = pinned_version(requirement)
        if name in (canonical_name(package), "torch"):
            continue
        if _resolves(step_spec(base, package, version, drop=[name]), uv)[0]:
            return name
    raise BisectError(f"{package} {version} cannot be installed with the cell's pins, nor with any one of them dropped: {why}")


class InstallFailed(BisectError):
    """A step whose environment could not be installed: the step is skipped, naming the pins dropped trying."""

    def __init__(self, message: str, dropped: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.dropped = tuple(dropped)


def build_step(base: envs.EnvSpec, package: str, version: str, root: Path, *,
               run: Callable[[list[str]], Any], log: Callable[[str], None]) -> StepEnv:
    """Build (or reuse) the step's environment, dropping the cell's conflicting pin when there is one."""
    uv = cell_run.find_uv()
    t0 = time.monotonic()
    spec = step_spec(base, package, version)
    step = StepEnv(spec, envs.env_dir(root, spec))
    try:
        step.reused = cell_run.prepare(spec, step.venv, uv, run, log)
    except Exception as exc:  # noqa: BLE001 - an install failure is diagnosed below
        if uv is None:
            raise BisectError(f"{package} {version} cannot be installed with the cell's pins ({exc}); "
                              "install uv to find the conflicting pin") from None
        pin = _conflicting_pin(base, package, version, uv)
        spec = step_spec(base, package, version, drop=[pin])
        step = StepEnv(spec, envs.env_dir(root, spec), dropped=[pin])
        log(f"{package} {version}: the cell's pin of {pin} cannot be installed with it; dropped, the resolver chooses")
        try:
            step.reused = cell_run.prepare(spec, step.venv, uv, run, log)
        except Exception as again:  # noqa: BLE001 - the step is skipped, saying what was tried
            raise InstallFailed(f"{package} {version} did not install even with the cell's {pin} pin dropped "
                                f"({' '.join(str(again).split())[:300]})", dropped=(pin,)) from None
    step.seconds = round(time.monotonic() - t0, 1)
    return step


def _one_run(bisection: Bisection, step: StepEnv, root: Path, matrix: Matrix, records: dict[str, Any],
             log: Callable[[str], None]) -> tuple[dict[str, str], dict[str, Any]]:
    """One pytest run of the chosen cases: their verdicts by case name, and the facts for the results file."""
    env = cell_run.cell_environ(bisection.cell, step.venv)
    nodeids = [f"{bisection.path}::{name}" for name, _ in bisection.cases]
    with tempfile.TemporaryDirectory(prefix="incidentkb-bisect-") as tmp:
        report_path = Path(tmp, "report.json")
        command = pytest_process.pytest_command(
            envs.python_in(step.venv), nodeids, report=report_path, case_timeout_s=matrix.case_timeout_s,
            workers="0", strict=False, posargs=["--incidentkb-any-version", bisection.package],
        )
        pytest_run = pytest_process.run_pytest(command, env=env, cwd=root, timeout_s=matrix.cell_timeout_s)
        report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else None
    target = Target(bisection.incident, bisection.path, (), bisection.cases)
    cases = pytest_process.cases_for([target], report, pytest_run)
    versions = (report or {}).get("environment") or {}
    facts = CellFacts(bisection.cell.gpus, Versions(versions))
    wanted = {name for name, _ in bisection.cases}
    verdicts: dict[str, str] = {}
    details: dict[str, Any] = {}
    for case in cases:
        name = str(case["nodeid"]).rsplit("::", 1)[-1]
        if name.split("[", 1)[0] not in wanted:
            continue
        stored = Case.from_dict(case)
        verdicts[name] = judge(stored, records.get(bisection.incident), facts).outcome.value
        error = stored.error
        details[name] = {"outcome_stored": stored.as_stored.value,
                         "error": error and {"type": error.type, "message": error.message},
                         "detail": (stored.detail or "")[-600:] or None}
    for name, _ in bisection.cases:  # a case pytest did not report (deselected, not collected) is not silently old
        if not any(v.split("[", 1)[0] == name for v in verdicts):
            verdicts[name] = "not run"
    return verdicts, {"seconds": pytest_run.seconds, "exit_code": pytest_run.exit_code, "cases": details,
                      "hardware": (report or {}).get("hardware")}


def run_bisection(bisection: Bisection, matrix: Matrix, base: envs.EnvSpec, root: Path, records: dict[str, Any], *,
                  run: Callable[[list[str]], Any], log: Callable[[str], None]) -> tuple[str, Path]:
    """Search, one step at a time, printing each; returns the final line and the results file written.

    A search that cannot go on (an end of the range says nothing, the ends agree) still writes what it did, the
    steps so far and the pins dropped, before its `BisectError` (which names that file) reaches the user.
    """
    started, t_start = results_files.now(), time.monotonic()
    search = Search(bisection.package, bisection.versions)
    steps: list[dict[str, Any]] = []
    total = len(bisection.versions)
    log(f"bisect {bisection.package}: {total} candidate(s) from {bisection.versions[0]} to {bisection.versions[-1]} "
        f"in {bisection.cell}, {bisection.runs} run(s) a step (at most ~{_expected_steps(total)} steps); it assumes "
        "the outcome changes once between the ends, and checks that against every version it runs")
    try:
        while (index := search.next_index()) is not None:
            _step(bisection, search, index, steps, matrix, base, root, records, run=run, log=log)
        finding = search.finding()
    except BisectError as exc:
        line = f"{bisection.target}: stopped after {len(steps)} step(s): {exc}"
        path = _write(bisection, root, started, t_start, steps, None, line)
        raise BisectError(f"{exc} (the steps so far: {path})") from None
    single = len(bisection.versions) == 1
    line = (f"{bisection.target}: {bisection.package} {finding.last_old}: {describe(finding.old)}" if single
            else final_line(finding, bisection.target, bisection.options, bisection.not_tried))
    dropped = sorted({d["pin"] for s in steps for d in s.get("environment", {}).get("dropped", [])})
    if dropped:
        line += f"; the cell's pin(s) of {', '.join(dropped)} were dropped at some steps (the steps say which)"
    return line, _write(bisection, root, started, t_start, steps, finding.as_dict(), line)


def _step(bisection: Bisection, search: Search, index: int, steps: list[dict[str, Any]], matrix: Matrix,
          base: envs.EnvSpec, root: Path, records: dict[str, Any], *, run: Callable[[list[str]], Any],
          log: Callable[[str], None]) -> None:
    """Build one step's environment and run its cases; a failed install is a skipped step, written down first."""
    version, t0 = bisection.versions[index], time.monotonic()
    try:
        step = build_step(base, bisection.package, version, root, run=run, log=log)
    except BisectError as exc:
        dropped = exc.dropped if isinstance(exc, InstallFailed) else ()
        steps.append({"step": len(steps) + 1, "version": version, "index": index, "side": "skip",
                      "why": f"install failed: {exc}", "outcomes": [], "runs": [],
                      "environment": {"dropped": [{"pin": p, "resolver_chose": None} for p in dropped]},
                      "seconds": round(time.monotonic() - t0, 1), "finished": results_files.now()})
        log(f"step {len(steps)}: {bisection.package} {version} -> skip (install failed: {exc})")
        search.skip(index, f"install failed{' with ' + ', '.join(dropped) + ' dropped' if dropped else ''}")
        return
    environ = cell_run.cell_environ(bisection.cell, step.venv)
    probe = pytest_process.probe_environment(envs.python_in(step.venv), env=environ, cwd=root)
    ran = [_one_run(bisection, step, root, matrix, records, log) for _ in range(bisection.runs)]
    runs = [step_outcome(verdicts) for verdicts, _ in ran]
    side = search.record(index, runs)
    packages = probe.get("packages") or {}
    instead = {pin: _installed(packages, pin) for pin in step.dropped}
    steps.append({
        "step": len(steps) + 1, "version": version, "index": index, "side": side,
        "why": search.skips.get(index), "outcomes": [dict(r) for r in runs],
        "runs": [{k: v for k, v in f.items() if k != "hardware"} for _, f in ran],
        "hardware": next((f.get("hardware") for _, f in ran if f.get("hardware")), None),
        "environment": {"name": step.spec.name, "reused": step.reused, "seconds": step.seconds,
                        "requirements": [r for r in step.spec.requirements if not r.startswith("-e")],
                        "dropped": [{"pin": p, "resolver_chose": v} for p, v in instead.items()],
                        "python": probe.get("python"), "packages": packages},
        "seconds": round(time.monotonic() - t0, 1), "finished": results_files.now(),
    })
    words = " / ".join(describe(r) for r in runs)
    note = "".join(f"; dropped the cell's {p} pin, the resolver chose {v}" for p, v in instead.items())
    log(f"step {len(steps)}: {bisection.package} {version} -> {side} ({words}){note} "
        f"[{steps[-1]['seconds']} s, environment {'reused' if step.reused else f'built in {step.seconds} s'}]")


def _write(bisection: Bisection, root: Path, started: str, t_start: float, steps: list[dict[str, Any]],
           finding: dict[str, Any] | None, line: str) -> Path:
    """The bisection's results file: every step so far, the finding (None: the search stopped) and its line."""
    hardware = next((s.pop("hardware") for s in steps if s.get("hardware")), None)
    for step in steps:
        step.pop("hardware", None)
    data = {
        "schema": results_files.SCHEMA, "kind": KIND, "incident": bisection.incident,
        "cases": [{"name": n, "role": r} for n, r in bisection.cases], "path": bisection.path,
        "package": bisection.package, "cell": str(bisection.cell), "axes": bisection.cell.as_dict(),
        "good": bisection.versions[0], "bad": bisection.versions[-1], "candidates": list(bisection.versions),
        "not_tried": dict(bisection.not_tried), "runs_per_step": bisection.runs, "started": started,
        "finished": results_files.now(), "seconds": round(time.monotonic() - t_start, 1),
        "python": platform.python_version(), "host": {**(hardware or {}), "node": platform.node()}, "steps": steps,
        "finding": {**(finding or {}), "line": line, "stopped": finding is None},
        "command": f"nox -s bisect -- {bisection.target} --package {bisection.package} --good {bisection.versions[0]} "
                   f"--bad {bisection.versions[-1]} {' '.join(bisection.options)}".strip(),
    }
    stamp = dt.datetime.fromisoformat(data["finished"]).astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    return results_files.write_new(results_files.results_dir(root) / BISECT_DIR,
                                   f"{stamp}_{bisection.incident}_{canonical_name(bisection.package)}", text)


def _installed(packages: dict[str, str], name: str) -> str | None:
    return next((v for k, v in packages.items() if canonical_name(k) == canonical_name(name)), None)


def _expected_steps(count: int) -> int:
    """Both ends, then about log2 of what lies between."""
    steps, between = min(count, 2), max(count - 2, 0)
    while between > 0:
        steps, between = steps + 1, between // 2
    return steps



def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """`nox -s bisect -- <incident-id>[::<case>] --package NAME [--good V] [--bad V] [--torch T] [--stack S] ...`."""
    parser = SessionParser(prog="nox -s bisect --", description=__doc__.splitlines()[0])
    parser.add_argument("target", help="<incident-id> (all its cases) or <incident-id>::<case-name>")
    parser.add_argument("--package", required=True, help="the package whose releases are searched")
    parser.add_argument("--good", help="a version with the old outcome (default: from the committed matrix results)")
    parser.add_argument("--bad", help="a version with the new outcome (default: from the committed matrix results)")
    parser.add_argument("--torch", help="the cell's torch (an id of regressions/matrix.toml)")
    parser.add_argument("--stack", help="the cell's stack, whose other pins are held")
    parser.add_argument("--gpus", type=int, default=None, help="the cell's GPU count (default 0)")
    parser.add_argument("--pre", action="store_true", help="pre-releases are candidates too")
    parser.add_argument("--runs", type=int, default=2, help="runs of each step; a step whose runs disagree is flaky (default 2)")
    parser.add_argument("--find-links", action="append", default=[], metavar="DIR",
                        help="a folder of wheels: candidates are listed and installed from it (with --offline: only from it)")
    parser.add_argument("--offline", action="store_true", help="no index: list and install from --find-links only")
    args = parser.parse_args(list(argv))
    if args.runs < 1:
        parser.error("--runs must be 1 or more")
    return args


def _cases(record: Any, target: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    incident, _, case = target.partition("::")
    listed = tuple((c.name, c.role) for c in record.regression.cases)
    if case:
        chosen = tuple(c for c in listed if c[0] == case)
        if not chosen:
            raise BisectError(f"{incident}: no case {case!r} in its record; choose from {', '.join(n for n, _ in listed)}")
        return record.regression.path, chosen
    return record.regression.path, listed


def _endpoints(args: argparse.Namespace, matrix: Matrix, records: dict[str, Any], incident: str,
               cases: tuple[tuple[str, str], ...], root: Path) -> tuple[str, str, Cell]:
    """--good/--bad from the committed results: cells that differ only in the package's pin, with other outcomes."""
    committed = latest_per_cell(read_all(root / RESULTS_DIR))
    wanted, rows = {name for name, _ in cases}, []
    for result in committed:
        cell = result.cell
        if (args.torch and cell.torch != args.torch) or (args.gpus is not None and cell.gpus != args.gpus):
            continue
        outcomes = {c.function: c.outcome.value for c in result.judged(records).cases
                    if c.incident == incident and c.function in wanted and c.outcome.value not in ("not run", "not applicable")}
        try:
            pins = {**matrix.versions(cell), "gpus": str(cell.gpus)}
        except MatrixError:
            continue  # a results file of a stack no longer in the matrix
        rows.append((str(cell), {canonical_name(k): v for k, v in pins.items()}, outcomes))
    good, bad, cell = endpoints_from_results(rows, canonical_name(args.package),
                                             prefer=f"stack={args.stack}" if args.stack else None)
    return good, bad, Cell.parse(cell)


def _default_cell(args: argparse.Namespace, matrix: Matrix, required: frozenset[str] = frozenset()) -> Cell:
    """The cell named by --torch/--stack/--gpus; the stack defaults to one that pins the package to --bad or --good,
    or, for a package the incident `requires` beyond the stacks (which no stack pins), to the matrix's first."""
    stack = args.stack
    if stack is None and canonical_name(args.package) in required:
        stack = matrix.stacks[0].id
    if stack is None:
        for version in (args.bad, args.good):
            stack = next((s.id for s in matrix.stacks
                          if s.versions(gpus=args.gpus or 0).get(canonical_name(args.package)) == version), None)
            if stack:
                break
    if stack is None:
        raise BisectError(f"no stack of the matrix pins {args.package} {args.bad} or {args.good}; choose the cell's with --stack")
    cell = Cell(args.torch or matrix.torch[0].id, stack, args.gpus or 0)
    matrix.stack(cell), matrix.torch_option(cell), matrix.gpu_setting(cell)  # raise MatrixError for an unknown id
    return cell


def plan(args: argparse.Namespace, matrix: Matrix, records: dict[str, Any], root: Path) -> Bisection:
    """The bisection the arguments ask for: its cases, cell and candidates (asks the index for the releases)."""
    incident = args.target.partition("::")[0]
    if incident not in records:
        raise BisectError(f"{incident}: no such incident in incidents/; `incidentkb check` lists them")
    path, cases = _cases(records[incident], args.target)
    if (args.good is None) != (args.bad is None):
        raise BisectError("give both --good and --bad, or neither (then they come from the committed matrix results)")
    if args.good is None:
        args.good, args.bad, cell = _endpoints(args, matrix, records, incident, cases, root)
    else:
        from incidentkb.records.schema import requirement_name

        cell = _default_cell(args, matrix, frozenset(map(requirement_name, records[incident].regression.requires)))
    found = releases(args.package, find_links=args.find_links, offline=args.offline)
    versions = candidates(found, args.package, good=args.good, bad=args.bad, pre=args.pre)
    options = [f"--torch {cell.torch}", f"--stack {cell.stack}"] + ([f"--gpus {cell.gpus}"] if cell.gpus else [])
    options += (["--pre"] if args.pre else []) + [f"--find-links {d}" for d in args.find_links]
    options += (["--offline"] if args.offline else []) + ([f"--runs {args.runs}"] if args.runs != 2 else [])
    return Bisection(incident=incident, cases=cases, path=path, package=args.package, versions=tuple(versions),
                     cell=cell, runs=args.runs, options=tuple(options), target=args.target,
                     find_links=tuple(str(Path(d).resolve()) for d in args.find_links), offline=args.offline,
                     not_tried=skipped(found, good=args.good, bad=args.bad, pre=args.pre))
