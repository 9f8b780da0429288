"""The wheelhouse: the platform tags pip needs, what each torch x stack pair asks for, and the commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentkb.matrix.axes import GpuSetting, Matrix, MatrixError, Stack, TorchOption
from incidentkb.matrix.wheelhouse import (
    commands,
    parse_args,
    platform_tags,
    requirement_sets,
)

MATRIX = Matrix(
    torch=(TorchOption("2.6.0", "w", "torch==2.6.0"), TorchOption("installed", "w", host_provides=("torch", "numpy"))),
    stacks=(Stack("4.51.3", "w", ("transformers==4.51.3",), ("liger-kernel==0.5.8",)), Stack("5.24.0", "w", ("transformers==5.24.0",))),
    gpus=(GpuSetting(0, "w"),),
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname='x'\ndependencies=['pydantic>=2']\n[project.optional-dependencies]\nregressions=['pytest>=8']\n"
    )
    return tmp_path


def test_platform_tags_list_every_older_manylinux_pip_must_accept() -> None:
    uv, pip = platform_tags("manylinux_2_28_x86_64")
    assert uv == "x86_64-manylinux_2_28"
    assert pip[:2] == ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64"] and pip[-3:] == [
        "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64",
    ]
    with pytest.raises(MatrixError, match="manylinux_2_28_x86_64"):
        platform_tags("linux_x86_64")


def test_each_pair_asks_for_the_project_the_tools_the_stack_and_its_torch(project: Path) -> None:
    sets = requirement_sets(MATRIX, parse_args(["--stack", "4.51.3"]), project)
    assert sets == {
        "2.6.0-4.51.3": ["pydantic>=2", "pytest>=8", "setuptools>=69", "nox", "transformers==4.51.3", "liger-kernel==0.5.8", "torch==2.6.0"],
        "installed-4.51.3": ["pydantic>=2", "pytest>=8", "setuptools>=69", "nox", "transformers==4.51.3", "liger-kernel==0.5.8"],
    }
    with pytest.raises(MatrixError, match=r"--stack 9: not in the matrix; choose from \['4.51.3', '5.24.0'\]"):
        requirement_sets(MATRIX, parse_args(["--stack", "9"]), project)


def test_commands_resolve_for_the_target_and_leave_the_hosts_packages_out(project: Path, tmp_path: Path) -> None:
    options = parse_args(["--python", "3.12", "--platform", "manylinux_2_28_x86_64", "--torch", "installed", "--stack", "5.24.0", "--dest", str(tmp_path / "wh")])
    (compile_, download), files = commands(MATRIX, options, project, uv="uv", python="python3")
    work = tmp_path / "wh" / "requirements"
    assert compile_ == [
        "uv", "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--python-version", "3.12",
        "--python-platform", "x86_64-manylinux_2_28", str(work / "installed-5.24.0.in"), "-o", str(work / "installed-5.24.0.txt"),
        "--excludes", str(work / "installed-5.24.0.excludes"),
    ]
    assert download[:9] == ["python3", "-m", "pip", "download", "--disable-pip-version-check", "--quiet", "--no-deps", "--only-binary=:all:", "--python-version"]
    assert download[-4:] == ["-d", str(tmp_path / "wh"), "-r", str(work / "installed-5.24.0.txt")]
    assert files[work / "installed-5.24.0.excludes"] == "torch\nnumpy\n"


def test_a_torch_id_with_a_dash_is_found_again(project: Path, tmp_path: Path) -> None:
    matrix = Matrix(torch=(TorchOption("2.7.0-cu128", "w", "torch==2.7.0"),), stacks=MATRIX.stacks, gpus=MATRIX.gpus)
    options = parse_args(["--torch", "2.7.0-cu128", "--stack", "5.24.0", "--dest", str(tmp_path / "wh")])
    (compile_, _), files = commands(matrix, options, project, uv="uv", python="python3")
    assert compile_[-3:] == [str(tmp_path / "wh" / "requirements" / "2.7.0-cu128-5.24.0.in"), "-o",
                             str(tmp_path / "wh" / "requirements" / "2.7.0-cu128-5.24.0.txt")]
    assert "torch==2.7.0" in files[tmp_path / "wh" / "requirements" / "2.7.0-cu128-5.24.0.in"].splitlines()


def test_latest_is_left_out_of_a_wheelhouse_and_refused_when_asked_for(project: Path) -> None:
    matrix = Matrix(
        torch=MATRIX.torch + (TorchOption("latest", "w", "torch", on_request=True),),
        stacks=MATRIX.stacks + (Stack("latest", "w", (), resolve=("transformers",)),), gpus=MATRIX.gpus,
    )
    assert set(requirement_sets(matrix, parse_args([]), project)) == set(requirement_sets(MATRIX, parse_args([]), project))
    with pytest.raises(MatrixError, match="^latest: resolved from the package index when its cell runs"):
        requirement_sets(matrix, parse_args(["--stack", "latest"]), project)
