"""A candidate upgrade as a cell: pins from the command line or a project's lock file, its cell id, its one screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentkb.matrix.axes import Cell, load_matrix
from incidentkb.matrix.candidate import (
    CandidateError,
    Pins,
    candidate_stack,
    candidate_torch,
    cell_for,
    parse_args,
    read_pins,
    summary,
)
from incidentkb.matrix.results_files import SCHEMA, CellResult

REPO = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).parent / "candidate_samples"
MATRIX = load_matrix(REPO / "regressions/matrix.toml")
WANTED = MATRIX.packages()


@pytest.mark.parametrize(
    ("sample", "pins", "ignored"),
    [
        ("requirements.txt", {"accelerate": "1.15.0", "torch": "2.13.0+cpu", "transformers": "5.25.0", "trl": "1.17.0"},
         ("fastapi",)),
        ("pylock.toml", {"transformers": "5.25.0", "trl": "1.17.0"}, ("numpy",)),
        # a uv.lock lists transformers once per fork of its resolution: the highest is taken
        ("uv.lock", {"huggingface-hub": "0.36.0", "transformers": "5.25.0", "peft": "0.21.2"}, ("my-trainer",)),
    ],
)
def test_the_pins_the_matrix_cares_about_are_read_and_the_rest_counted(sample: str, pins: dict[str, str],
                                                                        ignored: tuple[str, ...]) -> None:
    read = read_pins(SAMPLES / sample, WANTED)
    assert dict(read.versions) == pins
    assert read.ignored == ignored
    assert read.source.endswith(sample)


def test_a_package_the_matrix_uses_without_an_exact_pin_is_an_error_at_its_line() -> None:
    with pytest.raises(CandidateError, match=r"unpinned.txt:2:1: trl is not pinned with '=='"):
        read_pins(SAMPLES / "unpinned.txt", WANTED)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["transformrs==5.25.0"], "candidate: 'transformrs' is not a package the regressions use; choose from accelerate, "),
        (["transformers>=5"], "candidate: 'transformers>=5': write a pin as 'name==version'"),
        ([], "candidate: nothing to test"),
        (["--requirements", "no/such/requirements.txt"], "no/such/requirements.txt: no such file"),
        (["--gpus", "two"], "candidate: argument --gpus: invalid int value: 'two'"),
    ],
)
def test_each_mistake_is_one_line(argv: list[str], message: str) -> None:
    with pytest.raises(CandidateError) as raised:
        parse_args(argv, MATRIX)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_the_latest_session_takes_a_torch_and_gpus_only() -> None:
    options = parse_args(["--torch", "latest", "--gpus", "2"], MATRIX, pins=False)
    assert (options.torch, options.gpus, dict(options.pins.versions)) == ("latest", 2, {})
    assert candidate_torch(MATRIX, parse_args([], MATRIX, pins=False).pins, None) == "2.13.0"
    with pytest.raises(CandidateError, match="^latest: it takes only --torch T and --gpus N"):
        parse_args(["trl==1.17.0"], MATRIX, pins=False)


def test_command_line_pins_win_over_the_file_and_pytest_arguments_pass_through() -> None:
    options = parse_args(["trl==1.18.0", "-r", str(SAMPLES / "pylock.toml"), "--gpus", "1", "--", "-k", "dtype"], MATRIX)
    assert dict(options.pins.versions) == {"transformers": "5.25.0", "trl": "1.18.0"}
    assert options.pins.source.endswith("pylock.toml and the command line")
    assert (options.gpus, options.pytest_args) == (1, ("-k", "dtype"))


def test_the_cell_id_says_candidate_and_is_the_same_for_the_same_pins() -> None:
    one = candidate_stack(Pins({"transformers": "5.25.0", "trl": "1.17.0"}))
    again = candidate_stack(Pins({"trl": "1.17.0", "transformers": "5.25.0"}, source="elsewhere"))
    assert one.id == again.id and one.id.startswith("candidate-") and len(one.id) == len("candidate-") + 8
    assert one.packages == ("transformers==5.25.0", "trl==1.17.0")
    assert (one.resolve, one.gpu_resolve) == (("accelerate", "datasets"), ("liger-kernel", "peft"))
    cell = Cell("2.13.0", one.id, 0)
    assert Cell.parse(str(cell)) == cell


@pytest.mark.parametrize(
    ("pins", "asked", "torch"),
    [
        ({}, None, "2.13.0"),                      # the newest pinned axis value
        ({"torch": "2.6.0"}, None, "2.6.0"),       # the file's torch, an axis value
        ({"torch": "2.12.0+cpu"}, None, "2.12.0"),  # not an axis value: pinned as asked
        ({"torch": "2.6.0"}, "latest", "latest"),  # --torch wins
    ],
)
def test_the_cells_torch(pins: dict[str, str], asked: str | None, torch: str) -> None:
    assert candidate_torch(MATRIX, Pins(pins), asked) == torch


def test_a_torch_that_is_no_axis_value_is_installed_as_pinned() -> None:
    matrix, cell = cell_for(MATRIX, parse_args(["torch==2.12.0", "transformers==5.25.0"], MATRIX))
    assert matrix.torch_option(cell).requirement == "torch==2.12.0"
    assert matrix.stack(cell).packages == ("transformers==5.25.0",)


def test_the_summary_answers_fixes_and_bugs_per_incident() -> None:
    def case(incident: str, name: str, role: str, outcome: str) -> dict[str, str]:
        return {"nodeid": f"regressions/test_x.py::{name}", "incident": incident, "role": role, "outcome": outcome}

    result = CellResult.from_dict({
        "schema": SCHEMA, "cell": "torch=2.13.0 stack=candidate-0123abcd gpus=0", "started": "2026-12-03T10:00:00+00:00",
        "finished": "2026-12-03T10:01:00+00:00",
        "cases": [case("dtype", "test_symptom", "symptom", "reproduces"), case("dtype", "test_fix", "fix", "holds"),
                  case("orpo", "test_fix", "fix", "BROKEN"), case("orpo", "test_gpu", "fix", "not run")],
    })
    assert summary(result) == (
        "torch=2.13.0 stack=candidate-0123abcd gpus=0\n"
        "  dtype: the bug reproduces; the fix holds\n"
        "  orpo: the fix BROKEN\n"
        "\n"
        "1 case(s) failed (a fix BROKEN, a crash or a timeout)\n"
        "1 recorded bug(s) still reproduce in this environment\n"
    )
