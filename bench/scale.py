"""How incidentkb scales with the size of the knowledge base: `check`, `match` and the site, at 10 to 5,000 incidents.

Each size gets a fresh synthetic knowledge base (bench/synthetic.py; generated in a temporary folder, never
committed). Every tool runs as the user runs it, as its own process, interpreter start-up included, and is
measured from outside: wall-clock time, CPU time and peak resident memory of that process (`os.wait4`). The
site is built twice per size, side by side in the same run: ours (this repository's mkdocs.yml and docs/, the
incidentkb plugin, results files cloned from regressions/results/ for every synthetic incident), and a naive
MkDocs Material site of the same incidents as plain pages, every one listed in the navigation. Our site is
also checked for what its small navigation must not cost: every incident is linked from the home table, from
its category page and from each of its tag pages, and is in the search index.

The goals (issue 7): check and match grow linearly and stay under 1 s at 1,000 records; at 1,000 incidents our
site builds in at most a quarter of the naive site's time and output size.

    nox -s bench                                     # all sizes, the table into docs/performance.md
    .venv/bin/python bench/scale.py --sizes 10 100 --no-write
    .venv/bin/python bench/scale.py --site-sizes 10 100 1000 --naive-sizes 10 100 1000

The table is printed as Markdown and written between the markers of docs/performance.md (only that block is
rewritten; the page is created with a short introduction when it does not exist).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

sys.path.insert(0, str(Path(__file__).parent))  # the shared generator
from synthetic import TRACEBACK, generate  # noqa: E402

__all__ = ["Run", "measure", "main"]

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "performance.md"
START = "<!-- bench/scale.py: start (generated: rerun the benchmark rather than edit) -->"
END = "<!-- bench/scale.py: end -->"
#: A results file's cases are cloned from this incident's: its roles are those of every synthetic record.
TEMPLATE_INCIDENT = "2025-04-21-llm-sft-batch-size-multi-gpu"
ROLES = {"symptom": "test_symptom", "attempt:visible-devices-after-import": "test_attempt_after_import",
         "fix": "test_fix", "fix:torchrun": "test_fix_torchrun"}
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass(frozen=True)
class Run:
    """One process, measured from outside."""

    wall_s: float
    cpu_s: float
    peak_mb: float
    returncode: int
    output: str
    """Its standard output and error, together."""


# Runs the measured command and reports its own rusage. Linux starts a child's peak memory at its parent's (exec
# copies the parent's high-water mark), so the command is started from this small process, not from the benchmark,
# whose memory grows with the records it generates.
_LAUNCHER = """
import json, os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(report, "w") as out:
    json.dump({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss": usage.ru_maxrss,
               "code": os.waitstatus_to_exitcode(status)}, out)
"""


def measure(argv: Sequence[str], cwd: Path, timeout: float = 1800) -> Run:
    """Run `argv` (its first item an absolute path) and measure that process alone: time, CPU and peak memory."""
    with tempfile.TemporaryDirectory() as tmp:
        report, output = Path(tmp) / "rusage.json", Path(tmp) / "output"
        with output.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-c", _LAUNCHER, str(report), *argv], cwd=cwd, env=ENV,
                                       stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                raise
        usage = json.loads(report.read_text())
        text = output.read_bytes().decode("utf-8", "replace")
    # ru_maxrss is in KiB on Linux, in bytes on macOS; MB here are 10^6 bytes, as for the site's output.
    peak = usage["maxrss"] * (1 if sys.platform == "darwin" else 1024) / 1e6
    return Run(usage["wall"], usage["cpu"], peak, usage["code"], text)


def best(runs: list[Run]) -> Run:
    """The fastest run (the one least disturbed by other work), with the highest peak memory seen."""
    fastest = min(runs, key=lambda r: r.wall_s)
    return Run(fastest.wall_s, fastest.cpu_s, max(r.peak_mb for r in runs), fastest.returncode, fastest.output)


def repeat(argv: Sequence[str], cwd: Path, times: int) -> Run:
    return best([measure(argv, cwd) for _ in range(times)])


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


# --- the projects -----------------------------------------------------------------------------------------


def _cases_lists(data: Any) -> Iterable[list[Any]]:
    """Every `cases` list of a results file, wherever its schema keeps it (top level, or under `report`)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "cases" and isinstance(value, list):
                yield value
            elif isinstance(value, dict):
                yield from _cases_lists(value)


