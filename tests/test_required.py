"""What an incident requires beyond the stacks: its packages' versions as cells of its own, end to end."""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from incidentkb.matrix import cell_run, envs, results_files
from incidentkb.matrix.axes import Cell, GpuSetting, Matrix, MatrixError, Stack, TorchOption, cell_key
from incidentkb.matrix.hosts import HostFacts
from incidentkb.matrix.planning import Assignment, Target, load_targets
from incidentkb.matrix.required import ANY, Need, cells_for, names, run_all, split, variant_cells, wanted_versions
from requires_samples import required_project, tinyaug_wheels

REPO = Path(__file__).resolve().parent.parent
CELL = Cell("2.13.0", "4.51.3", 0)
AUG = Target("aug", "regressions/test_aug.py", (), (("test_symptom", "symptom"),), requires=("albumentations",),
             original=(("albumentations", "1.3.1"),))
AUG2 = Target("aug2", "regressions/test_aug2.py", ("torch",), (("test_fix", "fix"),), requires=("albumentations",))
PLAIN = Target("plain", "regressions/test_plain.py", ("torch",), (("test_fix", "fix"),))
MATRIX = Matrix(torch=(TorchOption("2.13.0", "w", "torch==2.13.0"),),
                stacks=(Stack("4.51.3", "w", ("transformers==4.51.3",)),
                        Stack("cand", "w", ("transformers==4.51.3", "albumentations==1.4.0"))),
                gpus=(GpuSetting(0, "w"),))


def test_a_cell_with_required_versions_reads_and_writes_as_one_id() -> None:
    cell = CELL.requiring({"Albumentations": "1.3.1"})
    assert str(cell) == "torch=2.13.0 stack=4.51.3 gpus=0 albumentations=1.3.1"
    assert Cell.parse(str(cell)) == cell and cell.base == CELL
    assert cell.slug == "torch-2.13.0_stack-4.51.3_gpus-0_albumentations-1.3.1"
    assert sorted([CELL.requiring({"a": "1.10"}), CELL.requiring({"a": "1.9"}), CELL], key=cell_key) == [
        CELL, CELL.requiring({"a": "1.9"}), CELL.requiring({"a": "1.10"})]
    assert MATRIX.versions(cell)["albumentations"] == "1.3.1"
    with pytest.raises(MatrixError, match="then any required package's 'name=version'"):
        Cell.parse("torch=2.13.0 stack=4.51.3 gpus=0 albumentations=")


def test_incidents_that_require_nothing_run_in_the_cell_itself_the_others_grouped_by_need() -> None:
    own, needs = split(Assignment((PLAIN, AUG, AUG2), {"other": CELL}))
    assert own == Assignment((PLAIN,), {"other": CELL})
    assert needs == [Need(("albumentations",), (AUG, AUG2))]
    assert needs[0].original == {"albumentations": "1.3.1"}
    assert names([PLAIN, AUG, AUG2]) == ("albumentations",)


@pytest.mark.parametrize(
    ("requirement", "original", "newest", "pinned", "expected"),
    [
        ("albumentations", "1.3.1", "2.0.8", None, ["1.3.1", "2.0.8"]),  # a bare name: the original and the newest
        ("albumentations", "2.0.8", "2.0.8", None, ["2.0.8"]),  # the same version once
        ("albumentations", None, "2.0.8", None, ["2.0.8"]),  # the record names no original version
        ("albumentations", "1.3.1", None, None, ["1.3.1"]),  # offline: no newest
        ("albumentations>=1.4", "1.3.1", "2.0.8", None, ["2.0.8"]),  # the original is outside the range
        ("albumentations<2", "1.3.1", "1.4.24", None, ["1.3.1", "1.4.24"]),
        ("albumentations==1.3.1", "1.3.1", "1.3.1", None, ["1.3.1"]),
        ("albumentations", "1.3.1", "2.0.8", "1.4.0", ["1.4.0"]),  # a candidate that pins it tests its pin alone
        ("albumentations", None, None, None, [ANY]),  # nothing known: the installer chooses, the results say what
    ],
)
def test_the_versions_a_required_package_takes(requirement: str, original: str | None, newest: str | None,
                                               pinned: str | None, expected: list[str]) -> None:
    assert wanted_versions(requirement, original=original, newest=newest, pinned=pinned) == expected


def test_incidents_with_one_need_share_each_of_its_cells() -> None:
    _, needs = split(Assignment((AUG, AUG2)))
    runs = cells_for(MATRIX, CELL, needs, newest=lambda names: {"albumentations": "2.0.8"})
    assert [(str(cell), [t.incident for t in a.run]) for cell, a in runs] == [
        ("torch=2.13.0 stack=4.51.3 gpus=0 albumentations=1.3.1", ["aug", "aug2"]),
        ("torch=2.13.0 stack=4.51.3 gpus=0 albumentations=2.0.8", ["aug", "aug2"]),
    ]
    candidate = Cell("2.13.0", "cand", 0)
    assert variant_cells(MATRIX, candidate, needs[0], {"albumentations": "2.0.8"}) == [
        candidate.requiring({"albumentations": "1.4.0"})]


