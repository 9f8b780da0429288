"""How the main job's cost grows with the knowledge base: cold, warm unchanged and one incident edited, at 5, 50
and 200 incidents.

The incidents are synthetic (the repository's own are set aside in the bench's clone: their cost would be the
same at every size, and the GPU and `requires` ones need what a 2-core CPU host measures nothing about). Each is
a small real regression: its cases multiply a float64 tensor with a float32 weight (torch refuses: the
symptom), cast it to double (still refused: the failed attempt), cast it to float32 (the fix) and train a step
of a tiny linear model (the alternative fix), with real torch on the CPU; no sleeps. They spread over the cells
as today's incidents do: three in five depend on torch alone, so they run in one cell per torch version, and
two in five on transformers and trl too, so they run in every cell.

The matrix is the repository's, cut to torch 2.13.0 x the three pinned stacks of its main line (4.51.3, 4.57.6,
5.24.0) on CPU: 3 cells, so that three sizes fit on a shared 2-core machine; the full main job is
bench/main_job.py's. Everything runs in one clone, whose environments are built once before the first size is
measured (cold here means no stored run, not a new environment: environments cost the same at every size and
are measured by bench/main_job.py). For each size: the incidents are written and committed, every results file
removed; cold is the main job (`nox -s regressions docs`) with no stored run; its results files are then
committed, as people commit the runs they keep; warm is the same command again; edited is the command after
one regression (of an incident that runs in every cell) gained a line. Writes its own block of
docs/performance.md.

    python bench/growth.py [--sizes 5 50 200] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
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
import synthetic  # noqa: E402 - the records' shape is shared, not copied

START = "<!-- bench/growth.py: start (generated: rerun the benchmark rather than edit) -->"
END = "<!-- bench/growth.py: end -->"
COMMAND = ("nox", "-s", "regressions", "docs")
STACKS = ("4.51.3", "4.57.6", "5.24.0")
SIGNATURES = """\
    - exception: RuntimeError
      message: 'expected (?:m1|mat1) and (?:m2|mat2) to have the same dtype, but got: (?:double != float|float != double)'"""

REGRESSION = '''\
"""Regression of the synthetic incident {id}: float64 labels against a float32 weight (real torch, CPU)."""

import pytest
import torch

from incidentkb.match.signatures import any_matches

ID = "{id}"


def weight():
    torch.manual_seed({n})
    return torch.randn({k}, 8)


def labels():
    return torch.rand(4, {k}, dtype=torch.float64)


@pytest.mark.incident(ID, "symptom")
def test_symptom(observe, incident_record):
    with observe.catching():
        torch.matmul(labels(), weight())
    assert any_matches(incident_record.symptom.signatures, observe.error), observe.error


@pytest.mark.incident(ID, "attempt:visible-devices-after-import")
def test_attempt_after_import(observe, incident_record):
    with observe.catching():
        torch.matmul(labels().double(), weight())
    assert any_matches(incident_record.symptom.signatures, observe.error), observe.error


@pytest.mark.incident(ID, "fix")
def test_fix(observe):
    out = torch.matmul(labels().to(torch.float32), weight())
    observe.value("shape", list(out.shape))
    assert out.shape == (4, 8) and bool(torch.isfinite(out).all())


@pytest.mark.incident(ID, "fix:torchrun")
def test_fix_torchrun(observe):
    model = torch.nn.Linear({k}, 1)
    loss = model(labels().float()).pow(2).mean()
    loss.backward()
    observe.value("loss", float(loss))
    assert model.weight.grad is not None and bool(torch.isfinite(model.weight.grad).all())
'''


def record(number: int, rng: object) -> str:
    """A valid record of the synthetic shape whose symptom is torch's dtype error; 3 in 5 depend on torch alone."""
    text = synthetic.record_text(number, rng)  # type: ignore[arg-type]
    head, rest = text.split("  signatures:\n", 1)
    rest = rest.split("  case: test_symptom", 1)[1]
    text = f"{head}  signatures:\n{SIGNATURES}\n  case: test_symptom{rest}"
    if number % 5 < 3:
        text = text.replace("depends_on: [torch, transformers, trl]", "depends_on: [torch]")
    return text