def results_templates() -> list[tuple[str, str]]:
    """This repository's results files (name, text), read once, so every size clones the same ones even while
    a matrix run adds files."""
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted((REPO / "regressions" / "results").glob("*.json"))]


def synthetic_results(ids: list[str], into: Path, templates: list[tuple[str, str]]) -> int:
    """Clone the results files `templates` for the synthetic incidents; returns how many files were written.

    Each case of the template incident becomes the same case of every synthetic incident, so every page and
    the matrix show as many runs as a knowledge base of that size whose matrix has been run on this machine.
    """
    into.mkdir(parents=True, exist_ok=True)
    written = 0
    for name, text in templates:
        data = json.loads(text)
        lists = list(_cases_lists(data))
        for cases in lists:
            template = {c.get("role"): c for c in cases if isinstance(c, dict) and c.get("incident") == TEMPLATE_INCIDENT}
            cases[:] = [
                {**template[role], "incident": incident, "nodeid": f"regressions/test_synthetic_{n:04d}.py::{name}"}
                for n, incident in enumerate(ids) for role, name in ROLES.items() if role in template
            ]
        if not any(lists):
            continue
        if isinstance(data.get("incidents"), dict) and "ran" in data["incidents"]:
            data["incidents"]["ran"] = list(ids)
        (into / name).write_text(json.dumps(data, indent=1), encoding="utf-8")
        written += 1
    return written


def our_site(kb: Path, ids: list[str], project: Path, templates: list[tuple[str, str]]) -> int:
    """This repository's site sources with the synthetic records and results; returns the results files written."""
    shutil.copy(REPO / "mkdocs.yml", project / "mkdocs.yml")
    shutil.copytree(REPO / "docs", project / "docs")
    shutil.copytree(kb / "incidents", project / "incidents")
    return synthetic_results(ids, project / "regressions" / "results", templates)


def naive_site(kb: Path, project: Path) -> None:
    """The same incidents as plain Material pages, each listed in the navigation (MkDocs' default way)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    docs = project / "docs" / "incidents"
    docs.mkdir(parents=True)
    nav = []
    for path in sorted((kb / "incidents").glob("*.yaml")):
        record = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        lines = [f"# {record['title']}", "", f"{record['category']}, {', '.join(record['tags'])}, {record['date']}",
                 "", "## Symptom", "", record["symptom"]["summary"], "", "```text",
                 record["symptom"]["error_text"].rstrip(), "```", "", "## Cause", "", record["cause"], "",
                 "## Failed attempts", ""]
        lines += [f"- {a['tried']} {a['why_failed']}" for a in record["failed_attempts"]]
        lines += ["", "## Fix", "", record["fix"]["summary"], "", record["fix"]["explanation"], ""]
        (docs / f"{record['id']}.md").write_text("\n".join(lines), encoding="utf-8")
        nav.append({record["title"]: f"incidents/{record['id']}.md"})
    (project / "docs" / "index.md").write_text("# Incidents\n\nEvery incident is in the navigation.\n")
    config = {"site_name": "naive", "theme": {"name": "material"}, "plugins": ["search"],
              "nav": [{"Home": "index.md"}, {"Incidents": nav}]}
    (project / "mkdocs.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def build(project: Path, times: int) -> tuple[Run, float]:
    """`mkdocs build` of `project`; the best run and the output's size in MB.

    Not strict: a warning (say, a page not yet in the navigation) must not stop the timing; `warnings` reports it.
    """
    argv = [sys.executable, "-m", "mkdocs", "build", "--no-strict", "-f", str(project / "mkdocs.yml"),
            "-d", str(project / "site")]
    run = repeat(argv, project, times)
    if run.returncode != 0:
        raise SystemExit(f"mkdocs build failed in {project}:\n{run.output[-3000:]}")
    return run, folder_mb(project / "site")


_LINK = re.compile(r'href="(?:\.\./)*incidents/([\w-]+)\.html"')


def _linked(pages: Iterable[Path]) -> dict[str, set[str]]:
    """Incident id -> the pages (by name) that link to it."""
    found: dict[str, set[str]] = {}
    for page in pages:
        for incident in set(_LINK.findall(page.read_text(encoding="utf-8"))):
            found.setdefault(incident, set()).add(page.stem)
    return found


def warnings(run: Run) -> list[str]:
    """The warnings MkDocs printed."""
    return [line.split("-", 1)[-1].strip() for line in run.output.splitlines() if line.startswith("WARNING")]


def unreachable(kb: Path, site: Path) -> list[str]:
    """Each incident that the home table, its category page, one of its tag pages or search does not reach."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    home = set(_LINK.findall((site / "index.html").read_text(encoding="utf-8")))
    categories = _linked((site / "categories").glob("*.html"))
    tags = _linked((site / "tags").glob("*.html"))
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    searched = {m.group(1) for d in index["docs"] if (m := re.match(r"incidents/([\w-]+)\.html", d["location"]))}
    missing = []
    for path in sorted((kb / "incidents").glob("*.yaml")):
        record = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        rid = record["id"]
        if rid not in home:
            missing.append(f"{rid}: not in the home table")
        if len(categories.get(rid, ())) != 1:
            missing.append(f"{rid}: linked from {len(categories.get(rid, ()))} category pages, not 1")
        if tags.get(rid, set()) != set(record["tags"]):
            missing.append(f"{rid}: tag pages {sorted(tags.get(rid, ()))}, expected {sorted(record['tags'])}")
        if rid not in searched:
            missing.append(f"{rid}: not in the search index")
    return missing


