"""`nox -s regressions -- --executor slurm` against a real one-node Slurm cluster on this machine.

The cluster is Debian's slurm-wlm started by `.ci/slurm-cluster` (munged, slurmctld, slurmd on localhost; no
GPUs). The project is a throwaway copy of the sample repository with the real noxfile and a matrix of its own:
two CPU cells (`stack=a` runs its cases in seconds, `stack=slow` hangs until its job is cancelled) and their two
GPU cells, which sbatch rejects at submission on a node without GPUs. The cells' environments are made warm
beforehand as in tests/test_cell_faults.py (a folder whose python is this interpreter, marked built from the
cell's spec); everything else is real: sbatch, the jobs running nox for one cell each, squeue, scancel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from repo_samples import REPO, sample_repository

from incidentkb.matrix import envs, results_files
from incidentkb.matrix.axes import Cell, load_matrix

CLUSTER = REPO / ".ci" / "slurm-cluster"

MATRIX = '''
[run]
case_timeout_s = 300
case_timeout_why = "w"
cell_timeout_s = 300
cell_timeout_why = "w"

[slurm]
cpus = 1
cpus_why = "two CPU cells side by side on the two CPUs of a CI machine"
poll_s = 0.5
poll_why = "a test waits for seconds, not minutes"

[[torch]]
id = "9.9"
requirement = "torch==9.9"
why = "never installed: the environments are made warm"

[[stack]]
id = "a"
packages = []
why = "its cases run in a second"

[[stack]]
id = "slow"
packages = []
why = "its first case sleeps until the job is cancelled"

[[gpus]]
count = 0
why = "CPU"

[[gpus]]
count = 1
why = "one GPU: the test cluster has none, so sbatch rejects the job"
'''

REGRESSION = '''
import os, time
import pytest

ID = "2025-01-15-sample-loss-nan"


@pytest.mark.incident(ID, "symptom")
def test_symptom_nan_loss(observe):
    if "stack=slow" in os.environ["INCIDENTKB_CELL"]:
        time.sleep(600)


@pytest.mark.incident(ID, "attempt:lower-learning-rate")
def test_attempt_lower_learning_rate(observe):
    pass


@pytest.mark.incident(incident_id=ID, role="fix")
def test_fix_loss_in_float32(observe):
    pass


class TestAlternatives:
    @pytest.mark.incident("2025-01-15-sample-loss-nan", "fix:bf16")
    def test_fix_bf16(self, observe):
        pass
'''


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[dict[str, str]]:
    """A running one-node cluster: the environment its commands need (SLURM_CONF). Started here, stopped after,
    unless one was already running (then it is used and left running)."""
    if os.geteuid() != 0:
        pytest.skip("the Slurm test cluster needs root (munged as user munge, slurmd as root); .ci/run runs as root")
    if not shutil.which("sbatch") and not shutil.which("apt-get"):
        pytest.skip("no Slurm here and no apt-get to install slurm-wlm")
    state = os.environ.get("INCIDENTKB_SLURM_STATE", "/tmp/incidentkb-slurm")
    running = subprocess.run([str(CLUSTER), "status", state], capture_output=True, text=True).returncode == 0
    started = subprocess.run([str(CLUSTER), "start", state], capture_output=True, text=True)
    if started.returncode != 0:
        pytest.skip(f"the Slurm test cluster did not start: {started.stderr.strip().splitlines()[:1]}")
    conf = started.stdout.strip().split("=", 1)[1]
    yield {"SLURM_CONF": conf}
    if not running:
        subprocess.run([str(CLUSTER), "stop", state], capture_output=True, text=True)


@pytest.fixture
def project(tmp_path: Path, slurm_cluster: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    root = sample_repository(tmp_path / "project")
    (root / "regressions" / "sample_loss_nan.py").write_text(REGRESSION)
    (root / "regressions" / "matrix.toml").write_text(MATRIX)
    (root / "pyproject.toml").write_text('[project]\nname = "throwaway"\nversion = "0"\n')
    shutil.copy(REPO / "noxfile.py", root / "noxfile.py")
    (root / "src").symlink_to(REPO / "src")  # the noxfile puts the project's src/ first: this incidentkb
    for name, value in {**slurm_cluster, "INCIDENTKB_BACKEND": "pip", "INCIDENTKB_RESULTS": str(tmp_path / "results")}.items():
        monkeypatch.setenv(name, value)
    for name in ("INCIDENTKB_PYTHON", "INCIDENTKB_WHEELHOUSE", "INCIDENTKB_HOST_PYTHON"):
        monkeypatch.delenv(name, raising=False)
    matrix = load_matrix(root / "regressions" / "matrix.toml")
    for cell in (Cell("9.9", "a", 0), Cell("9.9", "slow", 0)):  # warm, as in tests/test_cell_faults.py
        spec = envs.spec_for(matrix, cell, backend="pip", interpreter=sys.executable, project=root)
        python = envs.python_in(envs.env_dir(root, spec))
        python.parent.mkdir(parents=True)
        python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        python.chmod(0o755)
        envs.mark_current(spec, envs.env_dir(root, spec))
    return root


def nox_slurm(root: Path, log: Path) -> subprocess.Popen[bytes]:
    """`nox -s regressions -- --executor slurm` in the project, as a user starts it, its output into `log`."""
    command = [sys.executable, "-m", "nox", "--no-color", "-f", str(root / "noxfile.py"), "-s", "regressions",
               "--", "--executor", "slurm"]
    return subprocess.Popen(command, cwd=root, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def jobs_of(root: Path) -> dict[str, str]:
    """cell -> job id, from the executor's state file."""
    path = root / ".nox" / "slurm" / "state.json"
    data = json.loads(path.read_text()) if path.exists() else {"jobs": {}}
    return {job["cell"]: job["job_id"] for job in data["jobs"].values()}


