"""Where incidents stand, derived from results (incidentkb.site.standing, incidentkb.site.case_runs)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import site_samples

from incidentkb.matrix.axes import Cell
from incidentkb.records.schema import Incident
from incidentkb.site.case_runs import CaseRun, Coverage, Entry
from incidentkb.site.sources import LoadedRuns
from incidentkb.site.standing import build, describe_cells
from incidentkb.verdict.outcomes import Outcome

A = Cell("2.6.0", "4.51.3", 0)
B = Cell("2.6.0", "4.51.3", 2)
C = Cell("2.13.0", "4.51.3", 0)
D = Cell("2.13.0", "4.51.3", 2)
E = Cell("2.13.0", "5.0.0", 0)
FOUR = [A, B, C, D]


@pytest.mark.parametrize(
    ("subset", "universe", "words"),
    [
        ([A, B, C, D], FOUR, "in all 4 cells"),
        ([A], [A], "with torch 2.6.0, stack 4.51.3, 0 GPUs"),
        ([A, B], FOUR, "with torch 2.6.0"),
        ([C, D], FOUR, "with torch 2.13.0"),
        ([B, D], FOUR, "with 2 GPUs"),
        ([D], FOUR, "with torch 2.13.0, 2 GPUs"),
        ([A, D], FOUR, "in torch 2.6.0, stack 4.51.3, 0 GPUs; torch 2.13.0, stack 4.51.3, 2 GPUs"),
        ([C, E], [A, C, E], "with torch 2.13.0"),
        ([E], [A, C, E], "with stack 5.0.0"),
    ],
)
def test_describe_cells_names_the_axes_that_pick_the_subset(subset, universe, words) -> None:
    assert describe_cells(subset, universe) == words


def _run(role: str, cell: Cell, outcome: str, *, variant: str = "", day: int = 1, error: str | None = None,
         detail: str | None = None, incident: str = "x") -> CaseRun:
    return CaseRun(incident=incident, role=role, cell=cell, outcome=Outcome(outcome),
                   finished=dt.datetime(2025, 6, day, tzinfo=dt.timezone.utc), machine="m",
                   source=f"f{day}-{cell}.json", variant=variant, error=error, detail=detail)


@pytest.mark.parametrize(
    ("outcomes", "outcome", "label"),
    [
        (["reproduces", "not run"], "reproduces", "reproduces"),
        (["not run", "not run"], "not run", "not run"),
        (["reproduces", "no longer reproduces"], "no longer reproduces",
         "reproduces (cpu) / no longer reproduces (cuda)"),
        (["holds", "BROKEN"], "BROKEN", "holds (cpu) / BROKEN (cuda)"),
        (["crashed", "reproduces"], "crashed", "crashed (cpu) / reproduces (cuda)"),
    ],
)
def test_an_entry_shows_the_most_telling_outcome_of_its_variants(outcomes, outcome, label) -> None:
    runs = tuple(_run("symptom", A, o, variant=v) for o, v in zip(outcomes, ("cpu", "cuda")))
    entry = Entry("symptom", A, runs)
    assert (entry.outcome.value, entry.label) == (outcome, label)


def _incident(incident_id: str = "2025-04-12-stylegan-label-dtype-mismatch") -> Incident:
    record = next(r for r in site_samples.records() if r["id"] == incident_id)
    return Incident.model_validate(record)


DTYPE = "2025-04-12-stylegan-label-dtype-mismatch"


def test_the_summary_says_where_the_symptom_reproduces_and_where_it_no_longer_does() -> None:
    runs = [_run("symptom", c, "reproduces" if c.torch == "2.6.0" else "no longer reproduces", incident=DTYPE)
            for c in FOUR]
    runs += [_run("fix", c, "holds", incident=DTYPE) for c in FOUR]
    item = build([_incident()], LoadedRuns(runs=runs)).incidents[0]
    assert item.summary() == (
        "The symptom reproduces with torch 2.6.0 and no longer reproduces with torch 2.13.0. "
        "The fix holds in all 4 cells."
    )
    assert item.verdict("fix", short=True).text == "holds (4 runs)"
    assert item.verdict("symptom").text == "reproduces with torch 2.6.0; no longer reproduces with torch 2.13.0"
    assert item.verdict("symptom").level == "drift"


def test_skipped_cells_are_named_with_the_reason() -> None:
    runs = [_run("symptom", c, "reproduces" if c.gpus else "not run", incident=DTYPE,
                 detail=None if c.gpus else "needs: 2 CUDA GPUs (found 0)") for c in FOUR]
    item = build([_incident()], LoadedRuns(runs=runs)).incidents[0]
    assert item.summary() == (
        "The symptom reproduces with 2 GPUs. It was not run with 0 GPUs (needs: 2 CUDA GPUs (found 0))."
    )


def test_no_results_says_so() -> None:
    item = build([_incident()], LoadedRuns()).incidents[0]
    assert item.summary().startswith("No results yet")
    assert item.verdict("fix").text == "not run yet"


def test_a_newer_results_file_replaces_an_older_one_in_its_cell() -> None:
    runs = [_run("fix", A, "BROKEN", day=1, incident=DTYPE), _run("fix", A, "holds", day=2, incident=DTYPE)]
    item = build([_incident()], LoadedRuns(runs=runs)).incidents[0]
    assert item.entry(A, "fix").outcome is Outcome.holds


def test_a_covered_cell_shows_the_runs_of_the_cell_that_covered_it() -> None:
    covered = Cell("2.6.0", "4.57.6", 0)
    results = LoadedRuns(runs=[_run("fix", A, "holds", incident=DTYPE)],
                      coverage=[Coverage(DTYPE, covered, A, dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc))])
    kb = build([_incident()], results)
    entry = kb.incidents[0].entry(covered, "fix")
    assert entry is not None and entry.covered_by == A and entry.outcome is Outcome.holds
    assert kb.cells == [A, covered]


def test_results_for_an_incident_without_a_record_are_reported() -> None:
    kb = build([_incident()], LoadedRuns(runs=[_run("fix", A, "holds", incident="2025-01-01-renamed")]))
    assert kb.unknown == ["2025-01-01-renamed"]
    assert kb.incidents[0].cells == []


def test_columns_follow_symptom_fix_alternatives_attempts() -> None:
    record = next(r for r in site_samples.records() if r["id"] == "2025-04-21-llm-sft-batch-size-multi-gpu")
    item = build([Incident.model_validate(record)], LoadedRuns()).incidents[0]
    assert [c.label for c in item.columns] == [
        "symptom", "fix", "fix: torchrun", "attempt: visible-devices-after-import", "attempt: use-liger",
    ]


def test_a_cell_whose_versions_were_chosen_when_it_ran_is_labelled_with_them(tmp_path) -> None:
    from incidentkb.matrix.results_files import SCHEMA, write
    from incidentkb.site.sources import load_results

    latest = Cell("2.13.0", "latest", 0)
    for day, transformers in ((1, "5.24.0"), (2, "5.25.0")):  # the newest run's resolution labels the cell
        write({"schema": SCHEMA, "cell": str(latest), "started": f"2026-12-0{day}T06:00:00+00:00",
               "finished": f"2026-12-0{day}T06:00:00+00:00", "incidents": {"ran": [], "covered_by": {}}, "cases": [],
               "resolved": {"date": f"2026-12-0{day}", "chosen": {"transformers": transformers, "trl": "1.17.0"}}},
              tmp_path)
    kb = build([_incident()], load_results(tmp_path))
    assert kb.stack_of(latest) == "latest (resolved 2026-12-02: transformers 5.25.0, trl 1.17.0)"
    assert kb.stack_of(A) == "4.51.3"


def test_a_copy_of_another_cells_run_is_counted_neither_as_a_run_nor_as_a_cell() -> None:
    at = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)
    ran = [c for c in FOUR if c.gpus == 0] or FOUR[:2]
    copies = [c for c in FOUR if c not in ran]
    results = LoadedRuns(runs=[_run("fix", c, "holds", incident=DTYPE) for c in ran],
                         coverage=[Coverage(DTYPE, c, ran[0], at) for c in copies])
    item = build([_incident()], results).incidents[0]
    assert item.summary() == f"The fix holds in all {len(ran)} cells."
    assert item.verdict("fix", short=True).text == f"holds ({len(ran)} runs; {len(copies)} more cells have their versions)"


def test_a_mark_of_a_run_without_an_error_shows_what_it_observed_not_a_failed_check() -> None:
    """The batch-size symptom on 4.57.6 with 2 GPUs: no error, both replicas ran, 4 rows (its bare `assert` failed)."""
    from incidentkb.site.grid import pop_text
    from incidentkb.site.sources import load_results

    records = [_incident("2025-04-21-llm-sft-batch-size-multi-gpu")]
    results = load_results(Path(__file__).resolve().parents[1] / "regressions" / "results", {r.id: r for r in records})
    item = build(records, results).incidents[0]
    text = pop_text(item.entry(Cell("installed", "4.57.6", 2), "symptom"))
    lines = text.splitlines()
    assert lines[0] == "no error" and "check failed" not in text
    assert lines[2].startswith("process 0: train batch 4, n_gpu 2, forward passes cuda:0: ") and "; cuda:1: " in lines[2]
