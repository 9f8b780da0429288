"""Matrix cells as Slurm jobs: submit each cell with sbatch, wait for the jobs, collect what each one wrote.

`nox -s regressions -- --executor slurm` submits one job per cell instead of running it here; the job runs that
one cell (`nox -s "regressions(<cell>)"`) with `INCIDENTKB_RESULTS` pointing at the job's own folder under
`.nox/slurm/`, so no two jobs write into one folder and nothing a job wrote is lost. GPU cells ask for their GPUs
with `--gres=gpu:N`; every cell asks for `cpus` CPUs (`-c`). The repository and the Python that runs nox must be
visible at the same paths on the compute nodes (a shared file system), as with any Slurm job.

What a job left decides what its cell shows, whatever Slurm's state says:
- a results file: it is merged into the results folder (a job whose cases failed ends FAILED in Slurm and still
  wrote one);
- the job's log says its cell was `not run: ...` on that node (e.g. no host torch): the cell is not run, with that
  reason and the job id;
- nothing (the job failed before writing, was cancelled, hit its time limit, or vanished from Slurm): a results
  file is written for it whose cases are `crashed` (`timed out` for TIMEOUT), their detail naming the job id, its
  final state and the tail of its log.
A cell sbatch rejects at submission (e.g. `--gres=gpu:1` on a cluster without GPUs) has no job and no results
file: it is shown like a cell this host cannot run, `not run: slurm rejected the job: <sbatch's error>`.

A state file (`.nox/slurm/state.json`) remembers each job by its cell and spec (the sbatch options and the command):
a second invocation while a job is pending or running waits for that job instead of submitting the cell again,
and collects a job an interrupted invocation left behind. Slurm's own commands need `SLURM_CONF` where the
cluster is not configured system-wide; it is passed through from the environment.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from incidentkb.matrix import merge, results_files
from incidentkb.matrix.axes import Cell, MatrixError
from incidentkb.matrix.planning import Target
from incidentkb.matrix.session_args import SessionParser
from incidentkb.verdict.outcomes import Observed, decide, parse_role

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["SlurmSettings", "SlurmError", "load_settings", "split_args", "Job", "Executor", "ACTIVE", "TERMINAL"]

#: Slurm job states after which a job does nothing more (`squeue -t all` shows them until MinJobAge passes).
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL",
            "DEADLINE", "REVOKED", "SPECIAL_EXIT"}
#: The states of a job still on its way (COMPLETING: its processes are being cleaned up; results may follow).
ACTIVE = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD",
          "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD"}
#: The log lines a failed job's results keep.
TAIL_LINES = 30


class SlurmError(RuntimeError):
    """Slurm cannot be used as asked (no sbatch, the controller does not answer); the message says why."""


@dataclass(frozen=True)
class SlurmSettings:
    """How cells are submitted: defaults from `[slurm]` in regressions/matrix.toml, overridden on the command line."""

    partition: str | None = None
    account: str | None = None
    time: str | None = None
    cpus: int = 4
    sbatch_options: tuple[str, ...] = ()
    poll_s: float = 10.0


_KEYS = {"partition": str, "account": str, "time": str, "cpus": int, "sbatch_options": list, "poll_s": (int, float)}


def load_settings(path: str | Path) -> SlurmSettings:
    """The `[slurm]` table of the matrix file (each key with its `<key>_why`); missing table: the defaults."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("slurm", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MatrixError(f"{path}: {exc}") from None
    values = {}
    for key, value in data.items():
        if key.endswith("_why"):
            continue
        if key not in _KEYS:
            raise MatrixError(f"{path}: [slurm] has the unknown key {key!r}; use {sorted(_KEYS)}")
        if not isinstance(value, _KEYS[key]) or isinstance(value, bool):
            raise MatrixError(f"{path}: [slurm] {key} = {value!r} has the wrong type")
        if not str(data.get(f"{key.removesuffix('_s')}_why", "")).strip():
            raise MatrixError(f"{path}: [slurm] {key} has no '{key.removesuffix('_s')}_why'; say why it is set")
        values[key] = tuple(value) if key == "sbatch_options" else value
    return SlurmSettings(**values)


