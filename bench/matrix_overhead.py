"""What the regression matrix costs besides the regressions, and which regressions cost the most (issue 7, 1 and 3).

1. Matrix overhead. A few CPU cells are run for real, as the user runs them (`nox -s "regressions(<cell>)"`, each
   its own process), from a scratch copy of the committed tree (`git archive HEAD`), so the user's .nox/ and
   regressions/results/ are never touched: environments are built under the copy's .nox/ and results files go
   to a scratch folder (INCIDENTKB_RESULTS). Each cell runs cold (no environment yet) and then warm (the
   environment reused), once with uv and once with INCIDENTKB_BACKEND=pip. Package caches are left as they are,
   so "cold" means a new environment, not an empty download cache; the page says which caches existed.
   The wall time of each nox process is split with the times cell_run writes into the results file: building
   the environment (create + install), probing it, pytest, and the rest (nox's start, planning, the table).
3. Regressions. From the committed results files (regressions/results/, the newest file of each cell): the
   slowest case and the total case time of each cell, CPU cells and GPU cells (with their machine) apart.

    nox -s bench -- --matrix                                # scale.py, then this; both write docs/performance.md
    .venv/bin/python bench/matrix_overhead.py --no-write    # print only
    .venv/bin/python bench/matrix_overhead.py --skip-matrix # only the regressions' times (no installs)
    .venv/bin/python bench/matrix_overhead.py --cell "torch=2.6.0 stack=4.51.3 gpus=0" --backend uv
    .venv/bin/python bench/matrix_overhead.py --backend uv --bytecode install --bytecode none --bytecode lazy

4. Cold environments (issue 13): with `--bytecode MODE` (repeatable), each cell runs cold and warm once per
   INCIDENTKB_BYTECODE mode (compile everything at install; never write bytecode; write it lazily for what the
   cases import), each mode from a scratch copy of its own, and only that block of the page is rewritten.

The tables are printed as Markdown and written between this benchmark's own markers in docs/performance.md
(scale.py's write_page: only that block is rewritten).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(REPO / "src"))
import scale  # noqa: E402 - the page writer is shared, not copied

from incidentkb.matrix import results_files as results  # noqa: E402

__all__ = ["Phases", "phases", "case_times", "main"]

START = "<!-- bench/matrix_overhead.py: start (generated: rerun the benchmark rather than edit) -->"
END = "<!-- bench/matrix_overhead.py: end -->"
BYTECODE_START = "<!-- bench/matrix_overhead.py --bytecode: start (generated: rerun the benchmark rather than edit) -->"
BYTECODE_END = "<!-- bench/matrix_overhead.py --bytecode: end -->"
DEFAULT_CELLS = ["torch=2.13.0 stack=4.51.3 gpus=0"]
BACKENDS = ("uv", "pip")


@dataclass(frozen=True)
class Phases:
    """One `nox -s regressions(<cell>)` process: its wall time and where it went."""

    cell: str
    backend: str
    state: str  # "cold" or "warm"
    wall_s: float
    env_s: float
    reused: bool
    probe_s: float
    pytest_s: float
    returncode: int
    load: float | None = None
    """The 1-minute load average when it started: other work on the machine slows pytest above all."""
    bytecode: str = ""
    """INCIDENTKB_BYTECODE of the run (`lazy`, `install`, `none`), as its results file records it."""

    @property
    def rest_s(self) -> float:
        """nox's own start, the plan, writing results and printing the table."""
        return max(0.0, round(self.wall_s - self.env_s - self.probe_s - self.pytest_s, 1))


def phases(data: Mapping[str, Any], *, state: str, wall_s: float, returncode: int = 0,
           load: float | None = None) -> Phases:
    """The phases of one run from the results file it wrote (cell_run times each step and writes it there)."""
    environment = data.get("environment") or {}
    pytest_part = data.get("pytest") or {}
    return Phases(
        cell=data["cell"], backend=environment.get("backend", "?"), state=state, wall_s=round(wall_s, 1),
        env_s=float(environment.get("seconds") or 0.0), reused=bool(environment.get("reused")),
        probe_s=float(environment.get("probe_seconds") or 0.0), pytest_s=float(pytest_part.get("seconds") or 0.0),
        returncode=returncode, load=load, bytecode=str(environment.get("bytecode") or ""),
    )