def test_each_required_version_has_an_environment_of_its_own() -> None:
    specs = [envs.spec_for(MATRIX, CELL.requiring({"albumentations": v}), backend="uv", interpreter="python3",
                           project=REPO) for v in ("1.3.1", "2.0.8", ANY)]
    assert [s.name for s in specs] == ["2.13.0-4.51.3-cpu-albumentations-1.3.1", "2.13.0-4.51.3-cpu-albumentations-2.0.8",
                                       "2.13.0-4.51.3-cpu-albumentations-any"]
    assert [s.requirements[-1] for s in specs] == ["albumentations==1.3.1", "albumentations==2.0.8", "albumentations"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("UV_DEFAULT_INDEX", (tmp_path / "no-index").as_uri())  # the wheels folder alone: no network
    monkeypatch.setenv("INCIDENTKB_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv("INCIDENTKB_BACKEND", raising=False)
    return required_project(tmp_path / "project")


def test_a_required_package_runs_at_its_original_and_newest_version_each_in_a_cached_environment(
        project: Path, tmp_path: Path) -> None:
    wheels = tinyaug_wheels(tmp_path / "wheels")
    matrix = Matrix(torch=(TorchOption("installed", "w", find_links=(str(wheels),)),), stacks=(Stack("none", "w", ()),),
                    gpus=(GpuSetting(0, "w"),))
    # this interpreter's packages (pytest, torch) and incidentkb's source, as a host torch's environment sees them
    host = HostFacts((), sys.executable, None, host_site=(*site.getsitepackages(), str(REPO / "src")))
    cell, built = Cell("installed", "none", 0), []

    def run_matrix(install: bool) -> list[results_files.CellResult]:
        def run(command: list[str]) -> None:
            assert install, f"a warm run built an environment again: {command}"
            built.append(command)
            subprocess.run(command, check=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})

        return run_all(matrix, cell, Assignment(tuple(load_targets(project))),
                       run_one=lambda c, a: cell_run.run_cell(matrix, c, a, host=host, root=project, run=run, log=print),
                       newest=lambda names: cell_run.newest_required(matrix, cell, names, host=host, log=print))

    results = run_matrix(install=True)
    outcomes = {str(r.cell): {c.function: c.outcome.value for c in r.cases} for r in results}
    assert outcomes == {
        "torch=installed stack=none gpus=0": {},  # the cell itself: nothing of its own to run
        "torch=installed stack=none gpus=0 tinyaug=1.0": {"test_symptom_scale_drops_a_value": "reproduces",
                                                         "test_fix_scale_by_hand": "holds"},
        "torch=installed stack=none gpus=0 tinyaug=2.0": {"test_symptom_scale_drops_a_value": "no longer reproduces",
                                                         "test_fix_scale_by_hand": "holds"},
    }
    assert [(r.requires, r.versions.get("tinyaug")) for r in results[1:]] == [
        ({"tinyaug": "1.0"}, "1.0"), ({"tinyaug": "2.0"}, "2.0")]
    on_disk = sorted(p.name.split("_", 1)[1] for p in results_files.result_paths(tmp_path / "results"))
    assert any(name.startswith("torch-installed_stack-none_gpus-0_tinyaug-2.0") for name in on_disk), on_disk
    assert len(built) >= 4  # each environment created and installed once
    again = run_matrix(install=False)  # warm: every environment reused as built
    assert [str(r.cell) for r in again] == [str(r.cell) for r in results]


def test_a_candidate_may_pin_a_package_a_record_requires() -> None:
    from dataclasses import replace

    from incidentkb.matrix.candidate import CandidateError, parse_args

    stacks = replace(MATRIX, stacks=MATRIX.stacks[:1])  # no stack installs albumentations
    options = parse_args(["albumentations==1.3.1"], stacks, required=("albumentations",))
    assert options.pins.versions == {"albumentations": "1.3.1"}
    with pytest.raises(CandidateError, match="'albumentations' is not a package the regressions use"):
        parse_args(["albumentations==1.3.1"], stacks)


def test_a_bisection_of_a_required_package_holds_the_first_stack_which_pins_none_of_it() -> None:
    from incidentkb.matrix.bisect import BisectError
    from incidentkb.matrix.bisect_run import _default_cell, parse_args

    args = parse_args(["aug::test_symptom", "--package", "albumentations", "--good", "1.3.1", "--bad", "2.0.8"])
    assert _default_cell(args, MATRIX, frozenset({"albumentations"})) == Cell("2.13.0", "4.51.3", 0)
    with pytest.raises(BisectError, match="no stack of the matrix pins albumentations 2.0.8 or 1.3.1"):
        _default_cell(args, MATRIX)


def test_a_cell_whose_every_case_k_deselected_writes_no_results_file(project: Path, tmp_path: Path) -> None:
    """pytest ran and deselected every case: one line says so, and no results file holds nothing."""
    wheels = tinyaug_wheels(tmp_path / "wheels")
    matrix = Matrix(torch=(TorchOption("installed", "w", find_links=(str(wheels),)),), stacks=(Stack("none", "w", ()),),
                    gpus=(GpuSetting(0, "w"),))
    host = HostFacts((), sys.executable, None, host_site=(*site.getsitepackages(), str(REPO / "src")))
    cell = Cell("installed", "none", 0).requiring({"tinyaug": "1.0"})
    lines: list[str] = []

    def run(command: list[str]) -> None:
        subprocess.run(command, check=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})

    result = cell_run.run_cell(matrix, cell, Assignment(tuple(load_targets(project))), host=host, root=project,
                               run=run, log=lines.append, posargs=["-k", "no_such_case"])
    assert result.cases == ()
    assert not list(results_files.result_paths(tmp_path / "results"))
    assert lines[-1] == f"{cell}: every case was deselected (-k no_such_case): no results file written"