# --- one size ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    size: int
    check: Run | None = None
    match: Run | None = None
    site: tuple[Run, float] | None = None
    naive: tuple[Run, float] | None = None
    unreachable: list[str] = field(default_factory=list)
    results_files: int = 0


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "incidentkb.cli", *args]


def run_size(size: int, args: argparse.Namespace, work: Path) -> Row:
    row = Row(size)
    kb = work / f"kb-{size}"
    ids = generate(kb, size)
    row.check = repeat(cli("check", "--root", str(kb)), kb, args.repeat)
    if row.check.returncode != 0:
        raise SystemExit(f"incidentkb check failed on the synthetic records:\n{row.check.output[-3000:]}")
    traceback = work / "traceback.txt"
    traceback.write_text(TRACEBACK, encoding="utf-8")
    row.match = repeat(cli("match", "--root", str(kb), str(traceback)), kb, args.repeat)
    if row.match.returncode != 0 or not row.match.output.startswith("1. Synthetic incident 0:"):
        raise SystemExit(f"incidentkb match did not find synthetic incident 0:\n{row.match.output[-3000:]}")
    if size in args.site_sizes:
        project = work / f"site-{size}"
        project.mkdir()
        row.results_files = our_site(kb, ids, project, args.templates)
        row.site = build(project, args.site_repeat)
        row.unreachable = unreachable(kb, project / "site")
        shutil.rmtree(project)
    if size in args.naive_sizes:
        project = work / f"naive-{size}"
        project.mkdir()
        naive_site(kb, project)
        row.naive = build(project, args.site_repeat)
        shutil.rmtree(project)
    shutil.rmtree(kb)
    return row


# --- the report -------------------------------------------------------------------------------------------


def _s(run: Run | None) -> str:
    return "" if run is None else f"{run.wall_s:.2f} s ({run.cpu_s:.2f} CPU)"


def _mb(run: Run | None) -> str:
    return "" if run is None else f"{run.peak_mb:.0f} MB"


def _exponent(a: float, b: float, n_a: int, n_b: int) -> str:
    """k in time ~ n^k between two sizes: 1 is linear, 2 quadratic."""
    return f"{math.log(b / a) / math.log(n_b / n_a):.2f}" if a > 0 and b > 0 else "-"