def split_args(posargs: Sequence[str], defaults: SlurmSettings) -> tuple[SlurmSettings | None, list[str]]:
    """Take `--executor slurm` and the Slurm options out of a session's arguments; the rest goes to pytest.

    Returns (None, posargs) when `--executor` is absent or `local`.
    """
    parser = SessionParser(
        prog="nox -s regressions --", allow_abbrev=False,
        description="Run the regressions of every matrix cell this host can run (or the one named), then the table.",
        epilog="--strict: drift (a symptom or attempt that departs from its record) fails the run too. --rerun runs "
               "every incident whatever the committed runs say, --rerun <id> that incident (else an incident whose "
               "fingerprint matches a committed run is reused, not run: docs/performance.md). Every other "
               "argument goes to pytest in each cell (e.g. -k dtype; see pytest --help).")
    parser.add_argument("--executor", choices=["local", "slurm"], default="local",
                        help="where the cells run: here (default), or one sbatch job each")
    parser.add_argument("--partition", help="Slurm: the partition (default: [slurm] in matrix.toml, else the cluster's)")
    parser.add_argument("--account", help="Slurm: the account")
    parser.add_argument("--time", help="Slurm: each job's time limit (default: [slurm] time)")
    parser.add_argument("--cpus", type=int, help="Slurm: CPUs per job (default: [slurm] cpus)")
    parser.add_argument("--sbatch-option", action="append", default=[], metavar="OPT",
                        help="Slurm: one more sbatch option, written with '=' (--sbatch-option=--qos=low)")
    parser.add_argument("--poll-s", type=float, help="Slurm: seconds between squeue polls (default: [slurm] poll_s)")
    known, rest = parser.parse_known_args(list(posargs))
    if known.executor != "slurm":
        return None, rest
    given = {k: v for k, v in vars(known).items() if v is not None and k not in ("executor", "sbatch_option")}
    settings = replace(defaults, **given, sbatch_options=defaults.sbatch_options + tuple(known.sbatch_option))
    return settings, rest


@dataclass
class Job:
    """A submitted cell, as the state file keeps it."""

    cell: str
    key: str
    job_id: str
    folder: str
    submitted: str
    collected: bool = False


@dataclass
class Outcome:
    """What the jobs of one invocation gave: results per cell, and the cells that did not run with why."""

    results: list[results_files.CellResult] = field(default_factory=list)
    not_run: dict[Cell, str] = field(default_factory=dict)


