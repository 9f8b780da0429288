"""An incident's page on its own axes: the grid's rows and columns, the run-locally commands, cases shown nowhere."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
import yaml
from site_samples import make_project, mkdocs_build, result_file

from incidentkb.host.gpu_conditions import GpuFacts
from incidentkb.matrix.axes import Cell
from incidentkb.records.schema import Incident
from incidentkb.site.own_axes import OwnAxes, own_axes, unverifiable
from incidentkb.verdict.outcomes import Outcome

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "tests" / "requires_sample" / "incidents" / "2026-01-10-tinyaug-drops-the-last-value.yaml"
ID = "2026-01-10-tinyaug-drops-the-last-value"


def _record(**regression: object) -> Incident:
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data["regression"].update(regression)
    return Incident.model_validate(data)


@pytest.mark.parametrize(
    ("depends_on", "requires", "expected"),
    [
        ([], ["tinyaug"], OwnAxes(torch=False, stacks=False)),
        (["torch"], [], OwnAxes(torch=True, stacks=False)),
        (["torch", "transformers"], [], OwnAxes(torch=True, stacks=True)),
        (["trl"], [], OwnAxes(torch=False, stacks=True)),
        (["tinyaug"], ["tinyaug"], OwnAxes(torch=False, stacks=False)),  # a required package is its own axis
    ],
)
def test_depends_on_says_which_axes_the_grid_shows(depends_on, requires, expected) -> None:
    assert own_axes(_record(depends_on=depends_on, requires=requires)) == expected


def test_rows_are_the_required_versions_and_columns_the_gpu_counts_when_nothing_else_matters() -> None:
    axes = OwnAxes(torch=False, stacks=False)
    cells = [Cell("2.13.0", "4.51.3", 0).requiring({"tinyaug": v}) for v in ("2.0", "1.10", "1.9")]
    cells.append(Cell("2.6.0", "4.57.6", 1).requiring({"tinyaug": "1.9"}))
    assert axes.rows(cells) == [("", (("tinyaug", "1.9"),)), ("", (("tinyaug", "1.10"),)), ("", (("tinyaug", "2.0"),))]
    assert axes.columns(cells) == [("", 0), ("", 1)]


def _case(name: str, role: str, outcome: str, detail: str | None = None) -> dict[str, object]:
    return {"nodeid": f"regressions/tinyaug_sample.py::{name}", "incident": ID, "role": role, "outcome": outcome,
            "observation": {"error": None, "values": {}, "notes": []}, "duration_s": 0.1, "detail": detail}


def _page_text(site: Path) -> str:
    text = (site / "incidents" / f"{ID}.html").read_text(encoding="utf-8")
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", text).split()))


def test_the_page_of_an_incident_that_requires_a_package(tmp_path: Path) -> None:
    record = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    record["regression"]["cases"][0]["applies_when"] = {
        "gpus": 1, "compute_capability": "<8.0", "why": "tinyaug's kernel drops a value only on cards without bf16"}
    na = "not applicable: tinyaug's kernel ... (needs 1 visible GPU (the cell has 0))"
    files = {}
    for version, finished in (("1.0", "2026-01-11T10:00:00+00:00"), ("2.0", "2026-01-11T11:00:00+00:00")):
        data = result_file("2.13.0", "4.51.3", 0, finished, [
            _case("test_symptom_scale_drops_a_value", "symptom", "not applicable", na),
            _case("test_fix_scale_by_hand", "fix", "holds")])
        data["cell"] += f" tinyaug={version}"
        data["requires"] = {"tinyaug": version}
        data["versions"]["tinyaug"] = version
        files[f"20260111T1{version[0]}0000Z_torch-2.13.0_stack-4.51.3_gpus-0_tinyaug-{version}.json"] = data
    project = make_project(tmp_path, incidents=[record], result_files=files)
    (project / "regressions" / "matrix.toml").write_bytes((REPO / "regressions" / "matrix.toml").read_bytes())
    shutil.copytree(REPO / "schema", project / "schema")
    built = mkdocs_build(project)
    assert built.returncode == 0, built.stderr
    text = _page_text(project / "site")
    # the grid: a row per tinyaug version, no stack rows, one column (no torch matters, one GPU count)
    assert "tinyaug 1.0 its outcome depends on no stack" in text and "tinyaug 2.0 its outcome depends on no stack" in text
    assert "stack 4.51.3 transformers" not in text.split("Run this regression locally")[0]
    assert "any torch CPU" in text
    # no results file recorded a GPU: the case may yet run on one, so it is not "verifiable on no cell"
    assert ("test_symptom_scale_drops_a_value is not yet run on a GPU that meets its conditions: needs a GPU of "
            "compute capability <8.0 (tinyaug's kernel drops a value only on cards without bf16)") in text
    assert "verifiable on no cell" not in text
    # the commands: the newest cell where the fix ran, its pins and tinyaug's; the symptom ran nowhere
    assert "its outcome depends on no library the matrix varies ( depends_on: [] : only on the GPU count and the " \
           "versions of what it requires)" in text
    assert ('.venv-regression/bin/pip install -e ".[regressions]" "torch==2.13.0" "transformers==4.51.3"' in text
            and '"huggingface-hub==0.30.2" "tinyaug==2.0"' in text)
    assert ('CUDA_VISIBLE_DEVICES= .venv-regression/bin/python -m pytest '
            '"regressions/tinyaug_sample.py::test_fix_scale_by_hand" -rA') in text
    assert 'nox -s "regressions(torch=2.13.0 stack=4.51.3 gpus=0)" -- -k "test_fix_scale_by_hand"' in text
    assert "tinyaug_sample.py::test_symptom_scale_drops_a_value" not in text
    # what the stack installs is the stack's alone, not the incident's own package of the cells that add it
    from incidentkb.site.sources import load_results

    assert load_results(project / "regressions" / "results").stack_versions["4.51.3"] == "transformers 4.51.3, trl 0.15.2"


H100 = GpuFacts("NVIDIA H100 80GB HBM3", "9.0", 79.1)
OLD_H200 = GpuFacts("NVIDIA H200", None, 139.8)  # a results file from before the compute capability was recorded
NA = [Outcome.not_applicable, Outcome.not_applicable]


@pytest.mark.parametrize(
    ("gpus", "outcomes", "expected"),
    [
        ((H100,), NA, "verifiable on no cell of this matrix: needs a GPU of compute capability <8.0"),
        ((OLD_H200,), NA, "not yet run on a GPU that meets its conditions: needs a GPU of compute capability <8.0"),
        ((), NA, "not yet run on a GPU that meets its conditions: needs a GPU of compute capability <8.0"),
        ((H100,), [Outcome.not_applicable, Outcome.reproduces], None),  # a run showed it
    ],
)
def test_a_case_no_run_showed_reads_as_check_words_it(gpus, outcomes, expected) -> None:
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data["regression"]["cases"][0]["applies_when"] = {"gpus": 1, "compute_capability": "<8.0", "why": "w"}
    case = Incident.model_validate(data).regression.cases[0]
    found = dict(unverifiable(Incident.model_validate(data), {case.role: outcomes}, gpus))
    assert found.get(case.name) == (f"{expected} (w)" if expected else None)


def test_the_page_and_check_decide_verifiable_on_no_cell_alike_on_the_repositorys_records() -> None:
    """The ORPO out-of-memory cases need a GPU of >12 GiB; the committed H200 results recorded 139.8 GiB, so they
    are verifiable, only not run on a GPU yet: neither the page nor `check` may say "verifiable on no cell"."""
    from incidentkb.check.checker import check
    from incidentkb.site.sources import load_incidents, load_results
    from incidentkb.site.standing import build

    incidents = load_incidents(REPO / "incidents")
    kb = build(incidents, load_results(REPO / "regressions" / "results", {i.id: i for i in incidents}))
    page = {(item.id, case): words for item in kb.incidents
            for case, words in unverifiable(item.incident, item.outcomes_by_role(), kb.gpus_seen)}
    notes = {note.message.split("'")[1]: note.message for note in check(REPO).notes}
    nowhere_on_page = {case for (_, case), words in page.items() if "verifiable on no cell" in words}
    assert nowhere_on_page == {case for case, message in notes.items() if "verifiable on no cell" in message}
    orpo = "2025-03-23-orpo-out-of-memory-12gb"
    assert page[(orpo, "test_symptom_orpo_peak_exceeds_12_gib_where_sft_fits")].startswith(
        "not yet run on a GPU that meets its conditions: needs a GPU of >12 GiB")