def table(rows: list[Row], startup: Run) -> list[str]:
    lines = [
        "| incidents | `check` time | `check` peak | `match` time | `match` peak | our site: build | peak | output "
        "| naive site: build | peak | output |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| 0 (start-up) | {_s(startup)} | {_mb(startup)} | | | | | | | | |",
    ]
    for row in rows:
        site_run, site_out = row.site if row.site else (None, None)
        naive_run, naive_out = row.naive if row.naive else (None, None)
        lines.append(
            f"| {row.size:,} | {_s(row.check)} | {_mb(row.check)} | {_s(row.match)} | {_mb(row.match)} "
            f"| {_s(site_run)} | {_mb(site_run)} | {'' if site_out is None else f'{site_out:.1f} MB'} "
            f"| {_s(naive_run)} | {_mb(naive_run)} | {'' if naive_out is None else f'{naive_out:.1f} MB'} |"
        )
    return lines


def growth(rows: list[Row], startup: Run) -> list[str]:
    """The exponent k of time ~ n^k between consecutive sizes, of the time above start-up (CPU time: less noisy)."""
    lines = ["| from - to | `check` | `match` | our site | our site's output | naive site | naive site's output |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    base = startup.cpu_s
    for a, b in zip(rows, rows[1:]):
        cells = []
        for get in (lambda r: r.check.cpu_s - base if r.check else 0, lambda r: r.match.cpu_s - base if r.match else 0,
                    lambda r: r.site[0].cpu_s if r.site else 0, lambda r: r.site[1] if r.site else 0,
                    lambda r: r.naive[0].cpu_s if r.naive else 0, lambda r: r.naive[1] if r.naive else 0):
            cells.append(_exponent(get(a), get(b), a.size, b.size))
        lines.append(f"| {a.size:,} - {b.size:,} | " + " | ".join(cells) + " |")
    return lines


def verdicts(rows: list[Row]) -> list[str]:
    lines = []
    at = {r.size: r for r in rows}
    thousand = at.get(1000)
    if thousand and thousand.check and thousand.match:
        for name, run in (("check", thousand.check), ("match", thousand.match)):
            met = "met" if run.wall_s < 1 else "NOT met"
            lines.append(f"- `incidentkb {name}` at 1,000 records: {run.wall_s:.2f} s wall, {run.cpu_s:.2f} s CPU "
                         f"(goal: under 1 s): {met}.")
    if thousand and thousand.site and thousand.naive:
        time_ratio = thousand.site[0].wall_s / thousand.naive[0].wall_s
        cpu_ratio = thousand.site[0].cpu_s / thousand.naive[0].cpu_s
        size_ratio = thousand.site[1] / thousand.naive[1]
        met = "met" if time_ratio <= 0.25 and size_ratio <= 0.25 else "NOT met"
        lines.append(f"- Our site at 1,000 incidents against the naive one, built in the same run: "
                     f"{time_ratio:.2f} of its build time and {size_ratio:.2f} of its output (goal: at most 0.25 "
                     f"of each): {met}. In CPU time, its page worker's included: {cpu_ratio:.2f}.")
    for row in rows:
        said = warnings(row.site[0]) if row.site else []
        if said:
            lines.append(f"- Our site's build at {row.size:,} incidents printed {len(said)} warnings, e.g. {said[0]}")
    for row in rows:
        if row.site:
            reached = row.size - len({m.split(":")[0] for m in row.unreachable})
            lines.append(f"- {row.size:,} incidents: {reached:,} reachable from the home table, their category "
                         f"page, each of their tag pages and search"
                         + (f"; not reached: {'; '.join(row.unreachable[:5])}" if row.unreachable else "."))
    return lines


def machine() -> str:
    import importlib.metadata as md

    versions = ", ".join(f"{p} {md.version(p)}" for p in ("mkdocs", "mkdocs-material", "pydantic", "PyYAML"))
    git = ["git", "-C", str(REPO)]
    try:
        commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "--", "src", "bench", "mkdocs.yml", "docs",
                                ":(exclude)docs/performance.md"],
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = dirty = ""
    if commit:
        versions += f", incidentkb at commit {commit}" + (" with uncommitted changes" if dirty else "")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{dt.date.today().isoformat()}, {platform.system()} {platform.machine()}, {os.cpu_count()} cores "
            f"(load average at the end: {load}), Python {platform.python_version()}, {versions}")


