"""The incidents x cells table: one column per run, `= cN` where an earlier cell stands in, not-run cells listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from incidentkb.matrix.axes import Cell
from incidentkb.matrix.results_files import SCHEMA, CellResult, read
from incidentkb.matrix.table import build, render_markdown, render_text


def run(cell: str, covered: dict[str, str] | None = None, **cases: str) -> CellResult:
    data: dict[str, Any] = {
        "schema": SCHEMA, "cell": cell, "started": "2026-11-27T10:00:00+00:00", "finished": "2026-11-27T10:01:00+00:00",
        "incidents": {"ran": [], "covered_by": covered or {}},
        "cases": [
            {"nodeid": f"regressions/test_{k.split('__')[0]}.py::{k.split('__')[1]}", "incident": k.split("__")[0],
             "role": k.split("__")[1].split("_")[1], "outcome": v}
            for k, v in cases.items()
        ],
    }
    return CellResult.from_dict(data)


FIRST = run("torch=2.6.0 stack=4.51.3 gpus=0", dtype__test_symptom="reproduces", dtype__test_fix="holds", sft__test_fix="holds")
SECOND = run("torch=2.6.0 stack=5.24.0 gpus=0", {"dtype": "torch=2.6.0 stack=4.51.3 gpus=0"}, sft__test_fix="BROKEN")


def test_the_text_table_shows_each_outcome_and_where_an_earlier_cell_stands_in() -> None:
    table = build([FIRST, SECOND], {Cell("2.6.0", "4.51.3", 2): "needs 2 GPUs, host has 0"})
    assert render_text(table) == (
        "incident / case (role)    c1          c2      run\n"
        "------------------------  ----------  ------  ----------\n"
        "dtype\n"
        "  test_symptom (symptom)  reproduces  = c1    2026-11-27\n"
        "  test_fix (fix)          holds       = c1    2026-11-27\n"
        "sft\n"
        "  test_fix (fix)          holds       BROKEN  2026-11-27\n"
        "\n"
        "c1  torch=2.6.0 stack=4.51.3 gpus=0\n"
        "c2  torch=2.6.0 stack=5.24.0 gpus=0\n"
        "\n"
        "not run: torch=2.6.0 stack=4.51.3 gpus=2: needs 2 GPUs, host has 0\n"
        "FAILED: torch=2.6.0 stack=5.24.0 gpus=0: regressions/test_sft.py::test_fix: BROKEN\n"
    )


def test_a_cell_covered_by_a_run_outside_the_table_names_that_cell() -> None:
    table = build([SECOND])
    assert "= torch=2.6.0 stack=4.51.3 gpus=0" not in render_text(table)  # no dtype row without a dtype case
    table = build([SECOND, FIRST])
    assert table.entries[table.rows[0], 0] == "= c2"


def test_drift_is_listed_but_is_not_a_failure() -> None:
    drifted = run("torch=installed stack=4.51.3 gpus=2", dtype__test_symptom="no longer reproduces")
    table = build([drifted])
    assert table.failures == [] and [str(c) for c, _, _ in table.drift] == ["torch=installed stack=4.51.3 gpus=2"]
    assert "drift: torch=installed stack=4.51.3 gpus=2: regressions/test_dtype.py::test_symptom: no longer reproduces" in render_text(table)


def test_nothing_ran() -> None:
    assert render_text(build([], {Cell("installed", "4.51.3", 1): "needs 1 GPU, host has 0"})) == (
        "no cell ran\n\nnot run: torch=installed stack=4.51.3 gpus=1: needs 1 GPU, host has 0\n"
    )


def test_the_markdown_table_has_the_same_content() -> None:
    text = render_markdown(build([FIRST, SECOND]))
    assert text.splitlines()[:4] == [
        "| incident / case (role) | c1 | c2 | run |",
        "|---|---|---|---|",
        "| **dtype** |  |  |  |",
        "| test_symptom (symptom) | reproduces | = c1 | 2026-11-27 |",
    ]
    assert "- `c2`: torch=2.6.0 stack=5.24.0 gpus=0" in text
    assert "- FAILED: torch=2.6.0 stack=5.24.0 gpus=0: regressions/test_sft.py::test_fix: BROKEN" in text


def test_a_changed_symptom_is_listed_with_the_error_it_observed() -> None:
    from incidentkb.records.reader import load_records

    repo = Path(__file__).resolve().parents[1]
    records = {record.id: record for record in load_records(repo / "incidents")}
    committed = repo / "regressions" / "results" / "20261127T234318Z_torch-installed_stack-5.24.0_gpus-2.json"
    text = render_text(build([read(committed).judged(records)]))
    assert ("drift: torch=installed stack=5.24.0 gpus=2: regressions/test_sft_batch_size.py::"
            "test_symptom_two_visible_gpus_double_the_batch: changed (ValueError: SFTTrainer does not support") in text


def test_the_legend_says_what_latest_and_a_candidate_resolved_to() -> None:
    latest = run("torch=2.13.0 stack=latest gpus=0", sft__test_fix="holds")
    latest = CellResult.from_dict({**latest.raw, "resolved": {"date": "2026-12-03", "chosen": {"transformers": "5.25.0"}}})
    mine = run("torch=2.13.0 stack=candidate-0123abcd gpus=0", sft__test_fix="holds")
    mine = CellResult.from_dict({**mine.raw, "candidate": {"pins": {"trl": "1.17.0"}, "source": "uv.lock"}})
    legend = render_text(build([latest, mine])).split("\n\n")[1].rstrip("\n")
    assert legend == (
        "c1  torch=2.13.0 stack=latest gpus=0  [resolved 2026-12-03: transformers 5.25.0]\n"
        "c2  torch=2.13.0 stack=candidate-0123abcd gpus=0  [candidate trl==1.17.0 from uv.lock]"
    )


def test_the_run_column_dates_each_verdict_by_the_run_that_produced_it_reused_ones_too() -> None:
    reused = CellResult.from_dict({**SECOND.raw, "finished": "2026-12-08T10:00:00+00:00", "incidents": {
        "ran": [], "covered_by": {}, "reused": {"sft": {"file": "x.json", "finished": "2026-12-01T09:00:00+00:00"}}}})
    table = build([FIRST, reused])
    assert table.dates[table.rows[-1]] == "2026-11-27..2026-12-01"


def test_a_cell_covered_for_an_incident_that_requires_a_package_points_at_the_cells_of_its_versions() -> None:
    base = run("torch=2.6.0 stack=4.51.3 gpus=0", sft__test_fix="holds")
    old = run("torch=2.6.0 stack=4.51.3 gpus=0 albumentations=1.3.1", aug__test_fix="holds")
    new = run("torch=2.6.0 stack=4.51.3 gpus=0 albumentations=2.0.8", aug__test_fix="BROKEN")
    later = run("torch=2.6.0 stack=5.24.0 gpus=0", {"aug": "torch=2.6.0 stack=4.51.3 gpus=0"}, sft__test_fix="holds")
    table = build([base, old, new, later])
    aug = next(row for row in table.rows if row.incident == "aug")
    assert [table.entries[aug, i] for i in range(4)] == ["·", "holds", "BROKEN", "= c2,c3"]


def test_a_cell_whose_every_case_was_deselected_says_so_not_that_its_verdicts_were_reused() -> None:
    data: dict[str, Any] = {"schema": SCHEMA, "cell": "torch=2.13.0 stack=4.46.3 gpus=0", "started": "2026-12-08T02:00:00+00:00",
                            "finished": "2026-12-08T02:01:00+00:00", "incidents": {"ran": ["greedy"], "covered_by": {}},
                            "cases": [], "fingerprint": {"greedy": {"regression": "0" * 64}}}
    assert "c1  torch=2.13.0 stack=4.46.3 gpus=0  (no results file: every case was deselected)" in render_text(
        build([CellResult.from_dict(data)]))