def job_state(job_id: str) -> str:
    out = subprocess.run(["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"], capture_output=True, text=True)
    return out.stdout.strip()


def wait_for(condition, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_cells_run_as_slurm_jobs_and_come_back_as_results_files(project: Path, tmp_path: Path) -> None:
    first = nox_slurm(project, tmp_path / "first.log")
    wait_for(lambda: len(jobs_of(project)) == 2, 60, "two jobs submitted")
    slow = jobs_of(project)["torch=9.9 stack=slow gpus=0"]
    wait_for(lambda: job_state(slow) == "RUNNING", 60, f"job {slow} running")

    second = nox_slurm(project, tmp_path / "second.log")  # while the jobs run: waits for them, submits nothing
    wait_for(lambda: (tmp_path / "second.log").read_text().count("already submitted as job") == 2, 60, "the second invocation adopting both jobs")
    subprocess.run(["scancel", slow], check=True)
    assert first.wait(timeout=120) == 1 and second.wait(timeout=120) == 1  # a cell failed: the run fails

    out = (tmp_path / "first.log").read_text()
    assert "torch=9.9 stack=a gpus=1: sbatch refused the job" in out
    # the GPU cells, rejected at submission, are shown like cells this host cannot run, with sbatch's words
    assert ("not run: torch=9.9 stack=a gpus=1: slurm rejected the job: "
            "sbatch: error: Invalid generic resource (gres) specification") in out
    assert len(jobs_of(project)) == 2 and "already submitted" not in out

    results = [results_files.read(p) for p in results_files.result_paths(tmp_path / "results")]
    assert sorted(str(r.cell) for r in results) == ["torch=9.9 stack=a gpus=0", "torch=9.9 stack=slow gpus=0"]
    ran, cancelled = sorted(results, key=lambda r: r.cell.stack)
    assert ran.raw["pytest"]["exit_code"] is not None and len(ran.cases) == 4  # what the job's own run wrote
    assert {c.outcome.value for c in cancelled.cases} == {"crashed"} and len(cancelled.cases) == 4
    detail = cancelled.cases[0].detail or ""
    assert f"Slurm job {slow} ended CANCELLED" in detail and f"JOB {slow} ON" in detail  # the tail of its log
    # both invocations printed the table of the same two runs; the cancelled job was recorded once
    for log in ("first.log", "second.log"):
        text = (tmp_path / log).read_text()
        assert "crashed" in text and "not run: torch=9.9 stack=slow gpus=1" in text