@dataclass(frozen=True)
class CellTimes:
    """The case times of one cell's results file."""

    cell: str
    machine: str
    cases_run: int
    total_s: float
    slowest: str
    slowest_s: float
    pytest_s: float | None


def machine_of(data: Mapping[str, Any]) -> str:
    """`2 x NVIDIA H200` or `2 cores AMD EPYC`: what a cell ran on, as its results file says."""
    host = data.get("host") or {}
    gpus = [g.get("name", "?") for g in host.get("gpus") or []]
    if gpus:
        names = sorted(set(gpus))
        return f"{len(gpus)} x {names[0]}" if len(names) == 1 else ", ".join(gpus)
    return f"{host.get('cpu_count', '?')} cores {host.get('cpu') or '?'}"


def case_times(data: Mapping[str, Any]) -> CellTimes:
    """Slowest case and total case time of one results file; cases not run (skipped, 0 s) are not counted."""
    ran = [c for c in data.get("cases", []) if c.get("outcome") != "not run" and c.get("duration_s") is not None]
    slowest = max(ran, key=lambda c: c["duration_s"], default=None)
    pytest_part = data.get("pytest") or {}
    return CellTimes(
        cell=data["cell"], machine=machine_of(data), cases_run=len(ran),
        total_s=round(sum(c["duration_s"] for c in ran), 1),
        slowest="-" if slowest is None else slowest["nodeid"].rsplit("::", 1)[-1],
        slowest_s=0.0 if slowest is None else round(slowest["duration_s"], 1),
        pytest_s=pytest_part.get("seconds"),
    )


def _gpus(data: Mapping[str, Any]) -> int:
    return int((data.get("axes") or {}).get("gpus", 0))


# ------------------------------------------------------------------------------------------------ the real runs
def scratch_copy(into: Path) -> Path:
    """The committed tree (HEAD) in `into`: its .nox/ starts empty and nothing of the user's is touched."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_nox(copy: Path, cell: str, backend: str, state: str, results_dir: Path,
            bytecode: str | None = None) -> tuple[Phases, str]:
    """Run one cell's session in the copy, as its own process; its phases come from the results file it wrote."""
    env = {**os.environ, "INCIDENTKB_RESULTS": str(results_dir), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    env.pop("INCIDENTKB_BACKEND", None)
    env.pop("INCIDENTKB_BYTECODE", None)
    if bytecode:
        env["INCIDENTKB_BYTECODE"] = bytecode
    if backend == "pip":
        env["INCIDENTKB_BACKEND"] = "pip"
    before = set(results_dir.glob("*.json"))
    load = os.getloadavg()[0]
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "nox", "-s", f"regressions({cell})"], cwd=copy, env=env,
                          capture_output=True, text=True)
    wall = time.monotonic() - t0
    new = sorted(set(results_dir.glob("*.json")) - before)
    if not new:
        raise RuntimeError(f"{cell} ({backend}, {state}): nox wrote no results file (exit {done.returncode}):\n"
                           + (done.stdout + done.stderr)[-3000:])
    data = json.loads(new[-1].read_text(encoding="utf-8"))
    return phases(data, state=state, wall_s=wall, returncode=done.returncode, load=load), done.stdout + done.stderr


def caches() -> str:
    """Which installer caches existed before the runs (so "cold" is read as: new environment, warm cache)."""
    home = Path.home() / ".cache"
    note = ", ".join(f"{name}'s " + (f"{_size_gb(home / name):.1f} GB" if (home / name).is_dir() else "none (empty)")
                     for name in ("uv", "pip"))
    pip_indexes = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.extra-index-url"],
                                 capture_output=True, text=True).stdout.strip()
    return note + (f"; pip is configured with the extra indexes {pip_indexes}" if pip_indexes else "")


def _size_gb(path: Path) -> float:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True).stdout.split()
    return int(out[0]) / 1e9 if out else 0.0


