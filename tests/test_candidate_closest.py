"""What `nox -s candidate` says beside its own run: the nearest pinned stack, what it shows, and for an environment
fault the pin that would fix the import, from that stack's newest run."""

from __future__ import annotations

from pathlib import Path

from incidentkb.matrix.axes import Cell, load_matrix
from incidentkb.matrix.candidate import Pins, closest, closest_stack
from incidentkb.results.runs import Run

REPO = Path(__file__).resolve().parent.parent
MATRIX = load_matrix(REPO / "regressions/matrix.toml")
CASE = "regressions/test_orpo_get_batch_samples.py::test_symptom_orpo_train_fails_in_get_batch_samples"
FAULT = ("environment fault: cannot import trl.trainer.orpo_trainer: datasets.features.features raised AttributeError: "
         "module 'pyarrow' has no attribute 'PyExtensionType' (installed: trl 0.11.4, datasets 2.14.4, pyarrow 26.0.1)")


def run(cell: str, outcome: str, packages: dict[str, str], detail: str | None = None) -> Run:
    axes = dict(part.split("=") for part in cell.split())
    return Run.from_dict({
        "schema": 1, "cell": cell, "axes": {**axes, "gpus": int(axes["gpus"])}, "started": "2026-12-02T08:15:00+00:00",
        "finished": "2026-12-02T08:15:00+00:00", "packages": packages,
        "cases": [{"nodeid": CASE, "incident": "orpo", "role": "symptom", "outcome": outcome, "detail": detail}],
    })


def test_the_nearest_pinned_stack_is_the_one_with_most_equal_pins() -> None:
    assert closest_stack(MATRIX, Pins({"transformers": "4.46.3", "trl": "0.11.4"})).id == "4.46.3"
    assert closest_stack(MATRIX, Pins({"transformers": "4.45.0"})).id == "4.45.0"
    assert closest_stack(MATRIX, Pins({"transformers": "4.57.1"})).id == "4.57.6"  # the same minor release
    assert closest_stack(MATRIX, Pins({"transformers": "3.0.0"})) is None


def test_it_says_what_that_stack_shows_and_the_pin_that_would_fix_the_import() -> None:
    pins = Pins({"transformers": "4.46.3", "trl": "0.11.4"})
    mine = run("torch=2.13.0 stack=candidate-c1530a9d gpus=0", "environment fault", {}, FAULT)
    theirs = run("torch=2.13.0 stack=4.46.3 gpus=0", "reproduces", {"datasets": "3.1.0", "pyarrow": "26.0.1", "trl": "0.11.4"})
    older = run("torch=2.6.0 stack=4.46.3 gpus=0", "crashed", {"datasets": "3.0.0"})
    text = closest(MATRIX, pins, mine, [older, theirs])
    assert text.splitlines()[0].startswith("closest pinned stack: 4.46.3 (transformers 4.46.3, trl 0.11.4 as pinned here;")
    assert "  its newest run, torch=2.13.0 stack=4.46.3 gpus=0 (2026-12-02):" in text
    assert "    orpo: the bug reproduces" in text
    assert text.splitlines()[-1] == ("  test_symptom_orpo_train_fails_in_get_batch_samples: that run imported it with "
                                     "datasets 3.1.0; the pin that would fix it: datasets==3.1.0")
    assert Cell.parse(str(mine.cell)).stack.startswith("candidate-")


def test_a_module_missing_here_is_pinned_as_the_stacks_run_had_it() -> None:
    missing = ("environment fault: cannot import trl.trainer.orpo_trainer: trl.trainer.utils raised ModuleNotFoundError: "
               "No module named 'rich' (installed: trl 0.11.4)")
    mine = run("torch=2.13.0 stack=candidate-45c20573 gpus=0", "environment fault", {}, missing)
    theirs = run("torch=2.13.0 stack=4.46.3 gpus=0", "reproduces", {"rich": "13.9.4", "trl": "0.11.4"})
    text = closest(MATRIX, Pins({"transformers": "4.46.3", "trl": "0.11.4", "datasets": "3.1.0"}), mine, [theirs])
    assert text.splitlines()[-1].endswith("that run imported it with rich 13.9.4; the pin that would fix it: rich==13.9.4")