def write_incidents(clone: Path, numbers: range) -> list[str]:
    """The synthetic records and their regressions, in place of every record and regression the clone had."""
    import random

    rng = random.Random(0)
    for old in [*(clone / "incidents").glob("*.yaml"), *(clone / "regressions").glob("test_*.py")]:
        old.unlink()
    ids = []
    for number in numbers:
        ids.append(synthetic.incident_id(number))
        (clone / "incidents" / f"{ids[-1]}.yaml").write_text(record(number, rng), encoding="utf-8")
        (clone / "regressions" / f"test_synthetic_{number:04d}.py").write_text(
            REGRESSION.format(id=ids[-1], n=number, k=3 + number % 5), encoding="utf-8")
    return ids


def cut_matrix(clone: Path) -> None:
    """The clone's matrix cut to torch 2.13.0 x `STACKS` on CPU (the sections of the real file, kept whole)."""
    path = clone / "regressions" / "matrix.toml"
    kept, keep = [], True
    for block in path.read_text(encoding="utf-8").split("\n[["):
        name = block.split("]]", 1)[0]
        body = block.split("\n", 1)[1] if "\n" in block else ""
        if name == "torch":
            keep = 'id = "2.13.0"' in body
        elif name == "stack":
            keep = any(f'id = "{s}"' in body for s in STACKS)
        elif name == "gpus":
            keep = "count = 0" in body
        elif name == "exclude":
            keep = False
        kept.append(block) if keep or not kept else None
    path.write_text("\n[[".join(kept), encoding="utf-8")


def _git(clone: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", *args], cwd=clone,
                   check=True, capture_output=True)


def _main_job(clone: Path, env: dict[str, str], repeat: int = 1) -> tuple[float, int, float, float, int]:
    """The best of `repeat` runs (the same work each time: nothing they write is committed): wall seconds, exit
    status, the load at the start of the best run, its CPU seconds (the main job's processes, all of them),
    which other work on a shared machine slows far less than the wall-clock time, and the results files it wrote."""
    best: tuple[float, int, float, float, int] | None = None
    for _ in range(repeat):
        load, cpu = os.getloadavg()[0], _children_cpu()
        started, before = time.monotonic(), _count_new(clone)
        done = subprocess.run(COMMAND, cwd=clone, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        run = (round(time.monotonic() - started, 1), done.returncode, load, round(_children_cpu() - cpu, 1),
               _count_new(clone) - before)
        best = run if best is None or run[0] < best[0] else best
    assert best is not None
    return best


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _count_new(clone: Path) -> int:
    listed = subprocess.run(["git", "status", "--porcelain", "--", "regressions/results"], cwd=clone,
                            capture_output=True, text=True, check=True).stdout
    return len([line for line in listed.splitlines() if line.strip()])


def measure_size(clone: Path, env: dict[str, str], size: int, first: int) -> dict[str, tuple[float, int, float, float, int]]:
    """Cold, warm (best of 3) and edited (best of 2) at one size: (wall, exit, load at start, CPU seconds,
    results files written) each."""
    ids = write_incidents(clone, range(first, first + size))
    for old in (clone / "regressions" / "results").glob("*.json"):
        old.unlink()  # the previous size's runs: this is a scratch clone, and each size starts with none stored
    _git(clone, "add", "-A")
    _git(clone, "commit", "-qm", f"{size} synthetic incidents")
    figures = {}
    figures["cold"] = _main_job(clone, env)
    _git(clone, "add", "-A")
    _git(clone, "commit", "-qm", "their results")
    figures["warm"] = _main_job(clone, env, repeat=3)
    edited = next(n for n in range(first, first + size) if n % 5 >= 3)  # one that runs in every cell
    path = clone / "regressions" / f"test_synthetic_{edited:04d}.py"
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    figures["edited"] = _main_job(clone, env, repeat=2)
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=clone, check=True)
    subprocess.run(["git", "clean", "-qfd", "--", "regressions/results"], cwd=clone, check=True)
    assert len(ids) == size
    return figures


