"""The regression matrix of incidentkb: every incident's regressions across torch x transformers/trl stacks x GPUs.

    nox -s regressions                      # every cell this host can run, then the incidents x cells table
    nox -l                                  # the cells: regressions(torch=2.6.0 stack=4.51.3 gpus=0), ...
    nox -s "regressions(torch=2.13.0 stack=4.51.3 gpus=0)"   # one cell
    nox -s regressions -- -k dtype          # pytest arguments pass through
    nox -s regressions -- --strict          # symptom/attempt drift fails the run too
    nox -s regressions -- --executor slurm  # each cell as a Slurm job ([slurm] in matrix.toml; --partition P
                                            # --account A --time T --cpus N --sbatch-option OPT override it)
    nox -s table                            # the table of the newest results file of each cell
    nox -s latest -- [--torch latest] [--gpus N]     # every incident on the newest releases (and torch), resolved now
    nox -s candidate -- transformers==5.25.0 trl==1.17.0 [--torch T] [--gpus N]   # or -- --requirements FILE
    nox -s changes                          # what changed in each cell since its previous run; fails if a fix broke
    nox -s bisect -- <incident>[::<case>] --package transformers --good 4.45.0 --bad 4.46.3 --stack 4.46.3
    nox -s docs                             # build the website into site/ (mkdocs build --strict)
    nox -s docs -- --results DIR            # ... from another results folder (a scratch run); serve takes it too
    nox -s serve                            # serve it on http://127.0.0.1:8000, rebuilt on changes
    nox -s bench                            # bench/scale.py into docs/performance.md
    nox -s bench -- --matrix                # and bench/matrix_overhead.py (cold uv and pip environments)
    nox -s wheelhouse -- --python 3.12 --platform manylinux_2_28_x86_64 --torch installed --stack 4.51.3 --dest DIR
    nox -s wheelhouse -- --torch installed --stack latest ...   # today's newest releases, frozen for an offline host
    nox -s wheelhouse -- --torch installed --pin trl==0.11.4 ... # a candidate's pins (or --requirements FILE), frozen
    INCIDENTKB_WHEELHOUSE=DIR nox -s regressions   # offline: install from DIR only (several DIRs: join with ':')
    sh DIR/bootstrap.sh PYTHON && .venv-offline/bin/incidentkb-nox -s regressions  # offline host with only torch
    INCIDENTKB_RESULTS=DIR nox -s regressions      # write results files elsewhere than regressions/results/
    nox -s NAME -- --help                   # every session's own options

The axes live in regressions/matrix.toml. Start nox from an environment that has incidentkb's dependencies
(`pip install -e '.[test]'` brings nox with them). Environments are built with uv when it is found, else with
venv + pip (INCIDENTKB_BACKEND=pip forces that), under .nox/, and reused while their spec is unchanged.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path
from typing import Any

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))  # the working tree's incidentkb, whatever nox's environment holds
try:
    from incidentkb.matrix import (
        axes,
        cell_run,
        hosts,
        planning,
        pytest_process,
        required,
        resolve,
        reuse,
        selection,
        session_args,
        slurm,
    )
    from incidentkb.results import history, runs as stored_runs
    from incidentkb.results.files import RESULTS_DIR, results_dir
    from incidentkb.matrix import candidate as candidate_module
    from incidentkb.matrix import (
        table as table_module,  # the names `table` and `wheelhouse` are the sessions'
    )
    from incidentkb.matrix import wheelhouse as wheelhouse_module
    from incidentkb.records.reader import load_records
except ImportError as exc:  # pragma: no cover - depends on how nox was installed
    raise SystemExit(f"noxfile.py: incidentkb needs {exc.name}; run nox from an environment made with `pip install -e '.[test]'`") from None

nox.options.sessions = ["regressions"]
nox.options.default_venv_backend = "none"  # cell_run builds each cell's environment itself (see incidentkb.matrix.envs)

MATRIX = axes.load_matrix(ROOT / axes.MATRIX_FILE)


class _Invocation:
    """What the sessions of one `nox` invocation share: the plan of who runs which incident, and the results."""

    def __init__(self) -> None:
        self.planner: planning.Planner | None = None
        self.host: hosts.HostFacts | None = None
        self.results: list[stored_runs.Run] = []
        self.not_run: dict[axes.Cell, str] = {}
        self.strict = False
        self.slurm: slurm.Executor | None = None
        """Set when the cells go to Slurm (`-- --executor slurm`): the cells' sessions submit, `table` collects."""
        self.posargs: list[str] = []
        self.rerun: frozenset[str] = frozenset()
        """`--rerun` (everything: `reuse.ALL`) or `--rerun <id>`: what runs whatever stored runs say."""
        self.locks: dict[axes.Cell, Any] = {}
        self.helped = False
        """`-- --help` was answered (by the first cell of a parametrized session)."""
        self.notified_table = False

    @functools.cached_property
    def records(self) -> dict[str, Any]:
        """The records as they are now: every verdict is judged against them, committed results included."""
        return {incident.id: incident for incident in load_records(ROOT / "incidents")}

    @functools.cached_property
    def sources(self) -> dict[tuple[str, str], list[reuse.Source]]:
        """The committed runs that can stand for a run now (never a scratch folder's), by cell and incident."""
        runs = [stored_runs.read(path) for path in reuse.committed_paths(ROOT)]
        return reuse.sources_of(runs, self.records)

    @functools.cached_property
    def fingerprinter(self) -> reuse.Fingerprinter:
        return reuse.Fingerprinter(ROOT, self.records)

    def host_facts(self) -> hosts.HostFacts:
        if self.host is None:
            self.host = hosts.gather(os.environ.get("INCIDENTKB_WHEELHOUSE", ""))
        return self.host


