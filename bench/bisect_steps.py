"""What a bisection costs: steps against the number of releases, cold and warm, and the real ORPO steps (issue 13).

1. A bisection over 25 releases of a toy package (handmade wheels in a folder, `--no-index`: no network), its
   case changing at one release, run for real (`bisect_run.run_bisection`: a uv environment per step, the case
   in fresh pytest processes, 2 runs a step): cold (no step environment yet) and warm (the same bisection again,
   every environment reused). It shows the step count (both ends, then log2 of what lies between) and what the
   machinery costs per step when the case itself costs nothing.
2. The committed bisections (regressions/results/bisect/*.json, real runs of real cases): per step, the
   environment (built or reused) and the pytest runs, from the times each results file holds.

    python bench/bisect_steps.py              # both, written into docs/performance.md (its own block)
    python bench/bisect_steps.py --no-write   # print only
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import platform
import site
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(REPO / "src"))
import scale  # noqa: E402 - the page writer is shared, not copied

from incidentkb.matrix import bisect_run, envs  # noqa: E402
from incidentkb.matrix.axes import load_matrix  # noqa: E402

START = "<!-- bench/bisect_steps.py: start (generated: rerun the benchmark rather than edit) -->"
END = "<!-- bench/bisect_steps.py: end -->"
RELEASES, CHANGE_AT = 25, 17

CASE = '''
import pytest
import toy_pkg

@pytest.mark.incident("toy-incident", "symptom")
def test_symptom_old_answer():
    assert toy_pkg.answer() == 1
'''
MATRIX = '[[torch]]\nid = "installed"\nwhy = "x"\n[[stack]]\nid = "toy"\nwhy = "x"\npackages = ["toy-pkg==1.0"]\n[[gpus]]\ncount = 0\nwhy = "x"\n'


def handmade_wheel(folder: Path, version: str, answer: int) -> None:
    dist = f"toy_pkg-{version}.dist-info"
    files = {"toy_pkg/__init__.py": f"def answer():\n    return {answer}\n",
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: toy-pkg\nVersion: {version}\n",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: handmade\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    digest = {n: base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b"=").decode() for n, t in files.items()}
    files[f"{dist}/RECORD"] = "".join(f"{n},sha256={digest[n]},{len(t)}\n" for n, t in files.items()) + f"{dist}/RECORD,,\n"
    with zipfile.ZipFile(folder / f"toy_pkg-{version}-py3-none-any.whl", "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)


def toy_bisection(work: Path) -> list[dict[str, object]]:
    wheels, project, light = work / "wheels", work / "project", work / "host-site"
    for folder in (wheels, project / "regressions", light):
        folder.mkdir(parents=True)
    versions = tuple(f"1.{i}" for i in range(RELEASES))
    for i, version in enumerate(versions):
        handmade_wheel(wheels, version, 1 if i < CHANGE_AT else 2)
    (project / "regressions" / "test_toy.py").write_text(CASE, encoding="utf-8")
    (project / "regressions" / "matrix.toml").write_text(MATRIX, encoding="utf-8")
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    for source in site.getsitepackages():  # this Python's packages, but no torch for each run's report to import
        for entry in Path(source).iterdir():
            if not entry.name.lower().startswith(("torch", "nvidia", "triton")) and not (light / entry.name).exists():
                (light / entry.name).symlink_to(entry)
    matrix = load_matrix(project / "regressions" / "matrix.toml")
    plan = bisect_run.Bisection(incident="toy-incident", cases=(("test_symptom_old_answer", "symptom"),),
                                path="regressions/test_toy.py", package="toy-pkg", versions=versions,
                                cell=matrix.cells()[0], runs=2, target="toy-incident")
    base = envs.EnvSpec(name="toy", backend="uv", interpreter=sys.executable, installer="",
                        host_site=(str(REPO / "src"), str(light)), requirements=("toy-pkg==1.0",),
                        find_links=(str(wheels),), no_index=True)
    rows = []
    os.environ["INCIDENTKB_RESULTS"] = str(work / "results")
    for state in ("cold", "warm"):
        t0 = time.monotonic()
        line, path = bisect_run.run_bisection(plan, matrix, base, project, {}, log=lambda _: None,
                                              run=lambda c: subprocess.run(c, check=True, capture_output=True))
        wall = time.monotonic() - t0
        data = json.loads(path.read_text(encoding="utf-8"))
        steps = data["steps"]
        rows.append({"state": state, "steps": len(steps), "wall": wall, "env": sum(s["environment"]["seconds"] for s in steps),
                     "pytest": sum(r["seconds"] for s in steps for r in s["runs"]),
                     "found": f"{data['finding']['last_old']} / {data['finding']['first_new']}", "load": os.getloadavg()[0]})
    return rows


def committed_steps() -> list[str]:
    lines = []
    for path in sorted((REPO / "regressions" / "results" / "bisect").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for step in data["steps"]:
            env = step["environment"]
            runs = " + ".join(f"{r['seconds']:.1f}" for r in step["runs"])
            lines.append(f"| `{path.name}` | {data['package']} {step['version']} | {step['side']} | "
                         f"{'reused' if env['reused'] else 'built'} {env['seconds']:.1f} s | {runs} s | {step['seconds']:.1f} s |")
    return lines


def render(rows: list[dict[str, object]], real: list[str]) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    out = ["## Bisection: steps and their cost", "",
           f"Measured by `bench/bisect_steps.py` on {dt.date.today()}, {platform.system()} {platform.machine()}, "
           f"{os.cpu_count()} cores, Python {platform.python_version()}, incidentkb at commit {commit}. A bisection over "
           f"{RELEASES} releases of a toy package (handmade wheels, installed with uv from a folder: no network), whose "
           f"case changes at release 1.{CHANGE_AT}; 2 runs a step, each a fresh pytest process. Cold: no step environment "
           "yet; warm: the same bisection again, every environment reused. The steps are both ends and then about "
           "log2 of the releases between them, so 25 releases take 7 steps where trying each would take 25. The "
           "machine is shared (2 cores): the load average says how much other work slowed it.", "",
           "| run | steps | wall | environments | pytest runs | found (last old / first new) | load at end |",
           "|---|--:|--:|--:|--:|---|--:|"]
    for r in rows:
        out.append(f"| {r['state']} | {r['steps']} | {r['wall']:.1f} s | {r['env']:.1f} s | {r['pytest']:.1f} s | {r['found']} | {r['load']:.1f} |")
    if real:
        out += ["", "The committed bisections (real ORPO steps on CPU, torch 2.13.0), per step: its environment (a "
                "full stack with torch: built, or reused from an earlier bisection) and its two pytest runs, as each "
                "results file records them.", "",
                "| results file | version | side | environment | pytest runs | step |", "|---|---|---|--:|--:|--:|", *real]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print the block only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-bisect-") as tmp:
        os.chdir(tmp)
        rows = toy_bisection(Path(tmp))
    text = render(rows, committed_steps())
    print(text)
    if not args.no_write:
        scale.write_page(text, start=START, end=END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