def exponent(n1: int, t1: float, n2: int, t2: float) -> float:
    """k in t ~ n^k between two sizes."""
    return math.log(t2 / t1) / math.log(n2 / n1)


def measure(work: Path, sizes: list[int]) -> str:
    clone = work / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
    cut_matrix(clone)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("INCIDENTKB_RESULTS", None)
    write_incidents(clone, range(9000, 9001))  # the environments, built once before anything is measured
    subprocess.run(("nox", "-s", "regressions"), cwd=clone, env={**env, "INCIDENTKB_RESULTS": str(work / "warm-up")},
                   capture_output=True, check=False)
    figures = {size: measure_size(clone, env, size, first=1000 * (i + 1)) for i, size in enumerate(sizes)}
    return _block(figures, commit=commit)


def _figure(figure: tuple[float, int, float, float, int]) -> str:
    wall, status, load, cpu, files = figure
    return f"{wall:.1f} s ({cpu:.1f} s CPU; exit {status}, load {load:.1f}, {files} file{'s' if files != 1 else ''})"


def _block(figures: dict[int, dict[str, tuple[float, int, float, float, int]]], *, commit: str) -> str:
    sizes, kinds = sorted(figures), ("cold", "warm", "edited")
    rows = [f"| {n} | " + " | ".join(_figure(figures[n][k]) for k in kinds) + " |" for n in sizes]
    growth = [f"| {a} - {b} | " + " | ".join(
        f"{exponent(a, figures[a][k][3], b, figures[b][k][3]):.2f} ({exponent(a, figures[a][k][0], b, figures[b][k][0]):.2f})"
        for k in kinds) + " |" for a, b in zip(sizes, sizes[1:])]
    return "\n".join([
        "## Growth: the main job at 5, 50 and 200 incidents",
        "",
        f"Measured by `bench/growth.py` on {dt.date.today()}, {platform.system()} {platform.machine()}, {os.cpu_count()} "
        f"cores, Python {platform.python_version()}, incidentkb at commit {commit}. The main job (`{' '.join(COMMAND)}`) "
        "on synthetic incidents whose cases are small real torch regressions (a dtype error, a failed attempt, two "
        "fixes), three in five depending on torch alone and two in five on transformers and trl too, in the "
        "repository's matrix cut to torch 2.13.0 x stacks 4.51.3, 4.57.6, 5.24.0 on CPU (3 cells), environments "
        "built beforehand. Cold: no stored run; warm: nothing changed since the cold run's results were "
        "committed (best of 3); edited: one regression (of an incident that runs in every cell) gained a line "
        "(best of 2). Each figure: wall time (the CPU time of all the main job's processes; its exit status, the "
        "1-minute load average at its start, the results files it wrote). The machine is shared: the load says "
        "how much other work slowed each run, which the CPU time feels far less than the wall time.",
        "",
        "| incidents | cold | warm unchanged | one incident edited |",
        "|--:|--:|--:|--:|",
        *rows,
        "",
        "How each grows: the exponent k in time ~ n^k between two sizes (0 is flat, 1 linear), of CPU time (of wall "
        "time in brackets).",
        "",
        "| from - to | cold | warm unchanged | one incident edited |",
        "|---|--:|--:|--:|",
        *growth,
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 50, 200])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        text = measure(args.keep, args.sizes)
    else:
        with tempfile.TemporaryDirectory(prefix="incidentkb-growth-") as tmp:
            text = measure(Path(tmp), args.sizes)
    print(text)
    scale.write_page(text, scale.PAGE, start=START, end=END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
