"""The pytest plugin, run on example test files with `pytester`: outcomes by role, skips, report, and inertness."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

RECORD = """\
id: demo-incident
title: A demo incident
date: 2025-04-12
category: demo
severity: moderate
status: resolved
environment: {os: Linux, python: "3.11"}
symptom:
  summary: matmul fails
  signatures:
    - {exception: RuntimeError, message: "expected m1 and m2 to have the same dtype"}
cause: float64 labels
fix: {summary: cast to float32}
regression:
  path: regressions/test_demo.py
  cases:
    - {name: test_symptom_reproduces, role: symptom}
    - name: test_fix_of_many_gpus
      role: fix
      applies_when: {gpus: 64, why: "The bug needs 64 GPUs visible to one process"}
    - {name: test_smoke_runs, role: smoke}
    - {name: test_attempt_self_check_fails, role: "attempt:cast-to-double"}
"""

CASES = '''
import time
import pytest
from incidentkb.match.signatures import any_matches

ID = "demo-incident"

def fails_like_the_record():
    raise RuntimeError("expected m1 and m2 to have the same dtype, but got: double != float")

@pytest.mark.incident(ID, "symptom")
def test_symptom_reproduces(observe, incident_record):
    with observe.catching():
        fails_like_the_record()
    observe.value("label_dtype", "torch.float64")
    assert any_matches(incident_record.symptom.signatures, observe.error)

@pytest.mark.incident(ID, "symptom")
def test_symptom_gone(observe, incident_record):
    with observe.catching():
        pass
    assert any_matches(incident_record.symptom.signatures, observe.error)

@pytest.mark.incident(ID, "symptom")
def test_symptom_changed(observe, incident_record):
    with observe.catching():
        raise RuntimeError("some other wording")
    assert any_matches(incident_record.symptom.signatures, observe.error)

@pytest.mark.incident(ID, "fix")
def test_fix_holds(observe):
    observe.value("growth_per_call_bytes", 0)
    assert 0 < 1024

@pytest.mark.incident(ID, "fix")
def test_fix_broken(observe):
    observe.value("growth_per_call_bytes", 9897356)
    assert 9897356 < 1024

@pytest.mark.incident(ID, "fix:torchrun")
def test_alternative_fix_crashes():
    {}["missing"]

@pytest.mark.incident(ID, "attempt:cast-to-double")
def test_attempt_still_fails(observe, incident_record):
    with observe.catching():
        fails_like_the_record()
    assert any_matches(incident_record.symptom.signatures, observe.error)

@pytest.mark.incident(ID, "attempt:cast-to-double")
def test_attempt_now_works(observe, incident_record):
    with observe.catching():
        pass
    assert any_matches(incident_record.symptom.signatures, observe.error)

@pytest.mark.incident(ID, "fix")
@pytest.mark.needs(packages=("surely_not_installed_pkg",), versions={"pytest": "<1"})
def test_fix_needs_what_is_missing():
    pass

@pytest.mark.incident(ID, "fix")
@pytest.mark.timeout(1)
def test_fix_hangs():
    time.sleep(30)

@pytest.mark.incident(ID, "fix")
def test_fix_of_many_gpus():
    assert False, "never run: the record says the claim needs 64 GPUs"

@pytest.mark.incident(ID, "smoke")
def test_smoke_runs(observe):
    observe.value("optimizer_steps", 1)
    assert 1 > 0

@pytest.mark.incident(ID, "attempt:cast-to-double")
def test_attempt_self_check_fails(observe):
    observe.require(False, "the attempt's line did not run")

@pytest.mark.incident("no-such-incident", "symptom")
def test_record_missing(incident_record):
    pass

def test_not_an_incident_case():
    pass
'''

#: case -> (outcome in the report, what pytest shows)
EXPECTED = {
    "test_symptom_reproduces": ("reproduces", "passed"),
    "test_symptom_gone": ("no longer reproduces", "xfailed"),
    "test_symptom_changed": ("changed", "xfailed"),
    "test_fix_holds": ("holds", "passed"),
    "test_fix_broken": ("BROKEN", "failed"),
    "test_alternative_fix_crashes": ("crashed", "failed"),
    "test_attempt_still_fails": ("still fails", "passed"),
    "test_attempt_now_works": ("now behaves differently", "xfailed"),
    "test_fix_needs_what_is_missing": ("not run", "skipped"),
    "test_fix_hangs": ("timed out", "failed"),
    "test_record_missing": ("crashed", "error"),
    "test_fix_of_many_gpus": ("not applicable", "skipped"),
    "test_smoke_runs": ("works", "passed"),
    "test_attempt_self_check_fails": ("harness error", "failed"),
}


INI = "[pytest]\naddopts = --strict-markers --strict-config -p no:cacheprovider\n"


def write_project(root: Path) -> None:
    """The demo project: an ini, one incident record and the demo cases."""
    (root / "pytest.ini").write_text(INI, encoding="utf-8")
    (root / "incidents").mkdir()
    (root / "incidents" / "demo-incident.yaml").write_text(RECORD, encoding="utf-8")
    (root / "test_demo.py").write_text(CASES, encoding="utf-8")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """The demo project; run it with `runpytest_subprocess`, as in-process runs re-import the record loader."""
    write_project(pytester.path)
    return pytester


def run_with_report(project: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    report = project.path / "out" / "report.json"
    result = project.runpytest_subprocess(f"--incidentkb-report={report}", "-ra", *args)
    return result, json.loads(report.read_text(encoding="utf-8"))


def cases_by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {case["nodeid"].split("::")[-1]: case for case in report["cases"]}


@dataclass
class DemoRun:
    ret: int
    stdout: pytest.LineMatcher
    counts: str
    report: dict[str, Any]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """One run of all demo cases in a fresh pytest process, shared by the tests that read its results."""
    root = tmp_path_factory.mktemp("demo")
    write_project(root)
    report = root / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", f"--incidentkb-report={report}", "-ra"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )
    lines = done.stdout.splitlines()
    return DemoRun(done.returncode, pytest.LineMatcher(lines), lines[-1], json.loads(report.read_text("utf-8")))


@pytest.mark.parametrize(("case", "outcome"), [(case, expected[0]) for case, expected in EXPECTED.items()])
def test_outcome_is_worded_for_the_role(demo_run: DemoRun, case: str, outcome: str) -> None:
    assert cases_by_name(demo_run.report)[case]["outcome"] == outcome


def test_only_broken_fixes_and_crashes_fail_the_run(demo_run: DemoRun) -> None:
    shown = [expected[1] for expected in EXPECTED.values()] + ["passed"]  # + the plain test
    for kind in set(shown):
        assert f"{shown.count(kind)} {kind}" in demo_run.counts
    assert demo_run.ret == pytest.ExitCode.TESTS_FAILED


def test_drift_shows_as_xfail_with_its_outcome(demo_run: DemoRun) -> None:
    demo_run.stdout.fnmatch_lines(
        ["XFAIL test_demo.py::test_symptom_gone - incidentkb: symptom no longer reproduces (run with --incidentkb-*"]
    )


def test_skip_reason_lists_every_unmet_need(demo_run: DemoRun) -> None:
    reason = "needs: package surely_not_installed_pkg (not installed); pytest<1 (found *)"
    demo_run.stdout.fnmatch_lines([f"SKIPPED *test_demo.py:*: {reason}"])
    detail = cases_by_name(demo_run.report)["test_fix_needs_what_is_missing"]["detail"]
    assert detail.startswith("needs: package surely_not_installed_pkg (not installed); pytest<1 (found ")


def test_summary_lists_each_case_and_its_drift(demo_run: DemoRun) -> None:
    demo_run.stdout.fnmatch_lines(
        [
            "*= incidentkb =*",
            "reproduces * symptom * test_demo.py::test_symptom_reproduces",
            "no longer reproduces * symptom * test_demo.py::test_symptom_gone  (drift)",
            "BROKEN * fix * test_demo.py::test_fix_broken  (fails the run)",
            "*",
            "3 case(s) drifted from their record; --incidentkb-strict makes drift fail the run",
            "report: *report.json",
        ]
    )


def test_report_holds_observations_details_and_host(demo_run: DemoRun) -> None:
    report = demo_run.report
    assert report["schema"] == 1
    assert report["started"] <= report["finished"]
    assert {"python", "torch", "transformers", "trl", "liger-kernel"} <= set(report["environment"])
    assert set(report["hardware"]) == {
        "platform", "cpu", "cpu_count", "memory_gb", "gpus", "gpu_count", "driver", "cuda", "cuda_visible_devices"
    }
    cases = cases_by_name(report)
    assert "test_not_an_incident_case" not in cases
    reproduces = cases["test_symptom_reproduces"]
    assert reproduces["incident"] == "demo-incident" and reproduces["role"] == "symptom"
    assert reproduces["observation"]["error"]["message"].startswith("expected m1 and m2")
    assert reproduces["observation"]["values"] == {"label_dtype": "torch.float64"}
    assert reproduces["duration_s"] >= 0
    assert cases["test_fix_broken"]["observation"]["values"] == {"growth_per_call_bytes": 9897356}
    assert cases["test_fix_broken"]["detail"] == "AssertionError: assert 9897356 < 1024"
    assert "KeyError: 'missing'" in cases["test_alternative_fix_crashes"]["detail"]
    assert "Timeout" in cases["test_fix_hangs"]["detail"]
    assert cases["test_record_missing"]["detail"].endswith(
        "no-such-incident.yaml: no such incident record (named by @pytest.mark.incident)"
    )


def test_strict_makes_drift_fail_the_run(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--incidentkb-strict", "-k", "gone or reproduces or now_works")
    result.assert_outcomes(passed=1, failed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_drift_alone_does_not_fail_the_run(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-k", "gone or reproduces or now_works")
    result.assert_outcomes(passed=1, xfailed=2)
    assert result.ret == pytest.ExitCode.OK


def test_report_from_xdist_workers(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    _, report = run_with_report(project, "-n", "2", "-k", "reproduces or broken or missing_pkg or needs")
    cases = cases_by_name(report)
    assert {name: case["outcome"] for name, case in cases.items()} == {
        "test_symptom_reproduces": "reproduces",
        "test_fix_broken": "BROKEN",
        "test_fix_needs_what_is_missing": "not run",
    }
    assert cases["test_symptom_reproduces"]["observation"]["values"] == {"label_dtype": "torch.float64"}


def test_markers_are_registered_with_their_signatures(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.incident(incident_id, role): *",
            "@pytest.mark.needs(gpus=0, packages=(), versions=None, cuda=False, compute_capability=None, gpu_memory_gb=None): *",
        ]
    )


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('incident("demo-incident", "bogus")', "'bogus' is not a valid Role"),
        ('incident("demo-incident", "attempt")', "write 'symptom', 'fix', 'fix:<id>', 'attempt:<id>' or 'smoke'"),
        ('incident("demo-incident")', "missing 1 required positional argument: 'role'"),
        ("needs(gpu=2)", "unexpected keyword argument 'gpu'"),
        ('needs(packages="liger_kernel")', "give a list of names"),
        ("needs(2)", "needs takes keyword arguments only"),
    ],
)
def test_malformed_markers_stop_the_run_naming_the_case(pytester: pytest.Pytester, marker: str, message: str) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            f"""
            import pytest

            @pytest.mark.{marker}
            def test_case():
                pass
            """
        )
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: test_*.py::test_case: @pytest.mark.*(from marker): *{message}*"])


def test_a_run_without_incident_cases_is_untouched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_nothing_heavy_was_imported():
            assert "torch" not in sys.modules
            assert "pydantic" not in sys.modules
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert "= incidentkb =" not in result.stdout.str()
    assert not list(pytester.path.rglob("*.json"))


def test_report_replaces_an_earlier_report(project: pytest.Pytester) -> None:
    report = project.path / "report.json"
    report.write_text('{"schema": 1, "cases": []}', encoding="utf-8")
    project.runpytest_subprocess(f"--incidentkb-report={report}", "-k", "reproduces")
    assert [c["outcome"] for c in json.loads(report.read_text(encoding="utf-8"))["cases"]] == ["reproduces"]


def test_report_never_overwrites_another_file(project: pytest.Pytester) -> None:
    notes = project.path / "notes.json"
    notes.write_text("my notes", encoding="utf-8")
    result = project.runpytest_subprocess(f"--incidentkb-report={notes}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --incidentkb-report {notes}: the file exists and is not an incidentkb*"])
    assert notes.read_text(encoding="utf-8") == "my notes"


def test_report_path_is_written_beside_nothing_else(project: pytest.Pytester) -> None:
    out = project.path / "results"
    project.runpytest_subprocess(f"--incidentkb-report={out / 'r.json'}", "-k", "reproduces")
    assert [p.name for p in out.iterdir()] == ["r.json"]  # no temporary file left behind


def test_incident_record_without_marker_says_what_is_missing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_case(incident_record):\n    pass\n")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*test_case: the incident_record fixture needs @pytest.mark.incident('<id>', *"])


def test_record_folder_comes_from_the_ini(project: pytest.Pytester, tmp_path: Path) -> None:
    (tmp_path / "demo-incident.yaml").write_text(RECORD, encoding="utf-8")
    (project.path / "incidents" / "demo-incident.yaml").unlink()
    result = project.runpytest_subprocess("-o", f"incidentkb_incidents={tmp_path}", "-k", "test_symptom_reproduces")
    result.assert_outcomes(passed=1)


def test_an_invalid_record_crashes_its_cases_naming_the_place(project: pytest.Pytester) -> None:
    (project.path / "incidents" / "demo-incident.yaml").write_text(RECORD.replace("category: demo\n", ""), "utf-8")
    result = project.runpytest_subprocess("-k", "test_symptom_reproduces")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*not a valid incident record: *demo-incident.yaml:*: missing field 'category'*"])


def test_a_case_whose_claim_cannot_be_shown_here_is_not_applicable_with_the_records_reason(demo_run: DemoRun) -> None:
    detail = cases_by_name(demo_run.report)["test_fix_of_many_gpus"]["detail"]
    assert detail == ("not applicable: The bug needs 64 GPUs visible to one process "
                      "(needs 64 visible GPUs (the cell has 0))")


def test_a_failed_self_check_is_a_harness_error_not_drift(demo_run: DemoRun) -> None:
    case = cases_by_name(demo_run.report)["test_attempt_self_check_fails"]
    assert case["outcome"] == "harness error" and "the attempt's line did not run" in case["detail"]
    demo_run.stdout.fnmatch_lines(["FAILED test_demo.py::test_attempt_self_check_fails*"])


@pytest.mark.parametrize(
    ("lifted", "reason"),
    [
        ((), "needs: package surely_not_installed_pkg (not installed); pytest<1 (found"),
        # a bisection over pytest's releases lifts the version condition of pytest only: the package need stays
        (("--incidentkb-any-version", "PyTest"), "needs: package surely_not_installed_pkg (not installed)"),
    ],
)
def test_any_version_lifts_only_that_packages_version_condition(project: pytest.Pytester, lifted: tuple[str, ...], reason: str) -> None:
    result = project.runpytest_subprocess("-rs", "-k", "needs_what_is_missing", *lifted)
    result.assert_outcomes(skipped=1)
    skip_line = next(line for line in result.outlines if "SKIPPED" in line)
    assert skip_line.split("] ", 1)[-1].split(": needs", 1)[-1].startswith(reason.removeprefix("needs"))
    assert ("pytest<1" in skip_line) is (not lifted)