def report(rows: list[Row], startup: Run, args: argparse.Namespace) -> str:
    results = max((r.results_files for r in rows), default=0)
    parts = [
        f"Measured by `bench/scale.py` on {machine()}. Times are the best of {args.repeat} runs for `check` "
        f"and `match`, {args.site_repeat} for each site build, wall-clock with CPU time in brackets (other work "
        "on the machine slows the wall-clock time, not the CPU time); peak is the process's peak resident memory. "
        "Our site's build counts its page worker too (from 200 generated pages on a machine of two or more CPUs "
        "the plugin renders its pages in a second process beside MkDocs): its CPU time is in the brackets, which "
        "can then exceed the wall-clock time, and its peak is the higher of the two processes'.",
        "",
        *table(rows, startup),
        "",
        f"Our site is this repository's mkdocs.yml and docs/ with the synthetic records and {results} results "
        "files (this repository's, their cases cloned for every synthetic incident); the naive site is MkDocs "
        "Material with the same incidents as plain pages, every one listed in the navigation. Sizes not built: "
        + (", ".join(f"{r.size:,}" for r in rows if not r.site) or "none") + " for our site, "
        + (", ".join(f"{r.size:,}" for r in rows if not r.naive) or "none") + " for the naive one"
        + " (the naive site's navigation is repeated in every page, so its time and output grow with the square "
        "of the number of incidents).",
        "",
        "How each grows: the exponent k in cost ~ n^k between two sizes (1 is linear, 2 quadratic), of CPU "
        "time above the start-up for `check` and `match`, of CPU time for the site builds.",
        "",
        *growth(rows, startup),
        "",
        *verdicts(rows),
    ]
    return "\n".join(parts)


INTRO = """\
# Performance

How long `incidentkb check`, `incidentkb match` and the site's build take as the knowledge base grows, and how
much memory and output they need. The numbers below are written by the benchmark itself (`nox -s bench`, or
`python bench/scale.py`) on synthetic records shaped like real ones; rerun it rather than edit them.

"""


def write_page(text: str, page: Path = PAGE, *, start: str = START, end: str = END) -> None:
    """Put `text` between the markers of `page`: only that block is rewritten, the rest is kept as it is.

    Other benchmarks (bench/matrix_overhead.py) pass their own markers, so each rewrites only its own block."""
    block = f"{start}\n\n{text}\n\n{end}"
    if not page.exists():
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(INTRO + block + "\n", encoding="utf-8")
        return
    current = page.read_text(encoding="utf-8")
    if start in current and end in current and current.index(start) < current.index(end):
        before, rest = current.split(start, 1)
        after = rest.split(end, 1)[1]
        page.write_text(before + block + after, encoding="utf-8")
    else:
        page.write_text(current.rstrip("\n") + "\n\n" + block + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 5000], metavar="N")
    parser.add_argument("--site-sizes", type=int, nargs="*", default=[10, 100, 1000, 5000], metavar="N",
                        help="sizes at which our site is built (default: every size)")
    parser.add_argument("--naive-sizes", type=int, nargs="*", default=[10, 100, 1000], metavar="N",
                        help="sizes at which the naive site is built (default: up to 1,000; it grows quadratically)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of check and match per size; the best is kept")
    parser.add_argument("--site-repeat", type=int, default=1, help="builds of each site per size")
    parser.add_argument("--no-write", dest="write", action="store_false", help="print only; leave docs/ alone")
    args = parser.parse_args(argv)
    args.templates = results_templates()
    with tempfile.TemporaryDirectory(prefix="incidentkb-scale-") as tmp:
        work = Path(tmp)
        (work / "empty" / "incidents").mkdir(parents=True)
        startup = repeat(cli("check", "--root", str(work / "empty")), work, args.repeat)
        rows = []
        for size in sorted(args.sizes):
            rows.append(run_size(size, args, work))
            print(table(rows, startup)[-1], file=sys.stderr, flush=True)
    text = report(rows, startup, args)
    print(text)
    if args.write:
        write_page(text)
        print(f"\nwrote the table into {PAGE.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
