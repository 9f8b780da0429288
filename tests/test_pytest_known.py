"""The known-incidents plugin, run with `pytester` on example test files that raise real errors."""

from __future__ import annotations

import shutil
from importlib.metadata import entry_points
from pathlib import Path

import pytest

# Imported here, before any in-process run: pytester removes the modules a run imported for the first time, and
# neither survives that: importing torch a second time in one process crashes it, and a re-imported `yaml` no
# longer recognises the nodes of its C loader (records then read as empty).
import torch  # noqa: F401
import yaml  # noqa: F401

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
DTYPE = "2025-04-12-stylegan-label-dtype-mismatch"
# Loaded by its entry point once the package is installed with it; named explicitly otherwise.
PLUGIN = [] if any(ep.value == "incidentkb.plugin.known" for ep in entry_points(group="pytest11")) else ["-p", "incidentkb.plugin.known"]

EXAMPLES = '''
import torch


def test_float64_labels_times_float32_weights():
    labels = torch.tensor([[0.5, -1.2, 0.3, 0.9, -0.4]], dtype=torch.float64)
    torch.matmul(labels, torch.nn.Parameter(torch.randn(5, 512)))


def test_broadcast_in_own_code():
    torch.zeros(3, 7) == torch.zeros(4, 7)


def test_raised_from_the_dtype_error():
    try:
        torch.mm(torch.zeros(2, 5, dtype=torch.float64), torch.zeros(5, 3))
    except RuntimeError as exc:
        raise ValueError("could not embed the labels") from exc


def test_passes():
    assert True
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copytree(REPO / "incidents", pytester.path / "incidents")
    pytester.makepyfile(test_examples=EXAMPLES)
    return pytester


def sections(result: pytest.HookRecorder) -> dict[str, list[str]]:
    """The "known incidents" section of each failed test, from the reports pytester recorded."""
    found: dict[str, list[str]] = {}
    for report in result.getreports("pytest_runtest_logreport"):
        for title, text in report.sections:
            if title == "known incidents":
                found.setdefault(report.nodeid.rsplit("::", 1)[-1], []).append(text)
    return found


def test_failing_tests_are_annotated_with_the_incidents_their_errors_match(project: pytest.Pytester) -> None:
    result = project.inline_run(*PLUGIN, "--incidentkb-known")
    assert result.countoutcomes() == [1, 0, 3]
    annotated = sections(result)
    assert sorted(annotated) == ["test_float64_labels_times_float32_weights", "test_raised_from_the_dtype_error"]
    text = annotated["test_float64_labels_times_float32_weights"][0].splitlines()
    assert text[0] == "this error matches 1 known incident:"
    assert text[1] == (
        "- StyleGAN fine-tuning: tensor dtype mismatch between the property-score labels and the label weight matrix "
        f"[{DTYPE}]"
    )
    assert text[2] == "  fix: Cast the property-score vector to float32 (`.to(torch.float32)` before `.cuda()`)."
    assert text[3] == f"  link: incidents/{DTYPE}.html (record: incidents/{DTYPE}.yaml)"
    assert text[4].startswith("  why: exception RuntimeError; message matches signature 2 /expected m1 and m2")
    assert "found in an earlier error of the traceback" in annotated["test_raised_from_the_dtype_error"][0]


def test_the_section_is_printed_under_the_failure(project: pytest.Pytester) -> None:
    result = project.runpytest(*PLUGIN, "--incidentkb-known=incidents", "-k", "float64")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*- known incidents -*", "this error matches 1 known incident:", f"*[{DTYPE}]"])


def test_ini_key_and_site_url(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nincidentkb_known = incidents\nincidentkb_site_url = https://kb.example.org/\n")
    result = project.inline_run(*PLUGIN, "-k", "float64")
    (text,) = sections(result)["test_float64_labels_times_float32_weights"]
    assert f"  link: https://kb.example.org/incidents/{DTYPE}.html (record: incidents/{DTYPE}.yaml)" in text.splitlines()


def test_inert_unless_asked(project: pytest.Pytester) -> None:
    shutil.rmtree(project.path / "incidents")
    result = project.inline_run(*PLUGIN)
    assert result.countoutcomes() == [1, 0, 3]
    assert sections(result) == {}


def test_a_missing_records_folder_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest(*PLUGIN, "--incidentkb-known=nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no incident records directory at *nowhere (from --incidentkb-known); pass the folder*"])