RUN = _Invocation()
#: Installers must see only the cell's environment: a PYTHONPATH that put nox on the path would hide packages.
_CLEAN: dict[str, str | None] = {"PYTHONPATH": None, "PIP_REQUIRE_VIRTUALENV": None}


@nox.session
@nox.parametrize("cell", [nox.param(cell, id=str(cell)) for cell in MATRIX.cells()])
def regressions(session: nox.Session, cell: axes.Cell) -> None:
    """Run the regressions of one matrix cell (torch x stack x GPUs) and write its results file."""
    split = _parsed(session, lambda args: slurm.split_args(args, slurm.load_settings(ROOT / axes.MATRIX_FILE)),
                    once=True)
    if split is None:
        return
    RUN.notified_table = True  # the table then reads this session's arguments as theirs, not its own
    session.notify("table")
    settings, RUN.posargs = split
    RUN.strict = "--strict" in RUN.posargs
    if settings is not None:
        _submit(session, cell, settings)
        return
    reason = hosts.unavailable(MATRIX, cell, RUN.host_facts())
    if reason:
        RUN.not_run[cell] = reason
        session.skip(f"not run: {reason}")
    try:
        RUN.rerun, RUN.posargs = reuse.parse_rerun(RUN.posargs, RUN.records)
    except reuse.RerunError as exc:
        session.error(str(exc))
    if RUN.planner is None:
        RUN.planner = planning.Planner(MATRIX, planning.load_targets(ROOT))
    _run_cell(session, MATRIX, cell, RUN.planner.assign(cell), posargs=[a for a in RUN.posargs if a != "--strict"])


def _run_cell(session: nox.Session, matrix: axes.Matrix, cell: axes.Cell, assignment: planning.Assignment,
              posargs: list[str], candidate: dict[str, Any] | None = None) -> stored_runs.Run | None:
    """Run one cell (resolving what it leaves open), then each version of what its incidents require beyond the
    stacks in a cell of its own (`incidentkb.matrix.required`); keep the judged results for the table, fail on failures.
    None: nothing ran (`-k` deselected every case, or the host could install none of the versions)."""
    results = required.run_all(
        matrix, cell, assignment, run_one=lambda c, a: _run_one(session, matrix, c, a, posargs, candidate),
        newest=lambda names: _newest_required(session, matrix, cell, names),
    )
    results = [result for result in results if result is not None]  # None: a version this host cannot install, or -k
    if failures := [c for r in results for c in r.failures(strict=RUN.strict)]:
        session.error(f"{len(failures)} case(s) failed: " + ", ".join(f"{c.name} {c.outcome.value}" for c in failures))
    return results[0] if results else None


