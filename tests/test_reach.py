"""`check` on cases verified nowhere: what no cell of the matrix can run is an error, stated hardware a note."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from repo_samples import REPO, sample_repository

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
    assert reach.unverifiable == note


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
    monkeypatch.chdir(root)
    _edit(root / RECORD, "    - {name: test_symptom_nan_loss, role: symptom}",
          "    - {name: test_symptom_nan_loss, role: symptom, applies_when: {gpus: 1, compute_capability: \"<8.0\", "
          "why: \"fp16 overflows only on cards without bf16\"}}")
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
