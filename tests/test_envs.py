"""Cell environments: what is installed, with which installer flags, and when an environment is reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentkb.matrix.axes import Cell, GpuSetting, Matrix, Stack, TorchOption
from incidentkb.matrix.envs import (
    bytecode_mode,
    _LINK_HOST,
    create_commands,
    host_has,
    install_commands,
    is_current,
    mark_current,
    python_in,
    spec_for,
)

HOST_PROVIDES = ("torch", "numpy")
MATRIX = Matrix(
    torch=(TorchOption("2.6.0", "w", "torch==2.6.0"), TorchOption("installed", "w", host_provides=HOST_PROVIDES)),
    stacks=(Stack("4.51.3", "w", ("transformers==4.51.3", "trl==0.15.2"), ("liger-kernel==0.5.8",)),),
    gpus=(GpuSetting(0, "w"), GpuSetting(1, "w"), GpuSetting(2, "w")),
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    return tmp_path


@pytest.mark.parametrize(
    ("cell", "backend", "expected"),
    [
        (
            Cell("2.6.0", "4.51.3", 0), "uv",
            ["uv", "pip", "install", "--python", "V/bin/python", "-eP[regressions]", "torch==2.6.0", "transformers==4.51.3", "trl==0.15.2"],
        ),
        (  # GPU cells add the GPU packages; offline means the wheelhouse alone
            Cell("2.6.0", "4.51.3", 1), "pip",
            ["python3", "-m", "pip", "--python", "V/bin/python", "--disable-pip-version-check", "install", "--no-compile", "--no-index", "--find-links", "W",
             "-eP[regressions]", "torch==2.6.0", "transformers==4.51.3", "trl==0.15.2", "liger-kernel==0.5.8"],
        ),
        (  # the host's torch: uv leaves the host's packages out of its resolution
            Cell("installed", "4.51.3", 2), "uv",
            ["uv", "pip", "install", "--python", "V/bin/python", "--no-index", "--find-links", "W", "--excludes", "V/incidentkb-excludes.txt",
             "-eP[regressions]", "transformers==4.51.3", "trl==0.15.2", "liger-kernel==0.5.8"],
        ),
        (  # pip sees the host's packages itself; a constraint keeps the host's torch exactly
            Cell("installed", "4.51.3", 2), "pip",
            ["python3", "-m", "pip", "--python", "V/bin/python", "--disable-pip-version-check", "install", "--no-compile", "--no-index", "--find-links", "W",
             "--constraint", "V/incidentkb-constraints.txt", "-eP[regressions]", "transformers==4.51.3", "trl==0.15.2", "liger-kernel==0.5.8"],
        ),
    ],
)
def test_install_commands(project: Path, cell: Cell, backend: str, expected: list[str]) -> None:
    offline = ("W",) if cell != Cell("2.6.0", "4.51.3", 0) else ()
    spec = spec_for(MATRIX, cell, backend=backend, interpreter="python3", installer="python3", project=project, wheelhouse=offline, host_torch="2.11.0+cu130")
    (command,), files = install_commands(spec, Path("V"))
    assert [a.replace(str(project), "P") for a in command] == expected
    assert {p.name: t for p, t in files.items()} == (
        {"incidentkb-excludes.txt": "torch\nnumpy\n"} if "--excludes" in command
        else {"incidentkb-constraints.txt": "torch==2.11.0+cu130\n"} if "--constraint" in command else {}
    )


@pytest.mark.parametrize(
    ("backend", "flag"), [("uv", ["--compile-bytecode"]), ("pip", [])],
)
def test_bytecode_is_compiled_at_install_only_when_asked(project: Path, backend: str, flag: list[str]) -> None:
    lazy = spec_for(MATRIX, Cell("2.6.0", "4.51.3", 0), backend=backend, interpreter="python3", project=project)
    eager = spec_for(MATRIX, Cell("2.6.0", "4.51.3", 0), backend=backend, interpreter="python3", project=project,
                     bytecode=bytecode_mode("install"))
    (lazy_command,), _ = install_commands(lazy, Path("V"))
    (eager_command,), _ = install_commands(eager, Path("V"))
    assert ("--compile-bytecode" in lazy_command, "--no-compile" in lazy_command) == (False, backend == "pip")
    assert [a for a in eager_command if a not in lazy_command] == flag and "--no-compile" not in eager_command
    assert lazy.fingerprint() != eager.fingerprint()  # switching modes rebuilds


@pytest.mark.parametrize(("value", "mode"), [(None, "lazy"), ("", "lazy"), ("None", "none"), (" install ", "install")])
def test_bytecode_modes(value: str | None, mode: str) -> None:
    assert bytecode_mode(value) == mode


def test_an_unknown_bytecode_mode_is_one_line() -> None:
    with pytest.raises(ValueError, match=r"^INCIDENTKB_BYTECODE='eager': choose one of lazy, install, none \(default lazy\)$"):
        bytecode_mode("eager")


@pytest.mark.parametrize(
    ("cell", "backend", "expected"),
    [
        (Cell("2.6.0", "4.51.3", 0), "uv", [["uv", "venv", "--quiet", "--clear", "--python", "python3", "V"]]),
        (  # the host's packages are appended to the new environment's path, after its own
            Cell("installed", "4.51.3", 1), "pip",
            [["python3", "-m", "venv", "--clear", "--without-pip", "V"], ["V/bin/python", "-c", _LINK_HOST, "/opt/torch/.venv/lib/python3.12/site-packages\n"]],
        ),
    ],
)
def test_create_commands(project: Path, cell: Cell, backend: str, expected: list[list[str]]) -> None:
    spec = spec_for(MATRIX, cell, backend=backend, interpreter="python3", project=project, host_site=("/opt/torch/.venv/lib/python3.12/site-packages",))
    assert create_commands(spec, Path("V")) == expected


def test_cells_that_differ_only_in_gpu_count_share_an_environment(project: Path) -> None:
    names = {c.gpus: spec_for(MATRIX, c, backend="uv", interpreter="python3", project=project).name for c in MATRIX.cells()[:3]}
    assert names == {0: "2.6.0-4.51.3-cpu", 1: "2.6.0-4.51.3-gpu", 2: "2.6.0-4.51.3-gpu"}


def test_an_environment_is_reused_only_when_built_completely_from_the_same_spec(project: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    spec = spec_for(MATRIX, Cell("2.6.0", "4.51.3", 0), backend="uv", interpreter="python3", project=project)
    python_in(venv).parent.mkdir(parents=True)
    python_in(venv).touch()
    assert not is_current(spec, venv)  # interrupted before it was marked complete
    mark_current(spec, venv)
    assert is_current(spec, venv)
    (project / "pyproject.toml").write_text("[project]\nname='x'\ndependencies=['y']\n")
    changed = spec_for(MATRIX, Cell("2.6.0", "4.51.3", 0), backend="uv", interpreter="python3", project=project)
    assert not is_current(changed, venv)


def test_uv_excludes_only_what_the_host_really_has(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    (site / "torch-2.13.0+cpu.dist-info").mkdir(parents=True)
    (site / "Huggingface_Hub-0.30.2.dist-info").mkdir()
    assert host_has(("torch", "numpy", "huggingface-hub"), (str(site),)) == ("torch", "huggingface-hub")
    assert host_has(("torch", "numpy"), ()) == ("torch", "numpy")  # folders unknown: trust the matrix file
