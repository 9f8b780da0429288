"""The matrix: the declared file parses, cells multiply and print as their ids, exclusions are data, and each
incident runs once per distinct combination of the versions it depends on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from incidentkb.matrix.axes import (
    MATRIX_FILE,
    Cell,
    Exclusion,
    GpuSetting,
    Matrix,
    MatrixError,
    Stack,
    TorchOption,
    load_matrix,
    pinned_version,
)
from incidentkb.matrix.planning import Target, load_targets, plan

ROOT = Path(__file__).resolve().parents[1]

SMALL = Matrix(
    torch=(TorchOption("2.6.0", "original", "torch==2.6.0"), TorchOption("installed", "host")),
    stacks=(
        Stack("4.51.3", "original", ("transformers==4.51.3", "trl==0.15.2"), ("liger-kernel==0.5.8",), ">=2.0"),
        Stack("5.24.0", "newest", ("transformers==5.24.0", "trl==1.16.0"), (), ">=2.7"),
    ),
    gpus=(GpuSetting(0, "cpu", "auto"), GpuSetting(2, "two")),
    exclusions=(Exclusion({"torch": "installed", "gpus": "0"}, "the host's torch is for its GPUs"),),
)
DTYPE = Target("dtype", "regressions/test_dtype.py", ("torch",), (("test_symptom", "symptom"),))
SFT = Target("sft", "regressions/test_sft.py", ("torch", "transformers", "trl"), (("test_fix", "fix"),))
LIGER = Target("liger", "regressions/test_liger.py", ("liger_kernel",), (("test_fix", "fix"),))


def test_the_declared_matrix_parses_and_names_the_required_axes() -> None:
    matrix = load_matrix(ROOT / MATRIX_FILE)
    assert [t.id for t in matrix.torch][:2] == ["2.6.0", "2.13.0"] and "installed" in [t.id for t in matrix.torch]
    assert [s.id for s in matrix.stacks][0] == "4.51.3" and len(matrix.stacks) >= 3
    assert [g.count for g in matrix.gpus] == [0, 1, 2]
    assert all(entry.why.strip() for entry in (*matrix.torch, *matrix.stacks, *matrix.gpus))
    original = matrix.stack(Cell("2.6.0", "4.51.3", 0)).versions(gpus=0)
    assert (original["transformers"], original["trl"]) == ("4.51.3", "0.15.2")


@pytest.mark.parametrize(
    ("cell", "text", "slug"),
    [
        (Cell("2.6.0", "4.51.3", 2), "torch=2.6.0 stack=4.51.3 gpus=2", "torch-2.6.0_stack-4.51.3_gpus-2"),
        (Cell("installed", "5.24.0", 0), "torch=installed stack=5.24.0 gpus=0", "torch-installed_stack-5.24.0_gpus-0"),
    ],
)
def test_a_cell_is_its_id_and_parses_back(cell: Cell, text: str, slug: str) -> None:
    assert (str(cell), cell.slug, Cell.parse(text), Cell.parse(" ".join(reversed(text.split())))) == (text, slug, cell, cell)


@pytest.mark.parametrize("text", ["torch=2.6.0 stack=4.51.3", "torch=2.6.0 stack=4.51.3 gpus=two", "2.6.0 4.51.3 0"])
def test_a_malformed_cell_says_how_to_write_one(text: str) -> None:
    with pytest.raises(MatrixError, match="torch=<id> stack=<id> gpus=<n>"):
        Cell.parse(text)


def test_axes_multiply_in_declared_order() -> None:
    assert [str(c) for c in SMALL.cells()] == [
        "torch=2.6.0 stack=4.51.3 gpus=0",
        "torch=2.6.0 stack=4.51.3 gpus=2",
        "torch=2.6.0 stack=5.24.0 gpus=0",
        "torch=2.6.0 stack=5.24.0 gpus=2",
        "torch=installed stack=4.51.3 gpus=0",
        "torch=installed stack=4.51.3 gpus=2",
        "torch=installed stack=5.24.0 gpus=0",
        "torch=installed stack=5.24.0 gpus=2",
    ]


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        (Cell("installed", "4.51.3", 0), "the host's torch is for its GPUs"),
        (Cell("2.6.0", "5.24.0", 0), "stack 5.24.0 needs torch>=2.7, the cell pins torch 2.6.0"),
        (Cell("2.6.0", "4.51.3", 0), None),
        (Cell("installed", "5.24.0", 2), None),  # the host's torch is checked on the host, not here
    ],
)
def test_exclusions_are_data_with_a_reason(cell: Cell, reason: str | None) -> None:
    assert SMALL.excluded(cell) == reason


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [("transformers==4.51.3", ("transformers", "4.51.3")), ("Liger_Kernel==0.5.8", ("liger-kernel", "0.5.8")), ("nox", ("nox", None))],
)
def test_pinned_version(requirement: str, expected: tuple[str, str | None]) -> None:
    assert pinned_version(requirement) == expected


def test_an_incident_runs_once_per_combination_of_its_dependencies_in_the_first_cell_that_has_it() -> None:
    cells = [c for c in SMALL.cells() if not SMALL.excluded(c)]
    assignments = plan(SMALL, cells, [DTYPE, SFT, LIGER])
    ran = {str(cell): [t.incident for t in a.run] for cell, a in assignments.items()}
    assert ran == {
        "torch=2.6.0 stack=4.51.3 gpus=0": ["dtype", "sft", "liger"],
        "torch=2.6.0 stack=4.51.3 gpus=2": ["dtype", "sft", "liger"],  # the GPU count always matters
        # torch=2.6.0 stack=5.24.0: excluded (the stack needs torch>=2.7)
        "torch=installed stack=4.51.3 gpus=2": ["dtype", "sft"],  # liger 0.5.8 on 2 GPUs ran above
        "torch=installed stack=5.24.0 gpus=2": ["sft", "liger"],  # no liger in this stack: a new combination
    }
    covered = assignments[Cell("installed", "5.24.0", 2)].covered
    assert {k: str(v) for k, v in covered.items()} == {"dtype": "torch=installed stack=4.51.3 gpus=2"}
    assert assignments[Cell("installed", "5.24.0", 2)].files == ["regressions/test_liger.py", "regressions/test_sft.py"]


def test_a_single_selected_cell_runs_every_incident() -> None:
    (assignment,) = plan(SMALL, [Cell("2.6.0", "5.24.0", 2)], [DTYPE, SFT]).values()
    assert [t.incident for t in assignment.run] == ["dtype", "sft"] and not assignment.covered


def test_the_records_declare_their_regressions() -> None:
    targets = {t.incident: t for t in load_targets(ROOT)}
    dtype = targets["2025-04-12-stylegan-label-dtype-mismatch"]
    assert dtype.path == "regressions/test_stylegan_label_dtype.py" and dtype.depends_on == ("torch",)
    assert set(targets["2025-04-21-llm-sft-batch-size-multi-gpu"].depends_on) == {"torch", "transformers", "trl"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[torch]]\nid='1'\n", "entry 1 has no 'why'"),
        ("[[torch]]\nid='1'\nwhy='w'\n[[stack]]\nid='s'\nwhy='w'\npackages=['trl']\n[[gpus]]\ncount=0\nwhy='w'\n", "must pin a version"),
        ("[[torch]]\nid='1'\nwhy='w'\n[[gpus]]\ncount=0\nwhy='w'\n", "the axis 'stack' has no entry"),
        (
            "[[torch]]\nid='1'\nwhy='w'\n[[stack]]\nid='s'\nwhy='w'\npackages=[]\n[[gpus]]\ncount=0\nwhy='w'\n"
            "[[exclude]]\ncuda='12'\nreason='r'\n",
            r"matches on \['cuda'\]",
        ),
        ("[[torch]\n", "Expected"),
        (
            "[[torch]]\nid='1'\nwhy='w'\n[[stack]]\nid='s'\nwhy='w'\npackages=[]\nrequires_torch='2.6'\n"
            "[[gpus]]\ncount=0\nwhy='w'\n",
            "stack s: requires_torch '2.6' is not a version specifier",
        ),
        (
            "[[torch]]\nid='1'\nwhy='w'\n[[stack]]\nid='s'\nwhy='w'\npackages=[]\nrequires_toch='>=2.6'\n"
            "[[gpus]]\ncount=0\nwhy='w'\n",
            "\\[stack\\] has the unknown key 'requires_toch'",
        ),
        (
            "[[torch]]\nid='1'\nwhy='w'\n[[stack]]\nid='s'\nwhy='w'\npackages=[]\n[[gpus]]\ncount=0\nwhy='w'\n"
            "[run]\ncase_timeout=3\n",
            "\\[run\\] has the unknown key 'case_timeout'",
        ),
    ],
)
def test_a_mistake_in_the_matrix_file_names_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "matrix.toml"
    path.write_text(text)
    with pytest.raises(MatrixError, match=message) as raised:
        load_matrix(path)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("duplicate-key.yaml", "duplicate key"),  # yaml.safe_load kept the last value without a word
        ("alias-bomb-small.yaml", "alias"),
    ],
)
def test_targets_are_read_as_check_reads_records(tmp_path: Path, name: str, message: str) -> None:
    folder = next(f for f in (ROOT / "tests" / "broken", ROOT / "tests" / "hostile") if (f / name).is_file())
    (tmp_path / "incidents").mkdir()
    shutil.copy(folder / name, tmp_path / "incidents" / name)
    with pytest.raises(MatrixError, match=message) as raised:
        load_targets(tmp_path)
    assert str(raised.value).startswith(f"{tmp_path / 'incidents' / name}:") and "run `incidentkb check" in str(raised.value)
