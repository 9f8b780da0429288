"""`check` on cases verified nowhere: what no cell of the matrix can run is an error, stated hardware a note."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from repo_samples import REPO, sample_repository
from site_samples import result_file

from incidentkb.check.checker import check
from incidentkb.check.reach import Needs, Offer, needs_in, unmet_reach, unverifiable_note
from incidentkb.cli import main
from incidentkb.host.gpu_conditions import GpuFacts
from incidentkb.records.schema import Applicability

H100 = GpuFacts("NVIDIA H100 80GB HBM3", "9.0", 79.1)
OFFER = Offer(max_gpus=2, packages=frozenset({"torch", "transformers", "trl", "numpy"}),
              pins={"transformers": frozenset({"4.51.3", "4.46.3"})}, gpus_seen=(H100,))
BF16 = Applicability(gpus=1, compute_capability="<8.0", why="cards from 8.0 on have native bf16 GEMMs")


@pytest.mark.parametrize(
    ("needs", "applies", "required", "errors", "note"),
    [
        (Needs(), None, (), (), None),
        (Needs(gpus=2), None, (), (), None),
        (Needs(gpus=4), None, (), ("4 GPUs, and no cell of regressions/matrix.toml has more than 2 (add a [[gpus]] entry)",), None),
        (Needs(), Applicability(gpus=3, why="w"), (), (
            "3 GPUs, and no cell of regressions/matrix.toml has more than 2 (add a [[gpus]] entry)",), None),
        (Needs(packages=("numpy",)), None, (), (), None),  # installed by some environment (a results file says so)
        (Needs(packages=("albumentations",)), None, (), (
            "package albumentations, which no environment of the matrix installs (add it to the record's "
            "regression.requires)",), None),
        (Needs(packages=("albumentations",)), None, ("albumentations",), (), None),  # the record requires it
        (Needs(versions={"Albumentations": ">=1.3"}), None, ("albumentations",), (), None),
        (Needs(versions={"transformers": "==4.46.3"}), None, (), (), None),
        (Needs(versions={"transformers": "==4.40.0"}), None, (), (
            "transformers==4.40.0, which no stack pins (they pin 4.46.3, 4.51.3)",), None),
        (Needs(versions={"trl": ">=9"}), None, (), (), None),  # a package some stack resolves when it runs: unknown
        (Needs(), BF16, (), (), "a GPU of compute capability <8.0 (cards from 8.0 on have native bf16 GEMMs)"),
        (Needs(), Applicability(gpus=1, compute_capability=">=8.0", why="w"), (), (), None),  # an H100 ran here
        (Needs(), Applicability(gpu_memory_gb="<16", why="the 12 GB card"), (), (), "a GPU of <16 GiB (the 12 GB card)"),
        (Needs(compute_capability="<8.0"), BF16, (), (), "a GPU of compute capability <8.0 (cards from 8.0 on have "
         "native bf16 GEMMs)"),  # the marker's condition is the one the record states
        (Needs(compute_capability="<8.0"), None, (), (
            "a GPU of compute capability <8.0 (its needs marker), which no GPU of the committed results has; say so "
            "in the record's applies_when, with why",), None),
        (Needs(gpus=4, packages=("albumentations",)), BF16, (), (
            "4 GPUs, and no cell of regressions/matrix.toml has more than 2 (add a [[gpus]] entry)",
            "package albumentations, which no environment of the matrix installs (add it to the record's "
            "regression.requires)"), "a GPU of compute capability <8.0 (cards from 8.0 on have native bf16 GEMMs)"),
    ],
)
def test_why_no_cell_can_run_or_show_a_case(needs, applies, required, errors, note) -> None:
    reach = unmet_reach(needs, applies, OFFER, required)
    assert reach.errors == errors
    assert reach.unverifiable == (f"verifiable on no cell of this matrix: needs {note}" if note else None)


OLD_H200 = GpuFacts("NVIDIA H200", None, 139.8)  # a results file from before the compute capability was recorded
ORPO = Applicability(gpus=1, gpu_memory_gb=">12", why="measured on a bigger card than the 12 GB one")


@pytest.mark.parametrize(
    ("gpus_seen", "needs", "applies", "errors", "note"),
    [
        ((OLD_H200,), Needs(), ORPO, (), None),  # its memory was recorded: a GPU the matrix has meets it
        ((OLD_H200,), Needs(), BF16, (), "not yet run on a GPU that meets its conditions: needs a GPU of compute "
         "capability <8.0 (cards from 8.0 on have native bf16 GEMMs)"),  # unknown is not "too new"
        ((), Needs(), ORPO, (), "not yet run on a GPU that meets its conditions: needs a GPU of >12 GiB (measured on "
         "a bigger card than the 12 GB one)"),  # no GPU recorded yet: a first run will tell
        ((OLD_H200, H100), Needs(), BF16, (), "not yet run on a GPU that meets its conditions: needs a GPU of compute "
         "capability <8.0 (cards from 8.0 on have native bf16 GEMMs)"),  # one GPU is known too new, one is unknown
        ((OLD_H200,), Needs(compute_capability="<8.0"), None, (
            "a GPU of compute capability <8.0 (its needs marker), which no GPU of the committed results is known to "
            "have; say so in the record's applies_when, with why",), None),
    ],
)
def test_unknown_hardware_is_not_yet_run_not_verifiable_on_no_cell(gpus_seen, needs, applies, errors, note) -> None:
    reach = unmet_reach(needs, applies, replace(OFFER, gpus_seen=gpus_seen))
    assert (reach.errors, reach.unverifiable) == (errors, note)


def test_the_note_says_verifiable_on_no_cell() -> None:
    reach = unmet_reach(Needs(), BF16, OFFER)
    assert unverifiable_note(reach) == ("verifiable on no cell of this matrix: needs a GPU of compute capability <8.0 "
                                        "(cards from 8.0 on have native bf16 GEMMs)")


def test_needs_are_read_from_decorators_classes_and_the_module_without_importing(tmp_path: Path) -> None:
    path = tmp_path / "test_x.py"
    path.write_text(
        "import pytest\nraise SystemExit('never imported')\n"
        "pytestmark = [pytest.mark.needs(versions={'trl': '>=0.12'})]\n"
        "@pytest.mark.needs(gpus=2, packages=helper())\ndef test_a(): pass\n"
        "@pytest.mark.needs(cuda=True)\nclass TestB:\n"
        "    @pytest.mark.needs(compute_capability='<8.0', packages=('albumentations',))\n    def test_b(self): pass\n")
    found = needs_in(path)
    assert found["test_a"] == Needs(gpus=2, versions={"trl": ">=0.12"})  # a helper's call is left out
    assert found["test_b"] == Needs(packages=("albumentations",), versions={"trl": ">=0.12"}, cuda=True,
                                    compute_capability="<8.0")


RECORD = "incidents/2025-01-15-sample-loss-nan.yaml"
REGRESSION = "regressions/sample_loss_nan.py"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The sample repository with this project's matrix (and no results: no GPU has run here)."""
    root = sample_repository(tmp_path / "repo").resolve()
    shutil.copy(REPO / "regressions" / "matrix.toml", root / "regressions" / "matrix.toml")
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_fix_that_needs_a_package_no_environment_installs_is_an_error_at_its_case(root: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(root)
    _edit(root / REGRESSION, "@pytest.mark.incident(incident_id=ID, role=\"fix\")",
          "@pytest.mark.incident(incident_id=ID, role=\"fix\")\n@pytest.mark.needs(packages=('albumentations',))")
    assert main(["check", "--root", str(root)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{RECORD}:42:7: case 'test_fix_loss_in_float32' can run in no cell of the matrix: it needs package "
        "albumentations, which no environment of the matrix installs (add it to the record's regression.requires)",
        "1 problem in 1 record",
    ]
    _edit(root / RECORD, "  depends_on: [torch]", "  depends_on: [torch]\n  requires: [albumentations]")
    assert check(root).ok


def test_a_symptom_on_hardware_no_cell_has_is_listed_not_failed(root: Path, capsys, monkeypatch) -> None:
    """With no GPU recorded the case has not run on one yet; once an H100 (9.0) is the matrix's only GPU, no cell
    can show a case that needs compute capability <8.0."""
    monkeypatch.chdir(root)
    _edit(root / RECORD, "    - {name: test_symptom_nan_loss, role: symptom}",
          "    - {name: test_symptom_nan_loss, role: symptom, applies_when: {gpus: 1, compute_capability: \"<8.0\", "
          "why: \"fp16 overflows only on cards without bf16\"}}")
    assert main(["check", "--root", str(root)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{RECORD}:40:7: case 'test_symptom_nan_loss' is not yet run on a GPU that meets its conditions: needs a GPU "
        "of compute capability <8.0 (fp16 overflows only on cards without bf16)",
        "checked 1 record and 1 regression file: all good (1 case not yet run on a GPU that meets its conditions)",
    ]
    data = result_file("2.13.0", "4.51.3", 1, "2026-01-11T10:00:00+00:00", [])
    data["host"]["gpus"] = [{"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0", "memory_gb": 79.1}]
    (root / "regressions" / "results").mkdir(exist_ok=True)
    (root / "regressions" / "results" / "20260111T100000Z_torch-2.13.0_stack-4.51.3_gpus-1.json").write_text(
        json.dumps(data), encoding="utf-8")
    assert main(["check", "--root", str(root)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{RECORD}:40:7: case 'test_symptom_nan_loss' is verifiable on no cell of this matrix: needs a GPU of compute "
        "capability <8.0 (fp16 overflows only on cards without bf16)",
        "checked 1 record and 1 regression file: all good (1 case verifiable on no cell of this matrix)",
    ]


def test_a_pep_723_block_in_a_regression_is_pointed_at_requires(root: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(root)
    _edit(root / REGRESSION, "from __future__ import annotations",
          "# /// script\n# dependencies = [\"albumentations\"]\n# ///\nfrom __future__ import annotations")
    assert main(["check", "--root", str(root)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{REGRESSION}:3:1: a PEP 723 `# /// script` block is not read by the matrix; list its dependencies in the "
        "record's regression.requires instead, and remove it")
