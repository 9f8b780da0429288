"""What changed: runs of a cell, written as results files, compared run to run with the error each new outcome saw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from incidentkb.matrix.axes import Cell
from incidentkb.results.history import broken_fixes, history, newest, render
from incidentkb.matrix.results_files import SCHEMA, read_all, write
from incidentkb.verdict.outcomes import Outcome

LATEST = "torch=2.13.0 stack=latest gpus=0"
PINNED = "torch=2.13.0 stack=4.51.3 gpus=0"


def case(name: str, role: str, outcome: str, error: str | None = None) -> dict[str, Any]:
    kind, _, message = (error or "").partition(": ")
    return {
        "nodeid": f"regressions/test_orpo.py::{name}", "incident": "orpo", "role": role, "outcome": outcome,
        "observation": {"error": {"type": f"builtins.{kind}", "message": message} if error else None,
                        "values": {}, "notes": []},
    }


def results(tmp_path: Path, cell: str, finished: str, transformers: str, *cases: dict[str, Any]) -> None:
    write({
        "schema": SCHEMA, "cell": cell, "started": finished, "finished": finished,
        "versions": {"torch": "2.13.0+cpu", "transformers": transformers, "trl": "1.16.0"},
        "incidents": {"ran": ["orpo"], "covered_by": {}}, "cases": list(cases),
    }, tmp_path)


def test_each_change_is_reported_in_the_first_run_with_the_new_outcome(tmp_path: Path) -> None:
    results(tmp_path, LATEST, "2026-12-01T06:00:00+00:00", "5.24.0",
            case("test_symptom", "symptom", "reproduces", "TypeError: got multiple values for 'labels'"),
            case("test_fix", "fix", "holds"))
    results(tmp_path, LATEST, "2026-12-02T06:00:00+00:00", "5.25.0",
            case("test_symptom", "symptom", "no longer reproduces"),
            case("test_fix", "fix", "BROKEN", "ValueError: padding side must be left"))
    results(tmp_path, LATEST, "2026-12-03T06:00:00+00:00", "5.25.0",  # nothing new: no change
            case("test_symptom", "symptom", "no longer reproduces"),
            case("test_fix", "fix", "BROKEN", "ValueError: padding side must be left"))
    runs = read_all(tmp_path)
    found = history(runs, {})
    assert list(found) == [Cell.parse(LATEST)]
    symptom, fix = found[Cell.parse(LATEST)]
    assert (symptom.case, symptom.before, symptom.after) == ("test_symptom", Outcome.reproduces, Outcome.no_longer_reproduces)
    assert (fix.since, fix.since_file) == ("2026-12-02T06:00:00+00:00", "20261202T060000Z_torch-2.13.0_stack-latest_gpus-0.json")
    assert fix.previous_file == "20261201T060000Z_torch-2.13.0_stack-latest_gpus-0.json"
    assert fix.error == "ValueError: padding side must be left"
    assert fix.versions == ("transformers 5.24.0 -> 5.25.0",)
    assert [c.case for c in broken_fixes(found)] == ["test_fix"] and not symptom.broke
    assert newest(found, runs) == {}  # the newest run (12-03) changed nothing


def test_the_newest_run_against_the_previous_one_as_text(tmp_path: Path) -> None:
    results(tmp_path, PINNED, "2026-12-01T06:00:00+00:00", "4.51.3", case("test_fix", "fix", "holds"))
    results(tmp_path, PINNED, "2026-12-02T06:00:00+00:00", "4.51.3", case("test_fix", "fix", "crashed", "RuntimeError: boom"))
    runs = read_all(tmp_path)
    assert render(newest(history(runs, {}), runs)) == (
        "torch=2.13.0 stack=4.51.3 gpus=0: 1 change(s), 20261201T060000Z_torch-2.13.0_stack-4.51.3_gpus-0.json -> "
        "20261202T060000Z_torch-2.13.0_stack-4.51.3_gpus-0.json\n"
        "  orpo::test_fix (fix): holds -> crashed since 2026-12-02T06:00:00+00:00  <- a fix crashed (not a broken fix: "
        "it did not finish its checks)\n"
        "      RuntimeError: boom\n"
    )
    assert broken_fixes(history(runs, {})) == []  # `nox -s changes` exits 0: a crash says nothing about the fix


def test_a_fix_that_ran_and_failed_is_the_one_alarm(tmp_path: Path) -> None:
    results(tmp_path, PINNED, "2026-12-01T06:00:00+00:00", "4.51.3", case("test_fix", "fix", "crashed", "RuntimeError: boom"))
    results(tmp_path, PINNED, "2026-12-02T06:00:00+00:00", "4.51.3", case("test_fix", "fix", "BROKEN", "ValueError: x"))
    results(tmp_path, PINNED, "2026-12-03T06:00:00+00:00", "4.51.3", case("test_fix", "fix", "timed out"))
    changes = history(read_all(tmp_path), {})[Cell.parse(PINNED)]
    assert [(c.after.value, c.broke, c.alarm) for c in changes] == [
        ("BROKEN", True, "a fix BROKE"),
        ("timed out", False, "a fix timed out (not a broken fix: it did not finish its checks)"),
    ]


def test_the_change_report_says_from_which_versions_a_fix_is_not_needed(tmp_path: Path) -> None:
    results(tmp_path, LATEST, "2026-12-01T06:00:00+00:00", "5.24.0",
            case("test_symptom", "symptom", "reproduces"), case("test_fix", "fix", "holds"))
    results(tmp_path, LATEST, "2026-12-02T06:00:00+00:00", "5.25.0",
            case("test_symptom", "symptom", "no longer reproduces"), case("test_fix", "fix", "holds"))
    (symptom, fix) = history(read_all(tmp_path), {})[Cell.parse(LATEST)]
    assert (fix.before, fix.after, fix.broke) == (Outcome.holds, Outcome.not_needed, False)
    assert fix.alarm == "the fix is no longer needed with torch 2.13.0+cpu, transformers 5.25.0, trl 1.16.0"


def test_the_site_and_the_change_report_follow_a_case_by_one_rule(tmp_path: Path) -> None:
    """A variant not run says nothing: `[cuda]` skipped beside `[cpu]` holding is no change for either reader."""
    from incidentkb.site.sources import load_results

    def fix(variant: str, outcome: str) -> dict[str, Any]:
        return {**case(f"test_fix[{variant}]", "fix", outcome)}

    results(tmp_path, PINNED, "2026-12-01T06:00:00+00:00", "4.51.3", fix("cpu", "holds"), fix("cuda", "not run"))
    results(tmp_path, PINNED, "2026-12-02T06:00:00+00:00", "4.51.3", fix("cpu", "not run"), fix("cuda", "not run"))
    results(tmp_path, PINNED, "2026-12-03T06:00:00+00:00", "4.51.3", fix("cpu", "holds"), fix("cuda", "BROKEN"))
    changes = history(read_all(tmp_path), {})[Cell.parse(PINNED)]
    points = load_results(tmp_path, {}).history[("orpo", PINNED, "fix")]
    assert [(c.before, c.after) for c in changes] == [(Outcome.holds, Outcome.broken)]
    assert [outcome for _, outcome in points] == [Outcome.holds, Outcome.broken]


def test_cases_left_out_or_not_run_are_skipped_over_not_reported(tmp_path: Path) -> None:
    results(tmp_path, PINNED, "2026-12-01T06:00:00+00:00", "4.51.3", case("test_fix", "fix", "holds"))
    results(tmp_path, PINNED, "2026-12-02T06:00:00+00:00", "4.51.3", case("test_fix", "fix", "not run"))
    results(tmp_path, PINNED, "2026-12-03T06:00:00+00:00", "4.51.3")  # deselected (`-k`)
    results(tmp_path, PINNED, "2026-12-04T06:00:00+00:00", "4.51.3", case("test_fix", "fix", "holds"))
    runs = read_all(tmp_path)
    assert history(runs, {}) == {}
    assert render({}, cells=1) == "no outcome changed in 1 cell(s) (newest run against the previous one)\n"


def test_cells_are_compared_only_with_themselves(tmp_path: Path) -> None:
    results(tmp_path, PINNED, "2026-12-01T06:00:00+00:00", "4.51.3", case("test_fix", "fix", "holds"))
    results(tmp_path, LATEST, "2026-12-02T06:00:00+00:00", "5.25.0", case("test_fix", "fix", "BROKEN"))
    assert history(read_all(tmp_path), {}) == {}