def overhead_runs(cells: Sequence[str], backends: Sequence[str], work: Path,
                  bytecode: Sequence[str | None] = (None,)) -> list[Phases]:
    rows: list[Phases] = []
    for backend, mode in [(b, m) for b in backends for m in bytecode]:
        name = f"{backend}-{mode}" if mode else backend
        copy = scratch_copy(work / f"repo-{name}")  # one copy per installer (and mode): each starts without environments
        results_dir = work / f"results-{name}"
        results_dir.mkdir()
        for cell in cells:
            for state in ("cold", "warm"):
                row, output = run_nox(copy, cell, backend, state, results_dir, mode)
                print(f"{cell} {backend} {state}: {row.wall_s} s (env {row.env_s}, pytest {row.pytest_s}, "
                      f"exit {row.returncode})", file=sys.stderr, flush=True)
                if row.returncode != 0:
                    print(output[-2000:], file=sys.stderr)
                rows.append(row)
        shutil.rmtree(copy, ignore_errors=True)
    return rows


# ------------------------------------------------------------------------------------------------ the page
def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def overhead_table(rows: Iterable[Phases]) -> list[str]:
    lines = ["| cell | installer | run | nox wall | environment (create + install) | probe | pytest | rest (nox, plan, table) | environment share | load at start |",
             "|---|---|---|--:|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        env = f"{r.env_s:.1f} s" + (" (reused)" if r.reused else "")
        lines.append(f"| `{r.cell}` | {r.backend} | {r.state} | {r.wall_s:.1f} s | {env} | {r.probe_s:.1f} s | "
                     f"{r.pytest_s:.1f} s | {r.rest_s:.1f} s | {_pct(r.env_s, r.wall_s)} | "
                     + ("-" if r.load is None else f"{r.load:.1f}") + " |"
                     + ("" if r.returncode == 0 else f" exit {r.returncode}"))
    return lines


def bytecode_table(rows: Iterable[Phases]) -> list[str]:
    lines = ["| cell | installer | bytecode | run | nox wall | environment (create + install) | pytest | load at start |",
             "|---|---|---|---|--:|--:|--:|--:|"]
    for r in rows:
        env = f"{r.env_s:.1f} s" + (" (reused)" if r.reused else "")
        lines.append(f"| `{r.cell}` | {r.backend} | {r.bytecode} | {r.state} | {r.wall_s:.1f} s | {env} | {r.pytest_s:.1f} s | "
                     + ("-" if r.load is None else f"{r.load:.1f}") + " |" + ("" if r.returncode == 0 else f" exit {r.returncode}"))
    return lines


def bytecode_report(rows: list[Phases], cache_note: str) -> str:
    return "\n".join([
        "## Cold environments: bytecode",
        "",
        f"Measured by `bench/matrix_overhead.py --bytecode ...` on {machine()}. Each mode runs the cell cold (a "
        "scratch copy of the committed tree, no environment in its .nox/) and warm (the same command again), with "
        f"the download caches as they were (before the runs: {cache_note}). `install`: every module compiled at "
        "install (uv's --compile-bytecode; the behaviour before issue 13) and the cases run with "
        "PYTHONDONTWRITEBYTECODE=1; `none`: no bytecode at install and none written; `lazy` (the default): no "
        "bytecode at install, and Python writes the .pyc of what the cases import on first import. The machine is "
        "shared: the load at start says how much other work slowed each run.",
        "",
        *bytecode_table(rows),
    ])


def regressions_table(cells: Iterable[CellTimes]) -> list[str]:
    head = "| cell | machine | cases run | total case time | pytest wall | slowest case | its time |"
    lines = [head, "|---|---|--:|--:|--:|---|--:|"]
    for c in cells:
        wall = "-" if c.pytest_s is None else f"{c.pytest_s:.1f} s"
        lines.append(f"| `{c.cell}` | {c.machine} | {c.cases_run} | {c.total_s:.1f} s | {wall} | `{c.slowest}` | "
                     f"{c.slowest_s:.1f} s |")
    return lines


def committed_times(directory: Path) -> tuple[list[CellTimes], list[CellTimes], list[str]]:
    newest = results.latest_per_cell(results.read_all(directory))
    datas = [dict(r.raw) for r in newest]
    cpu = [case_times(d) for d in datas if _gpus(d) == 0]
    gpu = [case_times(d) for d in datas if _gpus(d) > 0]
    files = [r.path.name for r in newest if r.path is not None]
    return cpu, gpu, files


def machine() -> str:
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{dt.date.today().isoformat()}, {platform.system()} {platform.machine()}, {os.cpu_count()} cores "
            f"(load average at the end: {load}), Python {platform.python_version()}, incidentkb at commit {commit}")


