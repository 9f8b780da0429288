"""`new`: the record and regression stub it writes are flagged by `check` until filled in, and never overwrite."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Callable

import pytest
from repo_samples import with_schema

from incidentkb.check.checker import check
from incidentkb.scaffold import ScaffoldError, plan, slugify, write

DAY = dt.date(2025, 5, 2)

# What an author writes in place of each placeholder of the record (keyed by the placeholder's first words).
FILLED = {
    "TODO: the part of the work": "LLM",
    "TODO: critical, high": "high",
    "TODO: open, investigating": "resolved",
    "TODO: e.g. Ubuntu": "Ubuntu 22.04",
    "TODO: e.g. 3.11.9": '"3.11.9"',
    "TODO: as nvidia-smi": "NVIDIA H100 80GB HBM3",
    "TODO: how many": "1",
    "TODO: e.g. 2.6.0": "2.6.0+cu124",
    "TODO: one line, what you saw": "The loss is NaN from the first step.",
    "TODO: the exception class": "RuntimeError",
    "TODO: a regular expression": "returned nan values",
    "TODO: why it happened": "The logits overflow float16.",
    "TODO: one line, what fixed it": "Compute the loss in float32.",
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return with_schema(tmp_path).resolve()


@pytest.mark.parametrize(("title", "slug"), [
    ("Loss is NaN after the first step", "loss-is-nan-after-the-first-step"),
    ("StyleGAN label weight left random on every run after loading with strict=False",
     "stylegan-label-weight-left-random-on-every-run-after-loading-with-strict-false"),
    ("Tensor dtype mismatch (double != float)!", "tensor-dtype-mismatch-double-float"),
    ("  CUDA_VISIBLE_DEVICES set too late  ", "cuda-visible-devices-set-too-late"),
    ("Café crème OOM", "cafe-creme-oom"),
    ("텐서 dtype 불일치", "dtype"),
    ("텐서 불일치", ""),
])
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_plan_names_the_files_after_the_id() -> None:
    new = plan("Loss is NaN after the first step", date=DAY)
    assert new.id == "2025-05-02-loss-is-nan-after-the-first-step"
    assert new.record.as_posix() == "incidents/2025-05-02-loss-is-nan-after-the-first-step.yaml"
    assert new.regression.as_posix() == "regressions/test_loss_is_nan_after_the_first_step.py"


def test_any_title_is_written_as_valid_yaml() -> None:
    new = plan('A "quoted" title: with a colon # and a hash \\ and a backslash', date=DAY)
    assert 'title: "A \\"quoted\\" title: with a colon # and a hash \\\\ and a backslash"' in new.record_text


@pytest.mark.parametrize(("title", "incident_id", "message"), [
    ("   ", None, 'the title is empty; give one, e.g. incidentkb new "Loss is NaN after the first step"'),
    ("텐서 불일치", None, "cannot make an id from the title '텐서 불일치' (it has no letters a-z or digits); "
                      "pass one with --id, e.g. --id 2025-05-02-short-name"),
    ("x", "Not An Id", "--id 'Not An Id' is not an id; use lowercase words and digits joined by '-', e.g. 2025-05-02-short-name"),
])
def test_plan_refuses_what_cannot_make_an_id(title: str, incident_id: str | None, message: str) -> None:
    with pytest.raises(ScaffoldError) as caught:
        plan(title, date=DAY, incident_id=incident_id)
    assert str(caught.value) == message


def test_a_new_incident_is_flagged_by_check_until_every_placeholder_is_replaced(root: Path) -> None:
    new = plan("Loss is NaN after the first step", date=DAY)
    write(new, root)
    report = check(root)
    placeholders = [p for p in report.problems if p.message.startswith("placeholder left")]
    assert placeholders == list(report.problems)
    assert report.summary() == "16 problems in 1 record and 1 regression file"

    record = (root / new.record).read_text(encoding="utf-8")
    for start, value in FILLED.items():
        record = re.sub(rf"\"{re.escape(start)}[^\"]*\"", lambda _, v=value: v, record)
    record = record.replace("  error_text: |\n    TODO: the error or traceback, verbatim "
                            "(delete error_text and signatures if there was no error)\n", "")
    (root / new.record).write_text(record, encoding="utf-8")
    stub = (root / new.regression).read_text(encoding="utf-8")
    (root / new.regression).write_text(re.sub(r'\n    pytest\.fail\("TODO: [^\n]*', "", stub), encoding="utf-8")

    report = check(root)
    assert report.problems == () and report.summary() == "checked 1 record and 1 regression file: all good"


@pytest.mark.parametrize("existing", ["record", "regression"])
def test_new_never_overwrites_and_then_writes_nothing(root: Path, existing: str) -> None:
    new = plan("Loss is NaN after the first step", date=DAY)
    taken = root / getattr(new, existing)
    taken.parent.mkdir(parents=True)
    taken.write_text("someone's work\n", encoding="utf-8")
    with pytest.raises(ScaffoldError, match=f"^{re.escape(getattr(new, existing).as_posix())} already exists and is left as it is"):
        write(new, root)
    assert taken.read_text(encoding="utf-8") == "someone's work\n"
    other = root / (new.regression if existing == "record" else new.record)
    assert not other.exists()


@pytest.mark.parametrize(("existing", "make", "message"), [
    ("record", lambda p: p.symlink_to("nowhere.yaml"),
     "incidents/2025-05-02-loss-is-nan-after-the-first-step.yaml already exists and is left as it is"),
    ("regression", lambda p: p.symlink_to(p.parent.parent / "outside.py"),
     "regressions/test_loss_is_nan_after_the_first_step.py already exists and is left as it is"),
    ("regression", lambda p: p.mkdir(),
     "regressions/test_loss_is_nan_after_the_first_step.py already exists and is left as it is"),
    ("regressions folder", lambda p: p.write_text("a file\n", encoding="utf-8"),
     "regressions is not a folder (a file, or a link to none); move it away and run again"),
    ("regressions folder", lambda p: p.symlink_to("nowhere"),
     "regressions is not a folder (a file, or a link to none); move it away and run again"),
])
def test_new_replaces_nothing_in_the_way_and_then_writes_nothing(root: Path, existing: str,
                                                                  make: Callable[[Path], object], message: str) -> None:
    new = plan("Loss is NaN after the first step", date=DAY)
    if existing != "regressions folder":
        (root / "regressions").mkdir()
    where = {"record": root / new.record, "regression": root / new.regression, "regressions folder": root / "regressions"}
    where[existing].parent.mkdir(parents=True, exist_ok=True)
    make(where[existing])
    before = sorted(str(p) for p in root.rglob("*"))
    with pytest.raises(ScaffoldError, match=f"^{re.escape(message)}"):
        write(new, root)
    assert sorted(str(p) for p in root.rglob("*")) == before
    assert not (root.parent / "outside.py").exists()


def test_new_removes_its_record_again_when_the_regression_cannot_be_written(root: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    new = plan("Loss is NaN after the first step", date=DAY)
    real_open = Path.open

    def open_until_the_disk_is_full(self: Path, mode: str = "r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.suffix == ".py" and "x" in mode:
            raise OSError(28, "No space left on device")
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_until_the_disk_is_full)
    with pytest.raises(ScaffoldError) as caught:
        write(new, root)
    assert str(caught.value) == ("cannot write regressions/test_loss_is_nan_after_the_first_step.py (No space left on device); "
                                 "nothing was written")
    assert not (root / new.record).exists()



SILENT_FILLED = {
    **FILLED,
    "TODO: one line, what you saw": "The same z and labels give a different image on every run.",
    "TODO: what is measured": "max abs difference between two runs' images",
    "TODO: e.g. bytes": "max abs difference",
    "TODO: the number that makes it": "0.001",
    "TODO: how the case measures it": "Two loads, one z and label batch, images compared.",
}


def test_a_silent_incident_gets_a_measured_symptom_and_measuring_cases(root: Path) -> None:
    new = plan("Images ignore the labels after loading a checkpoint", date=DAY, silent=True)
    write(new, root)
    assert "measured:" in new.record_text and "error_text" not in new.record_text
    assert "observe.measured(incident_record.symptom.measured, value)" in new.regression_text

    record = (root / new.record).read_text(encoding="utf-8")
    for start, value in SILENT_FILLED.items():
        record = re.sub(rf"\"{re.escape(start)}[^\"]*\"", lambda _, v=value: v, record)
    (root / new.record).write_text(record, encoding="utf-8")
    stub = (root / new.regression).read_text(encoding="utf-8")
    (root / new.regression).write_text(re.sub(r'\n    pytest\.fail\("TODO: [^\n]*', "", stub), encoding="utf-8")

    report = check(root)
    assert report.problems == () and report.summary() == "checked 1 record and 1 regression file: all good"