def _newest_required(session: nox.Session, matrix: axes.Matrix, cell: axes.Cell, names: tuple[str, ...]) -> Any:
    """The newest versions of what the cell's incidents require (`cell_run.newest_required`, one `uv pip compile`),
    kept as locks are (`INCIDENTKB_LOCK_TTL`), so that a warm run asks the index nothing."""
    from incidentkb.matrix import locks

    compute = lambda: cell_run.newest_required(matrix, cell, names, host=RUN.host_facts(), log=session.log)  # noqa: E731
    try:
        ttl = locks.lock_ttl(os.environ.get("INCIDENTKB_LOCK_TTL"))
    except ValueError:
        return compute()
    key = {"newest": list(names), "cell": str(cell), "input": locks.lock_input(matrix, cell, ROOT),
           "host": RUN.host_facts().host_torch, "wheelhouse": list(RUN.host_facts().wheelhouse)}
    return locks.kept(ROOT / ".nox" / "incidentkb-locks", key, ttl, compute)


def _run_one(session: nox.Session, matrix: axes.Matrix, cell: axes.Cell, assignment: planning.Assignment,
             posargs: list[str], candidate: dict[str, Any] | None) -> stored_runs.Run | None:
    """Run one cell, or one version of what an incident requires, and keep its judged result for the table.

    What stored runs stand for is not run (`matrix.reuse`); a cell left with nothing to run needs no environment,
    nor one whose every case the plan can tell `-k` deselects (`matrix.selection`): one line says so, and None.
    A version of a required package this host cannot install (offline, not in the wheelhouse) is not run, and
    says why in the table, as any cell the host lacks something for: None.
    """
    if cell.requires and (reason := hosts.unavailable(matrix, cell, RUN.host_facts())):
        session.log(f"{cell}: not run: {reason}")
        RUN.not_run[cell] = reason
        return None
    if selection.every_case_deselected(assignment.run, posargs, ROOT):
        session.log(f"{cell}: -k {selection.keyword_expression(posargs)!r} deselects every case of its incidents: "
                    "no environment built, no results file written")
        return None
    try:
        assignment, reused = _reuse(session, matrix, cell, assignment, posargs, fresh=candidate is not None)
        if not assignment.run:
            RUN.results.append(reuse.composed(cell, assignment.covered, reused.reused).judged(RUN.records))
            return RUN.results[-1]
        result = cell_run.run_cell(
            matrix, cell, assignment, host=RUN.host_facts(), root=ROOT,
            run=lambda command: session.run(*command, external=True, env=_CLEAN), log=session.log,
            posargs=posargs, strict=RUN.strict, candidate=candidate, reuse=reused,
        )
    except resolve.ResolveError as exc:
        if exc.offline and candidate is None and session.name.startswith("regressions"):
            RUN.not_run[cell] = str(exc)  # an offline host runs the rest of the matrix
            session.skip(f"not run: {exc}")
        session.error(str(exc))
    except pytest_process.PytestUsageError as exc:
        session.error(str(exc))
    result = result.judged(RUN.records)
    RUN.results.append(result)
    return result