def report(rows: list[Phases], cache_note: str, cpu: list[CellTimes], gpu: list[CellTimes], files: list[str]) -> str:
    parts = ["## The matrix: environments and regressions", ""]
    if rows:
        parts += [
            f"Measured by `bench/matrix_overhead.py` on {machine()}. Each row is one `nox -s \"regressions(<cell>)\"` "
            "process started from a scratch copy of the committed tree: cold = no environment in its .nox/ yet, "
            "warm = the same command again, the environment reused. The installers' download caches were left as "
            f"they were (before the runs: {cache_note}), so cold means a new environment, and new downloads only "
            "where a cache was empty; torch 2.13.0 comes from the local /opt/wheels. The split comes from the times cell_run writes into each results "
            "file; rest = nox's own start, the plan, writing the results and the table. The machine is shared (2 cores): "
            "the load average when each run started says how much other work slowed its pytest.",
            "",
            *overhead_table(rows),
            "",
        ]
    else:
        parts += ["(The matrix runs were skipped: `--skip-matrix`.)", ""]
    parts += [
        "The regressions' own time, from the committed results files (the newest file of each cell: "
        f"{len(files)} files in regressions/results/). Total case time is the sum of the cases' pytest durations "
        "(pytest wall also holds the interpreter's start, collection and pytest-xdist's workers); cases not "
        "run (skipped, e.g. a GPU case on a CPU cell, or an incident already run by an earlier cell) are not counted.",
        "",
        "CPU cells:",
        "",
        *regressions_table(cpu),
        "",
        "GPU cells (run on a device machine, not this one):",
        "",
        *regressions_table(gpu),
    ]
    return "\n".join(parts)


def write_page(text: str, page: Path = scale.PAGE) -> None:
    """Rewrite only this benchmark's block; a page not there yet gets scale.py's introduction and empty block first."""
    if not page.exists():
        scale.write_page("(Not measured yet: run `nox -s bench` or `python bench/scale.py`.)", page)
    scale.write_page(text, page, start=START, end=END)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cell", dest="cells", action="append", metavar="CELL",
                        help=f"a CPU cell to run cold and warm (repeatable; default: {DEFAULT_CELLS[0]!r})")
    parser.add_argument("--backend", dest="backends", action="append", choices=BACKENDS,
                        help="installer(s) to measure (default: both)")
    parser.add_argument("--skip-matrix", action="store_true", help="no real runs: only the committed results' times")
    parser.add_argument("--results", type=Path, default=REPO / results.RESULTS_DIR,
                        help="folder of results files for the regressions' times (default: regressions/results)")
    parser.add_argument("--no-write", dest="write", action="store_false", help="print only; leave docs/ alone")
    parser.add_argument("--bytecode", action="append", choices=("install", "none", "lazy"),
                        help="compare INCIDENTKB_BYTECODE modes, cold and warm (repeatable); writes only its own block")
    args = parser.parse_args(argv)
    rows: list[Phases] = []
    cache_note = caches()
    if args.bytecode:
        with tempfile.TemporaryDirectory(prefix="incidentkb-matrix-") as tmp:
            rows = overhead_runs(args.cells or DEFAULT_CELLS, args.backends or ["uv"], Path(tmp), args.bytecode)
        text = bytecode_report(rows, cache_note)
        print(text)
        if args.write:
            if not scale.PAGE.exists():
                scale.write_page("(Not measured yet: run `nox -s bench` or `python bench/scale.py`.)", scale.PAGE)
            scale.write_page(text, scale.PAGE, start=BYTECODE_START, end=BYTECODE_END)
        return 0
    if not args.skip_matrix:
        with tempfile.TemporaryDirectory(prefix="incidentkb-matrix-") as tmp:
            rows = overhead_runs(args.cells or DEFAULT_CELLS, args.backends or list(BACKENDS), Path(tmp))
    cpu, gpu, files = committed_times(args.results)
    text = report(rows, cache_note, cpu, gpu, files)
    print(text)
    if args.write:
        write_page(text)
        print(f"\nwrote the tables into {scale.PAGE.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