def _run(command: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(list(command), capture_output=True, text=True, check=False, **kwargs)
    except FileNotFoundError:
        raise SlurmError(f"{command[0]} not found: run on a Slurm login node (or where Slurm's commands are on PATH)") from None


def job_states() -> dict[str, tuple[str, str]]:
    """Every job Slurm still shows (finished ones until MinJobAge passes): id -> (state, reason)."""
    done = _run(["squeue", "-h", "-t", "all", "-o", "%i %T %r"], timeout=60)
    if done.returncode != 0:
        raise SlurmError(f"squeue failed: {done.stderr.strip() or done.stdout.strip()}")
    states = {}
    for line in done.stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2:
            states[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    return states


class Executor:
    """Submits cells, waits for their jobs and collects their results (see the module's docstring)."""

    def __init__(self, root: Path, settings: SlurmSettings, *, command: Callable[[Cell], str],
                 log: Callable[[str], None], state_dir: Path | None = None) -> None:
        self.root = root
        self.settings = settings
        self.command = command
        self.log = log
        self.state_dir = state_dir or root / ".nox" / "slurm"
        self.jobs: dict[str, Job] = {}
        """The jobs this invocation waits for, by cell."""
        self.rejected: dict[Cell, str] = {}
        """Cells sbatch refused at submission, with its error."""

    # ----------------------------------------------------------------------------------------------- the state file
    @contextlib.contextmanager
    def _state(self) -> Iterator[dict[str, Any]]:
        """The state file, locked against other invocations while it is read and changed."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / "state.json"
        with open(self.state_dir / "state.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"jobs": {}}
            yield state
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, path)

    def sbatch_args(self, cell: Cell, gpus: int) -> list[str]:
        """sbatch's options for the cell (without its output file, which names the job's own folder)."""
        s = self.settings
        args = [f"--job-name=incidentkb-{cell.slug}", f"--chdir={self.root}", f"--cpus-per-task={s.cpus}"]
        args += [f"--partition={s.partition}"] if s.partition else []
        args += [f"--account={s.account}"] if s.account else []
        args += [f"--time={s.time}"] if s.time else []
        args += [f"--gres=gpu:{gpus}"] if gpus else []
        return args + list(s.sbatch_options)

    def key(self, cell: Cell) -> str:
        """The cell and its spec: a job of an equal key is the same work, whoever submitted it."""
        spec = {"cell": str(cell), "sbatch": self.sbatch_args(cell, cell.gpus), "command": self.command(cell)}
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]

    # ------------------------------------------------------------------------------------------------------ submit
    def submit(self, cell: Cell) -> str | None:
        """Submit the cell, or adopt the job an earlier invocation submitted for it; None when sbatch refused it
        (then the reason is in `rejected`)."""
        key = self.key(cell)
        with self._state() as state:
            earlier = state["jobs"].get(key)
            if earlier and not earlier.get("collected"):
                job = Job(**earlier)
                shown = job_states().get(job.job_id, ("gone", ""))[0]
                self.log(f"{cell}: already submitted as job {job.job_id} ({shown}); waiting for it, not submitting again")
                self.jobs[str(cell)] = job
                return job.job_id
            folder = self.state_dir / f"{cell.slug}-{key}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
            (folder / "results").mkdir(parents=True, exist_ok=True)
            wrap = f"INCIDENTKB_RESULTS={shlex.quote(str(folder / 'results'))} exec {self.command(cell)}"
            command = ["sbatch", "--parsable", f"--output={folder}/slurm-%j.out", *self.sbatch_args(cell, cell.gpus),
                       "--wrap", wrap]
            done = _run(command, timeout=120)
            if done.returncode != 0:
                error = " ".join(line.strip() for line in done.stderr.strip().splitlines()) or f"exit status {done.returncode}"
                self.rejected[cell] = f"slurm rejected the job: {error}"
                self.log(f"{cell}: sbatch refused the job: {error}")
                return None
            job = Job(str(cell), key, done.stdout.strip().split(";")[0], str(folder), results_files.now())
            state["jobs"][key] = asdict(job)
            self.jobs[str(cell)] = job
            self.log(f"{cell}: submitted as Slurm job {job.job_id} ({shlex.join(command[:-1])} --wrap ...)")
            return job.job_id

    # -------------------------------------------------------------------------------------------------------- wait
    def wait(self) -> dict[str, tuple[str, str]]:
        """Poll until every job of this invocation has ended; print a line whenever the counts change.

        A job that Slurm no longer shows has ended too (purged after MinJobAge, or lost with its node): what it
        left in its folder tells which. Returns job id -> (final state, reason).
        """
        waiting = {job.job_id for job in self.jobs.values()}
        final: dict[str, tuple[str, str]] = {}
        start, last, failures = time.monotonic(), "", 0
        while waiting:
            try:
                states = job_states()
                failures = 0
            except SlurmError as exc:
                failures += 1
                if failures >= 30:
                    raise
                self.log(f"slurm: {exc} (retrying)")
                time.sleep(self.settings.poll_s)
                continue
            for job_id in sorted(waiting):
                state = states.get(job_id, ("GONE", "no longer known to Slurm"))
                if state[0] not in ACTIVE:
                    final[job_id] = state
                    waiting.discard(job_id)
            counts: dict[str, int] = {}
            for job_id in waiting:
                counts[states[job_id][0].lower()] = counts.get(states[job_id][0].lower(), 0) + 1
            line = ", ".join([f"{len(final)} ended", *(f"{n} {s}" for s, n in sorted(counts.items()))])
            if line != last:
                self.log(f"slurm: {line} ({time.monotonic() - start:.0f} s)")
                last = line
            if waiting:
                time.sleep(self.settings.poll_s)
        return final

    # ----------------------------------------------------------------------------------------------------- collect
    def collect(self, targets_of: Callable[[Cell], Sequence[Target]], into: Path) -> Outcome:
        """Wait, then bring every job's results into `into` (or record why there are none); mark them collected.

        Each job is collected under the state file's lock, and what it gave is kept there: a second invocation
        that waited for the same job reads that instead of recording a failed job a second time.
        """
        final = self.wait() if self.jobs else {}
        outcome = Outcome(not_run=dict(self.rejected))
        for cell_text, job in self.jobs.items():
            cell = Cell.parse(cell_text)
            with self._state() as saved:
                entry = saved["jobs"].setdefault(job.key, asdict(job))
                if not entry.get("collected"):
                    entry.update(self._collect_one(cell, job, final.get(job.job_id, ("GONE", "")), targets_of, into),
                                 collected=True)
                paths, not_run = entry.get("paths", []), entry.get("not_run")
            outcome.results += [results_files.read(p) for p in paths if Path(p).exists()]
            if not_run:
                outcome.not_run[cell] = not_run
        return outcome

    def _collect_one(self, cell: Cell, job: Job, final: tuple[str, str],
                     targets_of: Callable[[Cell], Sequence[Target]], into: Path) -> dict[str, Any]:
        """What one ended job gave: its results files merged into `into`, a not-run reason, or a failure record."""
        folder, (state, reason) = Path(job.folder), final
        report = merge.merge([folder / "results"], into)
        for line in report.lines():
            self.log(f"{cell}: job {job.job_id}: {line}")
        paths = [str(a.path) for a in report.added] + [str(p) for _, p in report.already]
        if paths:
            return {"paths": paths, "state": state}
        if (why := self._not_run(folder, job)) is not None:
            return {"not_run": f"{why} (on Slurm job {job.job_id})", "state": state}
        data = failed_job_results(cell, job, state, reason, _log_tail(folder, job), targets_of(cell))
        path = results_files.write(data, into)
        self.log(f"{cell}: job {job.job_id} ended {state} without results; recorded in {path}")
        return {"paths": [str(path)], "state": state}

    @staticmethod
    def _not_run(folder: Path, job: Job) -> str | None:
        """The reason the job's nox gave for not running its cell on that node, if it said one."""
        for line in _log_tail(folder, job, lines=400).splitlines():
            if "not run: " in line and "skip" in line.lower():
                return line.split("not run: ", 1)[1].strip()
        return None


def _log_tail(folder: Path, job: Job, lines: int = TAIL_LINES) -> str:
    log = folder / f"slurm-{job.job_id}.out"
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log: {log} does not exist; the job never started or its node lost it)"
    return "\n".join(text.splitlines()[-lines:])


