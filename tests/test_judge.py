"""Verdicts are derived from what a results file stores and the record as it is now (incidentkb.verdict.judge)."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentkb.check.agreement import depends_on_problems, known_libraries
from incidentkb.matrix.axes import load_matrix
from incidentkb.records.reader import load_record, read_record
from incidentkb.results.runs import Case
from incidentkb.verdict.judge import CellFacts, judge
from incidentkb.verdict.outcomes import DECISIONS, OUTCOMES, Observed, Outcome, Role, decide

REPO = Path(__file__).resolve().parents[1]
BATCH = load_record(REPO / "incidents" / "2025-04-21-llm-sft-batch-size-multi-gpu.yaml")
REFUSAL = {"type": "ValueError", "frames": ["trl.trainer.sft_trainer:__init__"],
           "message": "SFTTrainer does not support `nn.DataParallel`, which `Trainer` uses when several GPUs are visible"}
SIZE = {"type": "RuntimeError", "frames": ["trl.trainer.sft_trainer:compute_loss"],
        "message": "The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0"}


def entry(name: str, role: str, outcome: str, error: dict | None = None) -> dict:
    return {"nodeid": f"regressions/test_sft_batch_size.py::{name}", "role": role, "outcome": outcome,
            "incident": BATCH.id, "observation": {"error": error, "values": {}, "notes": []}}


@pytest.mark.parametrize(("case", "gpus", "expected", "note"), [
    # The fix could not have failed with fewer than 2 GPUs: an old "holds" there is re-judged.
    (entry("test_fix_visible_devices_before_training_args", "fix", "holds"), 0, Outcome.not_applicable, "several GPUs"),
    (entry("test_fix_visible_devices_before_training_args", "fix", "holds"), 2, Outcome.holds, None),
    # A symptom "reproduces" only with the recorded error; the library's refusal is a change, in its own words.
    (entry("test_symptom_two_visible_gpus_double_the_batch", "symptom", "reproduces", SIZE), 2, Outcome.reproduces, None),
    (entry("test_symptom_two_visible_gpus_double_the_batch", "symptom", "reproduces", REFUSAL), 2, Outcome.changed,
     "refuse the setup up front"),
    (entry("test_symptom_two_visible_gpus_double_the_batch", "symptom", "changed", REFUSAL), 2, Outcome.changed,
     "refuse the setup up front"),
    # A run whose own checks failed (stored "changed") is never made "reproduces" because its error matches.
    (entry("test_symptom_two_visible_gpus_double_the_batch", "symptom", "changed", SIZE), 2, Outcome.changed, None),
    # What fails the run is never softened.
    (entry("test_fix_visible_devices_before_training_args", "fix", "crashed"), 0, Outcome.crashed, None),
    (entry("test_smoke_sft_trains_at_per_device_batch", "smoke", "works"), 0, Outcome.works, None),
])
def test_a_stored_observation_is_judged_with_the_record_of_today(case: dict, gpus: int, expected: Outcome,
                                                                 note: str | None) -> None:
    verdict = judge(Case.from_dict(case), BATCH, CellFacts(gpus=gpus, versions={}))
    assert verdict.outcome is expected
    assert (verdict.note is None) if note is None else (note in (verdict.note or ""))


def test_every_role_and_observation_has_one_outcome_with_a_meaning() -> None:
    assert {(role, seen) for role in Role for seen in Observed} == set(DECISIONS)
    assert set(OUTCOMES) == set(Outcome) and all(info.meaning for info in OUTCOMES.values())
    assert decide(Role.fix, Observed.harness_fault) is Outcome.harness_error and Outcome.harness_error.fails_run
    assert decide(Role.smoke, Observed.as_recorded) is Outcome.works and not Outcome.works.is_drift
    assert Outcome.not_applicable.level == "none"


def test_a_misspelt_dependency_is_refused_with_a_did_you_mean(tmp_path: Path) -> None:
    text = (REPO / "incidents" / f"{BATCH.id}.yaml").read_text(encoding="utf-8")
    path = tmp_path / f"{BATCH.id}.yaml"
    path.write_text(text.replace("depends_on: [torch, transformers, trl]", "depends_on: [pytorch, transformers, trl]"))
    known = known_libraries(load_matrix(REPO / "regressions" / "matrix.toml"))
    (problem,) = depends_on_problems([read_record(path)], known)
    assert "'pytorch' in regression.depends_on is no library the matrix varies; did you mean 'torch'?" in str(problem)
    assert problem.line > 1


def test_a_measured_symptom_is_judged_against_todays_threshold() -> None:
    from incidentkb.records.reader import load_record
    from incidentkb.verdict.outcomes import Outcome

    record = load_record(Path(__file__).resolve().parents[1] / "incidents" /
                         "2025-04-15-stylegan-test-image-memory-leak.yaml")
    case = {"nodeid": "regressions/test_stylegan_generation_leak.py::test_symptom_memory_grows_without_no_grad[cpu]",
            "role": "symptom", "outcome": "reproduces",
            "observation": {"error": None, "values": {"growth_per_call_bytes": 1000}, "notes": []}}
    verdict = judge(Case.from_dict(case), record, CellFacts(gpus=0, versions={}))
    assert verdict.outcome is Outcome.no_longer_reproduces
    assert verdict.note == ("measured 1000 bytes; the record's symptom is memory left behind per image-test "
                            "generator call above 262,144 bytes")
    case["observation"]["values"]["growth_per_call_bytes"] = 9_900_000
    assert judge(Case.from_dict(case), record, CellFacts(gpus=0, versions={})).outcome is Outcome.reproduces


def test_a_package_the_record_requires_may_be_named_in_depends_on(tmp_path: Path) -> None:
    text = (REPO / "incidents" / f"{BATCH.id}.yaml").read_text(encoding="utf-8")
    path = tmp_path / f"{BATCH.id}.yaml"
    path.write_text(text.replace("depends_on: [torch, transformers, trl]",
                                 "depends_on: [torch, albumentations]\n  requires: [albumentations]"))
    known = known_libraries(load_matrix(REPO / "regressions" / "matrix.toml"))
    assert depends_on_problems([read_record(path)], known) == []
    path.write_text(text.replace("depends_on: [torch, transformers, trl]", "depends_on: [albumentations]"))
    (problem,) = depends_on_problems([read_record(path)], known)
    assert str(problem).endswith("a package to install goes in regression.requires")


def test_a_measured_symptom_without_its_value_is_a_harness_error_not_reproduces() -> None:
    record = load_record(REPO / "incidents" / "2025-04-15-stylegan-test-image-memory-leak.yaml")
    case = {"nodeid": "regressions/test_stylegan_generation_leak.py::test_symptom_x", "role": "symptom",
            "outcome": "reproduces", "incident": record.id, "observation": {"error": None, "values": {}, "notes": []}}
    verdict = judge(Case.from_dict(case), record, CellFacts(gpus=0, versions={}))
    assert verdict.outcome is Outcome.harness_error
    assert verdict.note == ("the run stored no value of growth_per_call_bytes, by which the record's symptom is "
                            "measured: it cannot be shown to reproduce")


@pytest.mark.parametrize("spelled", ["liger_kernel", "Liger-Kernel", "liger.kernel", "liger-kernel"])
def test_applies_when_names_a_package_in_any_spelling_pypi_accepts(spelled: str) -> None:
    from incidentkb.records.schema import Applicability
    from incidentkb.results.runs import Versions
    from incidentkb.verdict.judge import unmet_applicability

    applies = Applicability(versions={spelled: ">=0.5"}, why="the kernel exists from 0.5")
    assert unmet_applicability(applies, 0, Versions({"liger-kernel": "0.5.8"})) == []
    assert unmet_applicability(applies, 0, {"liger-kernel": "0.5.8"}) == []
    assert unmet_applicability(applies, 0, {"liger-kernel": "0.4.0"}) == [f"{spelled}>=0.5 (the cell has 0.4.0)"]
