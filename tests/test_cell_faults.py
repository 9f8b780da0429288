"""A matrix cell whose regressions crash the interpreter, hang or exhaust memory is recorded, and the matrix runs on.

These drive `cell_run.run_cell`, the code a `regressions(...)` nox session runs, on a throwaway project whose
regressions fault for real: a segfault, a sleep past the time limits, an allocation past an address-space limit
and `os._exit`. Only the environment is not built: the cell's environment is a folder whose `bin/python` starts
this interpreter, marked as built from the cell's spec, so the runner reuses it as it would a warm one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from incidentkb.matrix import cell_run, envs, results_files
from incidentkb.matrix.axes import Cell, GpuSetting, Matrix, Stack, TorchOption
from incidentkb.matrix.hosts import HostFacts
from incidentkb.matrix.planning import Assignment, Target

FAULTS = '''
import ctypes, os, resource, time
import pytest

ID = "2026-01-01-faults"


@pytest.mark.incident(ID, "symptom")
def test_symptom_segfaults():
    ctypes.string_at(0)  # reads address 0: SIGSEGV


@pytest.mark.incident(ID, "attempt:sleep")
def test_attempt_hangs():
    time.sleep(120)


@pytest.mark.incident(ID, "fix")
@pytest.mark.timeout(120)  # a MemoryError, however long a busy machine takes to reach it, never the 3 s limit
def test_fix_exhausts_memory():
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        in_use = int(statm.read().split()[0]) * resource.getpagesize()
    # ~1 GB above what the process already maps, so the machine itself is never at risk
    resource.setrlimit(resource.RLIMIT_AS, (in_use + 2**30, hard))
    try:
        blocks = [bytearray(2**28) for _ in range(8)]  # 2 GB, past the limit
        assert len(blocks) == 8
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.mark.incident(ID, "fix:exit")
def test_fix_exits():
    os._exit(3)
'''

NORMAL = '''
import pytest

ID = "2026-01-02-normal"


@pytest.mark.incident(ID, "symptom")
def test_symptom_reproduces():
    assert 1 + 1 == 2


@pytest.mark.incident(ID, "fix")
def test_fix_breaks():
    assert 1 + 1 == 3
'''

HANG_UNREACHABLE = '''
import time
import pytest


@pytest.mark.incident("2026-01-03-stuck", "symptom")
@pytest.mark.timeout(0)
def test_symptom_stuck():
    time.sleep(120)  # no case limit: only the cell's limit stops it
'''

FAULTS_T = Target("2026-01-01-faults", "regressions/test_faults.py", ("torch",), (
    ("test_symptom_segfaults", "symptom"), ("test_attempt_hangs", "attempt:sleep"),
    ("test_fix_exhausts_memory", "fix"), ("test_fix_exits", "fix:exit"),
))
NORMAL_T = Target("2026-01-02-normal", "regressions/test_normal.py", ("torch",), (
    ("test_symptom_reproduces", "symptom"), ("test_fix_breaks", "fix"),
))


# 600 s: these cells are not about the cell's own limit (test_symptom_stuck sets its own 6 s); on a machine loaded
# by other work, starting and replacing xdist workers took the faults cell past 120 s, its pytest was killed after
# writing every outcome, and the exit code read None.
def matrix(workers: str, *, cell_timeout_s: int = 600) -> Matrix:
    return Matrix(
        torch=(TorchOption("9.9", "w", "torch==9.9"),),
        stacks=(Stack("a", "w", ()), Stack("b", "w", ())),
        gpus=(GpuSetting(0, "w", workers=workers),),
        case_timeout_s=3, cell_timeout_s=cell_timeout_s,
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / "regressions").mkdir(parents=True)
    (root / "regressions" / "test_faults.py").write_text(FAULTS)
    (root / "regressions" / "test_normal.py").write_text(NORMAL)
    (root / "regressions" / "test_stuck.py").write_text(HANG_UNREACHABLE)
    (root / "pyproject.toml").write_text('[project]\nname = "faults"\nversion = "0"\n')
    monkeypatch.setenv("INCIDENTKB_BACKEND", "pip")
    monkeypatch.setenv("INCIDENTKB_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv("INCIDENTKB_PYTHON", raising=False)
    return root


HOST = HostFacts(gpu_names=(), host_python=sys.executable, host_torch=None)


def warm_environment(m: Matrix, cell: Cell, root: Path) -> None:
    """The environment the runner would build for the cell, as if built before: this interpreter, marked current."""
    spec = envs.spec_for(m, cell, backend="pip", interpreter=sys.executable, project=root)
    venv = envs.env_dir(root, spec)
    python = envs.python_in(venv)
    python.parent.mkdir(parents=True, exist_ok=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    envs.mark_current(spec, venv)


def run(m: Matrix, cell: Cell, root: Path, *targets: Target, posargs: tuple[str, ...] = ()) -> results_files.CellResult:
    """One cell as its nox session runs it (`posargs`: the user's pytest arguments after `--`)."""
    warm_environment(m, cell, root)
    return cell_run.run_cell(
        m, cell, Assignment(targets), host=HOST, root=root, run=_no_install, log=lambda _: None, posargs=posargs,
    )


def _no_install(command: list[str]) -> None:
    raise AssertionError(f"the environment was built again: {command}")


def outcomes(result: results_files.CellResult) -> dict[str, str]:
    return {case.name: case.outcome.value for case in result.cases}


CELL_A, CELL_B = Cell("9.9", "a", 0), Cell("9.9", "b", 0)


@pytest.mark.parametrize("workers", ["2", "1"], ids=["CPU cells: workers", "GPU cells: one worker"])
def test_faults_in_an_xdist_cell_are_recorded_case_by_case_and_the_next_cell_runs(project: Path, workers: str) -> None:
    m = matrix(workers)  # pytest-xdist workers, one file per worker; a worker that dies is replaced
    first = run(m, CELL_A, project, FAULTS_T, NORMAL_T)
    second = run(m, CELL_B, project, NORMAL_T)  # what nox does next: the following cell's session

    assert outcomes(first) == {
        "test_symptom_segfaults": "crashed",  # the worker died; the replacement went on with the rest of the file
        "test_attempt_hangs": "timed out",
        "test_fix_exhausts_memory": "crashed",
        "test_fix_exits": "crashed",
        "test_symptom_reproduces": "reproduces",  # the other file, untouched by the faults
        "test_fix_breaks": "BROKEN",
    }
    details = {case.name: case.detail or "" for case in first.cases}
    assert "crashed while running 'regressions/test_faults.py::test_symptom_segfaults'" in details["test_symptom_segfaults"]
    assert "crashed while running 'regressions/test_faults.py::test_fix_exits'" in details["test_fix_exits"]
    assert "from pytest-timeout" in details["test_attempt_hangs"]
    assert "MemoryError" in details["test_fix_exhausts_memory"]
    on_disk = [results_files.read(path) for path in results_files.result_paths(results_files.results_dir(project))]
    assert [str(r.cell) for r in on_disk] == [str(CELL_A), str(CELL_B)]
    assert outcomes(on_disk[0]) == outcomes(first) and on_disk[0].raw["pytest"]["exit_code"] == 1
    assert outcomes(second) == {"test_symptom_reproduces": "reproduces", "test_fix_breaks": "BROKEN"}
    # the session's verdict (noxfile.py: session.error when a cell has failures), hence nox's exit status
    assert sorted(c.name for c in first.failures()) == [
        "test_attempt_hangs", "test_fix_breaks", "test_fix_exhausts_memory", "test_fix_exits", "test_symptom_segfaults",
    ]


@pytest.mark.parametrize(
    ("case", "role", "outcome", "detail"),
    [
        ("test_symptom_segfaults", "symptom", "crashed", "pytest ended with exit code -11 and wrote no report"),
        ("test_fix_exits", "fix:exit", "crashed", "pytest ended with exit code 3 and wrote no report"),
        ("test_fix_exhausts_memory", "fix", "crashed", "MemoryError"),
        ("test_attempt_hangs", "attempt:sleep", "timed out", "Timeout (>3.0s) from pytest-timeout"),
        ("test_symptom_stuck", "symptom", "timed out", "the cell's pytest passed its time limit and was killed"),
    ],
)
def test_a_fault_in_a_single_process_cell_is_recorded_and_the_next_cell_runs(
    project: Path, case: str, role: str, outcome: str, detail: str
) -> None:
    # The GPU cells' setting: one pytest process. Only the stuck case is about the cell's own limit; the others get
    # one no busy machine reaches, so a slow pytest start never turns their fault into the cell's time-out.
    m = matrix("0", cell_timeout_s=6) if case == "test_symptom_stuck" else matrix("0")
    path = "regressions/test_stuck.py" if case == "test_symptom_stuck" else "regressions/test_faults.py"
    faulty = Target("2026-01-01-faults", path, ("torch",), ((case, role),))
    first = run(m, CELL_A, project, faulty, posargs=("-k", case))  # one case of the file, as `nox -- -k` picks
    second = run(matrix("0"), CELL_B, project, NORMAL_T)

    assert outcomes(first) == {case: outcome}
    assert detail in (first.cases[0].detail or "") and first.failures()
    assert outcomes(second) == {"test_symptom_reproduces": "reproduces", "test_fix_breaks": "BROKEN"}
    assert [str(results_files.read(p).cell) for p in results_files.result_paths(results_files.results_dir(project))] == [str(CELL_A), str(CELL_B)]



#: A `nox -s regressions` in small: the cells of `matrix("0")` one after the other, as their sessions run them.
DRIVER = r"""
import sys
from pathlib import Path
from incidentkb.matrix import cell_run
from incidentkb.matrix.axes import Cell, GpuSetting, Matrix, Stack, TorchOption
from incidentkb.matrix.planning import Assignment, Target
from incidentkb.matrix.hosts import HostFacts

m = Matrix(torch=(TorchOption("9.9", "w", "torch==9.9"),), stacks=(Stack("a", "w", ()), Stack("b", "w", ())),
           gpus=(GpuSetting(0, "w", workers="0"),), case_timeout_s=3, cell_timeout_s=120)
target = Target("2026-01-02-normal", "regressions/test_normal.py", ("torch",),
                (("test_symptom_reproduces", "symptom"), ("test_fix_breaks", "fix")))
host = HostFacts(gpu_names=(), host_python=sys.executable, host_torch=None)
for _ in range(3):
    for cell in (Cell("9.9", "a", 0), Cell("9.9", "b", 0)):
        cell_run.run_cell(m, cell, Assignment((target,)), host=host, root=Path(sys.argv[1]), run=print, log=print)
"""


@pytest.mark.parametrize("after_s", [0.3, 1.0, 2.0, 3.5, 5.0])
def test_a_matrix_run_killed_at_any_moment_leaves_only_whole_results_files(project: Path, after_s: float) -> None:
    m = matrix("0")
    for cell in (CELL_A, CELL_B):
        warm_environment(m, cell, project)
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(project)], stdout=subprocess.DEVNULL, start_new_session=True)
    time.sleep(after_s)
    os.killpg(driver.pid, signal.SIGKILL)  # nox and what it started in its group; a cell's pytest has its own
    driver.wait(timeout=30)

    folder = results_files.results_dir(project)
    files = list(folder.iterdir()) if folder.exists() else []
    assert all(p.suffix == ".json" or p.name.startswith(".incomplete-") and p.suffix == ".partial" for p in files)
    for path in folder.glob("*.json") if folder.exists() else ():
        assert outcomes(results_files.read(path)) == {"test_symptom_reproduces": "reproduces", "test_fix_breaks": "BROKEN"}