def failed_job_results(cell: Cell, job: Job, state: str, reason: str, tail: str, targets: Sequence[Target]) -> dict[str, Any]:
    """The results file of a job that ended without writing one: each expected case crashed (timed out), saying
    which job, how it ended and the tail of its log."""
    seen = Observed.timed_out if state in ("TIMEOUT", "DEADLINE") else Observed.crashed
    how = {"GONE": "vanished from Slurm (lost with its node, or purged) without a results file"}.get(
        state, f"ended {state}" + (f" ({reason})" if reason and reason != "None" else "") + " without a results file")
    detail = f"Slurm job {job.job_id} {how}; the tail of {job.folder}/slurm-{job.job_id}.out:\n{tail}"
    return {
        "schema": results_files.SCHEMA, "cell": str(cell), "axes": cell.as_dict(),
        "started": job.submitted, "finished": results_files.now(),
        "python": None, "versions": None, "packages": None,
        "host": {"slurm_job": job.job_id, "slurm_state": state, "slurm_reason": reason},
        "environment": None, "pytest": None,
        "incidents": {"ran": [t.incident for t in targets], "covered_by": {}},
        "cases": [
            {"nodeid": f"{t.path}::{name}", "incident": t.incident, "role": role,
             "outcome": decide(parse_role(role)[0], seen).value, "observation": None, "duration_s": None,
             "detail": detail[-4000:]}
            for t in targets for name, role in t.cases
        ],
        "report": None,
    }


def job_command(root: Path, cell: Cell, posargs: Sequence[str], python: str = sys.executable) -> str:
    """The shell command a job runs: this cell alone, with the same nox and the user's pytest arguments."""
    args = [python, "-m", "nox", "--no-color", "-f", str(root / "noxfile.py"), "-s", f"regressions({cell})"]
    return shlex.join(args + (["--", *posargs] if posargs else []))
