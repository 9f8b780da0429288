"""The README's main job, cold and warm: `nox -s regressions docs` in a fresh clone, then again in the same clone.

Cold is what a new user's first run costs on a machine whose download caches (uv's, pip's) are as they are: every
cell's environment is built, every case runs, the site is built. Warm is the same command again: environments are
reused, so what is left is the cases themselves and the site. Each cell's own split (environment, pytest) is read
from the results files the runs wrote, as bench/matrix_overhead.py reads them. Writes its own block of
docs/performance.md.

    python bench/main_job.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "src"))

import scale  # noqa: E402 - the page writer is shared, not copied
from incidentkb.results import runs as results_files  # noqa: E402

START = "<!-- bench/main_job.py: start (generated: rerun the benchmark rather than edit) -->"
END = "<!-- bench/main_job.py: end -->"
COMMAND = ("nox", "-s", "regressions", "docs")


def _run(clone: Path, results: Path) -> tuple[float, int]:
    """One run of the main job in `clone`; its wall time and exit status."""
    env = {**os.environ, "INCIDENTKB_RESULTS": str(results), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    started = time.monotonic()
    done = subprocess.run(COMMAND, cwd=clone, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return round(time.monotonic() - started, 1), done.returncode


def _split(results: Path) -> tuple[int, float, float]:
    """Cells run, seconds building environments and seconds in pytest, from the results files of one run."""
    runs = results_files.read_all(results)
    env = sum(r.timings["environment"] for r in runs)
    tests = sum(r.timings["pytest"] for r in runs)
    return len(runs), round(env, 1), round(tests, 1)


def measure(work: Path) -> str:
    """Clone the committed tree, run the main job twice, and word the result as the page's block."""
    clone = work / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
    rows = []
    for label in ("cold", "warm"):
        results = work / f"results-{label}"
        wall, status = _run(clone, results)
        cells, env, tests = _split(results)
        rows.append(f"| {label} | {wall:.1f} s | {cells} | {env:.1f} s | {tests:.1f} s | {status} |")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return "\n".join([
        "## The main job: cold and warm",
        "",
        f"Measured by `bench/main_job.py` on {dt.date.today()}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores (load average at the end: {load}), Python {platform.python_version()}, incidentkb at "
        f"commit {commit}. The README's main job (`{' '.join(COMMAND)}`: every cell this host can run, then the site) "
        "in a fresh clone (cold: no environment in its .nox/, the download caches as they were), then the same "
        "command again (warm). Environments and pytest are the sums over the cells' results files.",
        "",
        "| run | wall | cells run | environments | pytest | exit |",
        "|---|--:|--:|--:|--:|--:|",
        *rows,
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        text = measure(args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="incidentkb-main-job-") as tmp:
            text = measure(Path(tmp))
    print(text)
    scale.write_page(text, scale.PAGE, start=START, end=END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
