"""The matrix on a host without internet whose Python has only torch, started the way a new user starts it.

Such a host cannot run `INCIDENTKB_WHEELHOUSE=wheels/ nox -s regressions`: its Python has no nox, and after nox
no pydantic for the noxfile's import of the project. The wheelhouse carries both, and its `bootstrap.sh` makes an
environment from them that keeps the host's torch. Here the host is a fresh venv holding only torch (this
machine's CPU wheel, `pip install torch==2.13.0`), the wheelhouse is built from PyPI, and then every command on the
"host" runs inside `unshare -n`, a network namespace with no network at all: the two commands of the README and
one real CPU cell of the matrix (its environment installed from the wheelhouse alone).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from repo_samples import REPO

from incidentkb.matrix import results_files

CELL = "torch=installed stack=4.51.3 gpus=0"
#: A clean PATH, as on a fresh host: no uv, no nox, no venv of this project's on it.
HOST_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}


def offline(*command: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 1200) -> subprocess.CompletedProcess[str]:
    """`command` on the "host": no network (a new network namespace), a clean environment."""
    return subprocess.run(["unshare", "-n", *command], cwd=cwd, env={**HOST_ENV, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def torch_only(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The host's Python: a venv holding torch and what torch itself depends on, nothing else."""
    if os.geteuid() != 0 or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("`unshare -n` (a namespace without network) needs root here")
    venv = tmp_path_factory.mktemp("host") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "torch==2.13.0"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot install torch==2.13.0 into a fresh venv: {done.stderr.strip().splitlines()[-1:]}")
    return str(venv / "bin" / "python")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository as the user carries it to the host (the working tree, without environments or builds)."""
    dest = tmp_path_factory.mktemp("carried") / "incidentkb"
    shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".nox", "site", ".ci-venv", ".venv-offline", "__pycache__", "wheelhouse", ".device", "*.egg-info"))
    return dest


def test_a_host_with_only_torch_runs_a_cell_from_the_wheelhouse_alone(torch_only: str, checkout: Path, tmp_path: Path) -> None:
    # what the README used to say fails on such a host, first of all for want of nox
    before = offline(torch_only, "-m", "nox", "-s", "regressions", cwd=checkout)
    assert before.returncode != 0 and "No module named nox" in before.stderr

    # on a machine with internet (this one): the wheelhouse for that host
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(checkout / "noxfile.py"), "-s", "wheelhouse", "--", "--torch", "installed",
         "--stack", "4.51.3", "--host-python", torch_only, "--cpu-only", "--dest", str(wheels)],
        cwd=checkout, capture_output=True, text=True, timeout=1800, env={**os.environ, "PYTHONPATH": ""},
    )
    assert built.returncode == 0, built.stderr[-3000:]
    assert (wheels / "bootstrap.sh").is_file() and list(wheels.glob("incidentkb-*.whl")) and list(wheels.glob("nox-*.whl"))
    assert not list(wheels.glob("torch-*.whl"))  # the host's own

    # on the host, without network: the two commands
    boot = offline("sh", str(wheels / "bootstrap.sh"), torch_only, cwd=checkout)
    assert boot.returncode == 0, boot.stdout + boot.stderr
    assert "bootstrap.sh: .venv-offline is ready" in boot.stdout
    results = tmp_path / "results"
    run = offline(str(checkout / ".venv-offline" / "bin" / "incidentkb-nox"), "-s", f"regressions({CELL})", "--", "-k", "dtype",
                  cwd=checkout, env={"INCIDENTKB_RESULTS": str(results)})
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]

    [path] = results_files.result_paths(results)
    data = json.loads(path.read_text())
    assert data["cell"] == CELL and data["environment"]["offline"] is True
    assert data["environment"]["host_torch"] == "2.13.0+cpu"  # the host's torch, not one from the wheelhouse
    outcomes = {case["nodeid"].rsplit("::", 1)[1]: case["outcome"] for case in data["cases"]}
    assert outcomes["test_symptom_float64_labels_fail_matmul[cpu]"] == "reproduces"
    assert outcomes["test_fix_cast_to_float32[cpu]"] == "holds"


def test_the_newest_releases_frozen_on_the_day_run_offline_with_exactly_those_versions(
        torch_only: str, checkout: Path, tmp_path: Path) -> None:
    """Issue 25: `--stack latest` resolved here, carried, and run as `latest` on the host without network."""
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(checkout / "noxfile.py"), "-s", "wheelhouse", "--", "--torch", "installed",
         "--stack", "latest", "--host-python", torch_only, "--cpu-only", "--dest", str(wheels)],
        cwd=checkout, capture_output=True, text=True, timeout=1800, env={**os.environ, "PYTHONPATH": ""},
    )
    assert built.returncode == 0, built.stderr[-3000:]
    frozen = json.loads((wheels / "requirements" / "installed-latest.frozen.json").read_text())
    assert frozen["locked"]["transformers"] and frozen["date"] == frozen["built"][:10]

    venv = tmp_path / "offline-venv"  # its own: the module's other test may have made .venv-offline already
    boot = offline("sh", str(wheels / "bootstrap.sh"), torch_only, cwd=checkout, env={"INCIDENTKB_VENV": str(venv)})
    assert boot.returncode == 0, boot.stdout + boot.stderr
    results = tmp_path / "results"
    run = offline(str(venv / "bin" / "incidentkb-nox"), "-s", "regressions(torch=installed stack=latest gpus=0)",
                  "--", "-k", "dtype", cwd=checkout, env={"INCIDENTKB_RESULTS": str(results)})
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    [path] = [p for p in results_files.result_paths(results) if "albumentations" not in p.name]
    data = json.loads(path.read_text())
    resolved = data["resolved"]
    assert resolved["date"] == frozen["date"] and resolved["wheelhouse"]["built"] == frozen["built"]
    assert resolved["chosen"] == {n: frozen["locked"][n] for n in ("transformers", "trl", "accelerate", "datasets")}
    assert {n: data["packages"][n] for n in resolved["chosen"]} == resolved["chosen"]  # exactly those, installed
