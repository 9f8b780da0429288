"""The README's main job, cold, warm and with one incident edited: `nox -s regressions docs` in a fresh clone.

Cold is what a new user's first run costs: a fresh clone (no environment in its .nox/, no kept lock) and, with
`--empty-cache` (the default), an empty download cache (uv's, in a folder of its own). Warm is the same command
again with nothing changed; edited is the same command after one incident's regression gained a line. Each
run is split into where its time went, from what the runs say of themselves: the cells' locks (the `locks of
N cell(s) in X s` line), environments and pytest (the results files the run wrote; a cell whose every incident
a committed run stands for writes none and builds nothing), the site (`site built in X s`), and the rest (nox's
start, imports, reading records and results, the table). The load average at the start and end of each run is
written beside it: the machine is shared. Writes its own block of docs/performance.md.

    python bench/main_job.py [--keep DIR] [--warm-cache] [--edit regressions/test_x.py]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "src"))

import scale  # noqa: E402 - the page writer is shared, not copied
from incidentkb.results import runs as results_files  # noqa: E402

START = "<!-- bench/main_job.py: start (generated: rerun the benchmark rather than edit) -->"
END = "<!-- bench/main_job.py: end -->"
COMMAND = ("nox", "-s", "regressions", "docs")
#: The regression the `edited` run changes: one whose incident runs in cells of several stacks.
EDITED = "regressions/test_stylegan_label_weight_random_after_non_strict_load.py"


@dataclass(frozen=True)
class Measured:
    """One run of the main job and where its time went."""

    label: str
    wall: float
    status: int
    cells: int
    locks: float
    envs: float
    tests: float
    site: float
    load: tuple[float, float]

    @property
    def rest(self) -> float:
        return max(0.0, self.wall - self.locks - self.envs - self.tests - self.site)

    def row(self) -> str:
        return (f"| {self.label} | {self.wall:.1f} s | {self.cells} | {self.locks:.1f} s | {self.envs:.1f} s | "
                f"{self.tests:.1f} s | {self.site:.1f} s | {self.rest:.1f} s | {self.status} | "
                f"{self.load[0]:.1f} / {self.load[1]:.1f} |")


def _split(results: Path, since: set[Path] | None = None) -> tuple[int, float, float]:
    """Cells run, seconds building environments and seconds in pytest, from the results files a run wrote."""
    runs = [r for r in results_files.read_all(results) if since is None or r.path not in since]
    env = sum(r.timings["environment"] for r in runs)
    tests = sum(r.timings["pytest"] for r in runs)
    return len(runs), round(env, 1), round(tests, 1)


def _seconds(pattern: str, log: str) -> float:
    return round(sum(float(m) for m in re.findall(pattern, log)), 1)


def _run(label: str, clone: Path, env: dict[str, str]) -> Measured:
    """One run of the main job in `clone`, timed, with the split of its time."""
    results = clone / results_files.RESULTS_DIR
    before = set(results_files.result_paths(results))
    load_start = os.getloadavg()[0]
    started = time.monotonic()
    done = subprocess.run(COMMAND, cwd=clone, env=env, capture_output=True, text=True, check=False)
    wall = round(time.monotonic() - started, 1)
    log = done.stdout + done.stderr
    (clone.parent / f"{label}.log").write_text(log, encoding="utf-8")
    cells, envs, tests = _split(results, before)
    return Measured(label, wall, done.returncode, cells, _seconds(r"locks of \d+ cell\(s\) in ([\d.]+) s", log),
                    envs, tests, _seconds(r"site built in ([\d.]+) s", log), (load_start, os.getloadavg()[0]))


def _commit_results(clone: Path) -> None:
    """Commit the results files a run wrote in the clone (none when every incident was reused)."""
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run([*git, "add", "--", results_files.RESULTS_DIR], cwd=clone, check=True)
    subprocess.run([*git, "commit", "-qm", "the cold run's results", "--allow-empty"], cwd=clone, check=True)


def measure(work: Path, *, empty_cache: bool, edited: str) -> str:
    """Clone the committed tree, run the main job cold, warm and edited, and word the result as the page's block."""
    clone = work / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("INCIDENTKB_RESULTS", None)  # the clone's own folder: what it runs is written there, never committed
    if empty_cache:
        env["UV_CACHE_DIR"] = str(work / "uv-cache")
    rows = [_run("cold", clone, env)]
    _commit_results(clone)  # what a cold run had to run is kept, as people commit the runs they keep
    rows.append(_run("warm", clone, env))
    path = clone / edited
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited by bench/main_job.py\n", encoding="utf-8")
    rows.append(_run("one incident edited", clone, env))
    return _block(rows, commit=commit, empty_cache=empty_cache, edited=edited)


def _block(rows: list[Measured], *, commit: str, empty_cache: bool, edited: str) -> str:
    cache = "an empty download cache (uv's, in a folder of its own)" if empty_cache else "the download caches as they were"
    return "\n".join([
        "## The main job: cold, warm and one incident edited",
        "",
        f"Measured by `bench/main_job.py` on {dt.date.today()}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, incidentkb at commit {commit}. The README's "
        f"main job (`{' '.join(COMMAND)}`: every cell this host can run, then the site) in a fresh clone (cold: no "
        f"environment in its .nox/, no kept lock, {cache}), then the same command again (warm), then again after "
        f"`{edited}` gained a line (edited); whatever the cold run had to run was committed before the warm one, as "
        f"people commit the runs they keep. Locks: the cells' `uv pip compile`s, all at once; environments and "
        "pytest: the sums over the results files the run wrote (a cell whose every incident a committed run "
        "stands for writes none and builds no environment); site: `mkdocs build`; rest: nox's start, imports, "
        "reading records and results, the table. The machine is shared: the load average (1 minute) at the start "
        "and end of each run says how much other work slowed it.",
        "",
        "| run | wall | cells run | locks | environments | pytest | site | rest | exit | load start / end |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        *[row.row() for row in rows],
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    parser.add_argument("--warm-cache", action="store_true", help="use the download caches as they are")
    parser.add_argument("--edit", default=EDITED, help=f"the regression the edited run changes (default {EDITED})")
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        text = measure(args.keep, empty_cache=not args.warm_cache, edited=args.edit)
    else:
        with tempfile.TemporaryDirectory(prefix="incidentkb-main-job-") as tmp:
            text = measure(Path(tmp), empty_cache=not args.warm_cache, edited=args.edit)
    print(text)
    scale.write_page(text, scale.PAGE, start=START, end=END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