def _lock(matrix: axes.Matrix, cell: axes.Cell) -> Any:
    """The cell's lock, or the `resolve.ResolveError` that says why there is none; the first call asks for the
    locks of every cell of the matrix this host runs at once (each is mostly a wait on the index)."""
    from incidentkb.matrix import envs, locks

    host, uv = RUN.host_facts(), cell_run.find_uv()
    if uv is None:
        return resolve.ResolveError("a lock is computed with uv (`pip install uv`)")

    def request(c: axes.Cell) -> locks.LockRequest:
        option = matrix.torch_option(c)
        return locks.LockRequest(
            c, python=host.host_python if option.is_host else os.environ.get("INCIDENTKB_PYTHON", sys.executable),
            find_links=host.wheelhouse + tuple(option.find_links), no_index=bool(host.wheelhouse),
            excludes=envs.host_has(option.host_provides, host.host_site) if option.is_host else (),
            host_site=host.host_site if option.is_host else ())

    try:
        ttl = locks.lock_ttl(os.environ.get("INCIDENTKB_LOCK_TTL"))
    except ValueError as exc:
        return resolve.ResolveError(str(exc))
    compute = functools.partial(locks.cached, matrix, uv=uv, project=ROOT, folder=ROOT / ".nox" / "incidentkb-locks", ttl_s=ttl)
    if matrix is not MATRIX:
        return locks.locks_for([request(cell)], compute)[cell]
    if cell not in RUN.locks:
        others = [c for c in MATRIX.cells() if c not in RUN.locks and c != cell and not hosts.unavailable(MATRIX, c, host)]
        started = time.monotonic()
        RUN.locks.update(locks.locks_for([request(c) for c in [cell, *others]], compute))
        print(f"nox > locks of {1 + len(others)} cell(s) in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return RUN.locks[cell]


def _reuse(session: nox.Session, matrix: axes.Matrix, cell: axes.Cell, assignment: planning.Assignment,
           posargs: list[str], fresh: bool) -> tuple[planning.Assignment, cell_run.Reuse]:
    """The part of the assignment no stored run stands for, and what the cell's run records about the rest.

    `fresh` (a candidate) runs everything, as do pytest arguments of the user's; each reused incident says so.
    """
    lock = _lock(matrix, cell)
    if isinstance(lock, resolve.ResolveError):
        if resolve.needs_resolution(matrix, cell) and not RUN.host_facts().wheelhouse:
            raise lock  # a wheelhouse's frozen resolution chooses the versions instead (`resolve.from_wheelhouse`)
        session.log(f"{cell}: no lock ({lock}): every incident runs, without a fingerprint")
        lock = None
    host = RUN.host_facts()
    torch = f"installed {host.host_torch}" if matrix.torch_option(cell).is_host else (lock.torch if lock else "?")
    prints = RUN.fingerprinter.for_cell(assignment.run, lock=lock.digest if lock else None, torch=str(torch),
                                        host=host.host_class(cell.gpus))
    rerun = RUN.rerun | ({reuse.ALL} if fresh or [a for a in posargs if a != "--strict"] else set())
    decision = reuse.decide(cell, assignment.run, prints, RUN.sources, frozenset(rerun))
    for incident, source in decision.reused.items():
        session.log(f"{cell}: {incident}: {source.line()}")
    for incident, why in decision.reasons.items():
        session.log(f"{cell}: {incident}: runs ({why})")
    return planning.Assignment(decision.run, assignment.covered), cell_run.Reuse(lock, prints, decision.reused)


def _ad_hoc(session: nox.Session, matrix: axes.Matrix, cell: axes.Cell, pytest_args: list[str],
            candidate: dict[str, Any] | None = None) -> None:
    """Run a cell that is no session of its own (torch=latest, a candidate): every incident, then its summary.

    The summary (a line per incident) and what changed since the cell's previous run are the whole answer, on
    one screen; `nox -s table` shows the cell beside the others.
    """
    reason = hosts.unavailable(matrix, cell, RUN.host_facts())
    if reason:
        session.error(f"{cell}: not run: {reason}")
    assignment = planning.Planner(matrix, planning.load_targets(ROOT)).assign(cell)
    try:
        _run_cell(session, matrix, cell, assignment, posargs=pytest_args, candidate=candidate)
    finally:  # also when a case failed: the summary is the answer
        mine = [result for result in RUN.results if result.cell.base == cell]  # the versions of requires too
        for result in mine:
            print("\n" + candidate_module.summary(result))
            if candidate is not None and not result.cell.requires:  # the nearest pinned stack, beside the cell
                print(candidate_module.closest(matrix, candidate_module.Pins(candidate["pins"]), result, _committed()))
        if mine:
            _print_changes(session, stored_runs.read_all(results_dir(ROOT)), {r.cell for r in mine})


def _committed() -> list[stored_runs.Run]:
    """The newest committed run of each cell, judged: what the matrix itself shows (not a scratch folder)."""
    runs = stored_runs.latest_per_cell(stored_runs.read_all(ROOT / RESULTS_DIR))
    return [run.judged(RUN.records) for run in runs]


@nox.session(default=False)
def latest(session: nox.Session) -> None:
    """Run every incident on the newest releases, resolved now (`-- --torch latest` for the newest torch too, `--gpus N`)."""
    options = _parsed(session, lambda args: candidate_module.parse_args(args, MATRIX, pins=False))
    if options is None:
        return
    try:
        cell = axes.Cell(candidate_module.candidate_torch(MATRIX, options.pins, options.torch), "latest", options.gpus)
        MATRIX.torch_option(cell), MATRIX.stack(cell), MATRIX.gpu_setting(cell)
    except (candidate_module.CandidateError, axes.MatrixError) as exc:
        session.error(str(exc))
    _ad_hoc(session, MATRIX, cell, list(options.pytest_args))


@nox.session(default=False)
def candidate(session: nox.Session) -> None:
    """Run every incident against your versions: `-- transformers==5.25.0 trl==1.17.0` or `-- --requirements FILE`."""
    options = _parsed(session, lambda args: candidate_module.parse_args(
        args, MATRIX, required=required.names(planning.load_targets(ROOT))))
    if options is None:
        return
    try:
        matrix, cell = candidate_module.cell_for(MATRIX, options)
        matrix.torch_option(cell), matrix.gpu_setting(cell)
    except (candidate_module.CandidateError, axes.MatrixError) as exc:
        session.error(str(exc))
    if options.pins.ignored:
        session.log(f"left out {len(options.pins.ignored)} pin(s) of {options.pins.source} the regressions do not use"
                    f" ({', '.join(options.pins.ignored[:8])}{', ...' if len(options.pins.ignored) > 8 else ''})")
    _ad_hoc(session, matrix, cell, list(options.pytest_args), candidate=options.pins.record())


@nox.session(default=False)
def changes(session: nox.Session) -> None:
    """Print what changed in each cell between its two newest runs; fails when a fix broke (for scheduled runs)."""
    if _parsed(session, _no_options("changes", changes.__doc__)) is None:
        return
    _print_changes(session, stored_runs.read_all(results_dir(ROOT)))


def _print_changes(session: nox.Session, runs: list[stored_runs.Run], cells: set[axes.Cell] | None = None) -> None:
    found = history.newest(history.history(runs, RUN.records), runs)
    if cells is not None:
        found = {cell: items for cell, items in found.items() if cell in cells}
    print(history.render(found, cells=len(cells if cells is not None else {r.cell for r in runs})), end="")
    if broke := history.broken_fixes(found):
        session.error(f"{len(broke)} fix(es) broke since the previous run: "
                      + ", ".join(f"{c.cell}: {c.case}" for c in broke))


def _submit(session: nox.Session, cell: axes.Cell, settings: slurm.SlurmSettings) -> None:
    """Hand the cell to Slurm as a job running `regressions(<cell>)`; the `table` session waits and collects."""
    if excluded := MATRIX.excluded(cell):
        RUN.not_run[cell] = f"excluded: {excluded}"
        session.skip(f"not run: excluded: {excluded}")
    if RUN.slurm is None:
        RUN.slurm = slurm.Executor(ROOT, settings, command=lambda c: slurm.job_command(ROOT, c, RUN.posargs), log=session.log)
    try:
        submitted = RUN.slurm.submit(cell)
    except slurm.SlurmError as exc:
        session.error(str(exc))
    if submitted is None:  # shown in the table like a cell this host cannot run
        RUN.not_run[cell] = RUN.slurm.rejected[cell]
        session.skip(f"not run: {RUN.slurm.rejected[cell]}")


def _collect_slurm(session: nox.Session) -> None:
    """Wait for the invocation's Slurm jobs and bring their results in (a job without any is recorded as failed)."""
    assert RUN.slurm is not None
    planner = planning.Planner(MATRIX, planning.load_targets(ROOT))
    try:
        got = RUN.slurm.collect(lambda cell: planning.Planner(MATRIX, planner.targets).assign(cell).run,
                                results_dir(ROOT))
    except KeyboardInterrupt:
        session.error("interrupted: the jobs keep running; run the same command again to wait for them and collect them")
    except slurm.SlurmError as exc:
        session.error(str(exc))
    RUN.results += [result.judged(RUN.records) for result in got.results]
    RUN.not_run.update(got.not_run)


@nox.session(default=False)
def table(session: nox.Session) -> None:
    """Print the incidents x cells table of this run, or of the newest results file of each cell."""
    if not RUN.notified_table and _parsed(session, _no_options("table", table.__doc__)) is None:
        return  # after `regressions`, the posargs are that session's
    if RUN.slurm is not None:
        _collect_slurm(session)
    ran = RUN.results or RUN.not_run  # after `nox -s regressions`: this run only
    runs = RUN.results if ran else stored_runs.latest_per_cell(stored_runs.read_all(results_dir(ROOT)))
    built = table_module.build([run.judged(RUN.records) for run in runs], RUN.not_run)
    print(table_module.render_text(built), end="")
    if RUN.results:  # after a run: what its cells changed, against each cell's previous results file
        print()
        everything = stored_runs.read_all(results_dir(ROOT))
        _print_changes(session, everything, {run.cell for run in RUN.results})
    if RUN.slurm is not None and (failed := [r for r in RUN.results if r.failures(strict=RUN.strict)]):
        session.error(f"{len(failed)} Slurm cell(s) failed: " + ", ".join(str(r.cell) for r in failed))
    if RUN.strict and built.drift:
        session.error(f"{len(built.drift)} case(s) drifted from their records (--strict)")


@nox.session(default=False)
def wheelhouse(session: nox.Session) -> None:
    """Download every wheel some cells need into a folder, for a host without internet; `--stack latest` freezes today's newest."""
    parsed = _parsed(session, wheelhouse_module.parse_args)
    if parsed is None:
        return
    uv = cell_run.find_uv()
    if uv is None:
        session.error("the wheelhouse is resolved with uv for the target platform: `pip install uv`, then run again")
    try:
        matrix, options = wheelhouse_module.with_candidate(MATRIX, parsed)
        steps, files = wheelhouse_module.commands(matrix, options, ROOT, uv=uv)
    except axes.MatrixError as exc:
        session.error(str(exc))
    more_steps, more_files = wheelhouse_module.bootstrap_commands(options, ROOT, uv=uv)  # nox, deps, the project
    steps, files = steps + more_steps, {**files, **more_files}
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for command in steps:
        session.run(*command, external=True)
    for path in wheelhouse_module.freeze_resolutions(matrix, options):
        session.log(f"froze {path.name.removesuffix('.frozen.json')}: {path}")
    session.log(wheelhouse_module.size_report(options.dest))


def _parsed(session: nox.Session, parse: Any, *, once: bool = False) -> Any:
    """`parse(session.posargs)`; None after printing the help (`-- --help`); a wrong argument aborts in one line.

    `once`: a parametrized session (every cell of `regressions`) prints its help for the first cell only.
    """
    try:
        return parse(session.posargs)
    except session_args.HelpRequested as shown:
        if not (once and RUN.helped):
            print(shown.text, end="")
        RUN.helped = True
        return None
    except (session_args.SessionArgsError, candidate_module.CandidateError, axes.MatrixError) as exc:
        session.error(str(exc))


#: MkDocs 1.x prints a notice about MkDocs 2 on every run; the site's builds need not repeat it.
_MKDOCS_ENV = {"NO_MKDOCS_2_WARNING": "1"}


def _no_options(name: str, doc: str | None) -> Any:
    """The parse of a session that takes no arguments: `--help` prints its docstring, anything else is refused."""
    def parse(args: list[str]) -> None:
        session_args.SessionParser(prog=f"nox -s {name} --", description=(doc or "").strip()).parse_args(args)
    return parse


def _site_args(name: str, doc: str | None) -> Any:
    """The options of `docs` and `serve`: which results folder the site shows, and mkdocs' own few."""
    def parse(args: list[str]) -> list[str]:
        parser = session_args.SessionParser(prog=f"nox -s {name} --", description=(doc or "").strip())
        parser.add_argument("--results", metavar="DIR", type=Path,
                            help="build from the results files in DIR (default: $INCIDENTKB_RESULTS, else "
                                 "regressions/results/); nothing under regressions/results/ is read or written")
        if name == "docs":
            parser.add_argument("--site-dir", metavar="DIR", help="write the site there (default: site/)")
        else:
            parser.add_argument("--dev-addr", metavar="IP:PORT", help="serve there (default: 127.0.0.1:8000)")
        options = parser.parse_args(args)
        if options.results is not None and not options.results.is_dir():
            raise session_args.SessionArgsError(f"--results {options.results}: no such folder")
        results = str(options.results.resolve()) if options.results else os.environ.get("INCIDENTKB_RESULTS")
        extra = [f"--site-dir={options.site_dir}"] if name == "docs" and options.site_dir else []
        extra += [f"--dev-addr={options.dev_addr}"] if name == "serve" and options.dev_addr else []
        return [results or "", *extra]
    return parse


def _mkdocs(session: nox.Session, command: str) -> None:
    """`mkdocs build|serve` with the session's options; `--results DIR` (or INCIDENTKB_RESULTS) picks the results."""
    parsed = _parsed(session, _site_args(session.name, (docs if command == "build" else serve).__doc__))
    if parsed is None:
        return
    results, *extra = parsed
    env = {**_MKDOCS_ENV, **({"INCIDENTKB_RESULTS": results} if results else {})}
    if results:
        session.log(f"the site shows the results in {results}")
    strict = ["--strict"] if command == "build" else []
    started = time.monotonic()
    session.run(sys.executable, "-m", "mkdocs", command, *strict, *extra, external=True, env=env)
    session.log(f"site built in {time.monotonic() - started:.1f} s")  # bench/main_job.py reads it


@nox.session(default=False)
def docs(session: nox.Session) -> None:
    """Build the website into site/ from incidents/ and regressions/results/ (`-- --results DIR` for other results)."""
    _mkdocs(session, "build")


@nox.session(default=False)
def serve(session: nox.Session) -> None:
    """Serve the website on http://127.0.0.1:8000, rebuilt on changes (`-- --results DIR` for other results)."""
    _mkdocs(session, "serve")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Time check, match and the site at 10 to 5,000 incidents (and with `--matrix` the matrix's overhead); write docs/performance.md.

    Arguments before `--matrix` go to bench/scale.py, those after it to bench/matrix_overhead.py, which runs
    only when `--matrix` is given (it builds environments cold with uv and pip): `nox -s bench -- --sizes 10 100
    --matrix --skip-matrix`.
    """
    args = list(session.posargs)
    cut = args.index("--matrix") if "--matrix" in args else len(args)
    if {"-h", "--help"} & set(args):
        print((bench.__doc__ or "").strip() + "\n")
    try:
        session_args.run_script([sys.executable, str(ROOT / "bench" / "scale.py"), *args[:cut]],
                                help_with="nox -s bench -- --help", env=_MKDOCS_ENV)
        if "--matrix" in args:
            session_args.run_script([sys.executable, str(ROOT / "bench" / "matrix_overhead.py"), *args[cut + 1:]],
                                    help_with="nox -s bench -- --matrix --help")
    except session_args.SessionArgsError as exc:
        session.error(str(exc))


@nox.session(default=False)
def bisect(session: nox.Session) -> None:
    """Find the release of one package where a case's outcome changes (`-- <incident>[::<case>] --package NAME`)."""
    from dataclasses import replace

    from incidentkb.matrix import bisect_run, envs
    from incidentkb.matrix.bisect import BisectError

    args = _parsed(session, bisect_run.parse_args)
    if args is None:
        return
    try:
        plan = bisect_run.plan(args, MATRIX, RUN.records, ROOT)
        host = RUN.host_facts()
        if reason := hosts.unavailable(MATRIX, plan.cell, host):
            session.error(f"{plan.cell}: not run here: {reason}")
        uv = cell_run.find_uv()
        option = MATRIX.torch_option(plan.cell)
        base = envs.spec_for(
            MATRIX, plan.cell, backend="uv" if uv else "pip", project=ROOT, wheelhouse=host.wheelhouse,
            interpreter=host.host_python if option.is_host else os.environ.get("INCIDENTKB_PYTHON", sys.executable),
            host_torch=host.host_torch, host_site=host.host_site,
        )
        base = replace(base, find_links=base.find_links + plan.find_links, no_index=base.no_index or plan.offline)
        line, path = bisect_run.run_bisection(
            plan, MATRIX, base, ROOT, RUN.records,
            run=lambda command: session.run(*command, external=True, env=_CLEAN, silent=True), log=session.log,
        )
    except (BisectError, axes.MatrixError) as exc:
        session.error(str(exc))
    session.log(f"results in {path}")
    print(line)
