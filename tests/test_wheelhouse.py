"""The wheelhouse: the platform tags pip needs, what each torch x stack pair asks for, and the commands."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from incidentkb.matrix import frozen
from incidentkb.matrix.axes import Cell, GpuSetting, Matrix, MatrixError, Stack, TorchOption
from incidentkb.matrix.candidate import candidate_stack, command_line_pins
from incidentkb.matrix.wheelhouse import (
    commands,
    freeze_resolutions,
    parse_args,
    parser,
    platform_tags,
    requirement_sets,
    with_candidate,
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


LATEST_MATRIX = Matrix(
    torch=MATRIX.torch + (TorchOption("latest", "w", "torch", on_request=True),),
    stacks=MATRIX.stacks + (Stack("latest", "w", (), resolve=("transformers", "trl"), gpu_resolve=("peft",)),),
    gpus=MATRIX.gpus,
)


def test_latest_is_left_out_unless_asked_for_and_then_resolved_with_its_open_names(project: Path) -> None:
    assert set(requirement_sets(LATEST_MATRIX, parse_args([]), project)) == set(requirement_sets(MATRIX, parse_args([]), project))
    sets = requirement_sets(LATEST_MATRIX, parse_args(["--torch", "installed", "--stack", "latest"]), project)
    assert sets == {"installed-latest": ["pydantic>=2", "pytest>=8", "setuptools>=69", "nox", "transformers", "trl", "peft"]}
    cpu = requirement_sets(LATEST_MATRIX, parse_args(["--torch", "installed", "--stack", "latest", "--cpu-only"]), project)
    assert cpu["installed-latest"][-2:] == ["transformers", "trl"]


def test_what_the_compile_chose_is_frozen_with_the_day_and_the_target(project: Path, tmp_path: Path) -> None:
    options = parse_args(["--python", "3.12", "--platform", "manylinux_2_28_x86_64", "--torch", "installed",
                          "--stack", "latest", "--stack", "4.51.3", "--dest", str(tmp_path)])
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "installed-latest.txt").write_text("transformers==5.25.0\ntrl==1.17.0\npeft==0.22.0\ntokenizers==0.23.1\n")
    [path] = freeze_resolutions(LATEST_MATRIX, options)  # the pinned stack 4.51.3 has nothing to freeze
    found = frozen.find([str(tmp_path)], "installed-latest")
    assert found is not None and found.path == path and found.python == "3.12" and found.platform == "manylinux_2_28_x86_64"
    assert found.date == dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert found.chosen(["transformers", "trl", "accelerate"]) == {"transformers": "5.25.0", "trl": "1.17.0"}


def test_a_candidate_is_frozen_as_the_stack_nox_s_candidate_gives_the_same_pins(project: Path) -> None:
    options = parse_args(["--pin", "transformers==4.46.3", "--pin", "trl==0.11.4", "--torch", "installed"])
    matrix, options = with_candidate(LATEST_MATRIX, options)
    expected = candidate_stack(command_line_pins(["transformers==4.46.3", "trl==0.11.4"], LATEST_MATRIX.packages()))
    assert options.stacks == (expected.id,) and matrix.stack(Cell("installed", expected.id, 0)) == expected
    lines = requirement_sets(matrix, options, project)[f"installed-{expected.id}"]
    assert {"transformers==4.46.3", "trl==0.11.4", "accelerate", "datasets"} <= set(lines)
    with pytest.raises(MatrixError, match="^'numpy' is not a package the regressions use"):
        with_candidate(LATEST_MATRIX, parse_args(["--pin", "numpy==2.0"]))


def test_a_required_version_the_wheelhouse_lacks_is_not_run_there(tmp_path: Path) -> None:
    from incidentkb.matrix.hosts import HostFacts, unavailable, wheelhouse_has

    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "2.6.0-4.51.3.txt").write_text("")
    (tmp_path / "Albumentations-1.3.1-py3-none-any.whl").write_bytes(b"")
    assert wheelhouse_has([str(tmp_path)], "albumentations", "1.3.1") and wheelhouse_has([str(tmp_path)], "albumentations", "any")
    assert not wheelhouse_has([str(tmp_path)], "albumentations", "2.0.8")
    host = HostFacts((), "python3", None, wheelhouse=(str(tmp_path),), built_for=frozenset({"2.6.0-4.51.3"}))
    cell = Cell("2.6.0", "4.51.3", 0)
    assert unavailable(MATRIX, cell.requiring({"albumentations": "1.3.1"}), host) is None
    assert unavailable(MATRIX, cell.requiring({"albumentations": "2.0.8"}), host) == (
        "the wheelhouse has no albumentations 2.0.8 wheel (it carries the stacks, not what incidents require)")
    assert unavailable(MATRIX, cell.requiring({"albumentations": "2.0.8"}), replace(host, wheelhouse=())) is None


@pytest.mark.parametrize("argv", [["--stack", "4.51.3", "5.24.0"], ["--stack", "4.51.3", "--stack", "5.24.0"]])
def test_several_stacks_are_given_in_either_form(argv: list[str]) -> None:
    """`--stack A B` (argparse's nargs="+") and `--stack A --stack B` both choose both, with `--torch` the same."""
    assert parse_args(argv).stacks == ("4.51.3", "5.24.0")
    assert parse_args(["--torch", "2.6.0", "installed", "--torch", "2.13.0"]).torch == ("2.6.0", "installed", "2.13.0")


def test_the_help_says_both_forms_of_several_stacks() -> None:
    text = " ".join(parser().format_help().split())
    assert "--stack STACK [STACK ...]" in text
    assert "stack ids to include, one or more: --stack A B, or --stack A --stack B (default: all)" in text
