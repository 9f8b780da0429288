"""Running a cell: what a host cannot provide, the GPU setting, and a pytest that hangs or dies."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from incidentkb.host.probe import parse_gpu_list
from incidentkb.matrix.axes import (
    Cell,
    Exclusion,
    GpuSetting,
    Matrix,
    Stack,
    TorchOption,
)
from incidentkb.matrix.hosts import HostFacts, unavailable, visible_devices
from incidentkb.matrix.planning import Target
from incidentkb.matrix.pytest_process import cases_for, run_pytest

MATRIX = Matrix(
    torch=(TorchOption("2.6.0", "w", "torch==2.6.0"), TorchOption("installed", "w")),
    stacks=(Stack("4.51.3", "w", ("transformers==4.51.3",), ("liger-kernel==0.5.8",)), Stack("5.24.0", "w", ("transformers==5.24.0",), (), ">=2.6")),
    gpus=(GpuSetting(0, "w"), GpuSetting(1, "w"), GpuSetting(2, "w")),
    exclusions=(Exclusion({"stack": "5.24.0", "gpus": "1"}, "one GPU says nothing new here"),),
)
CPU_HOST = HostFacts(gpu_names=(), host_python="/usr/bin/python3", host_torch=None)
GPU_HOST = HostFacts(gpu_names=("NVIDIA H100 80GB HBM3",) * 2, host_python="/usr/bin/python3", host_torch="2.5.1+cu124")
OFFLINE = HostFacts(
    gpu_names=("H100",), host_python="python3", host_torch="2.11.0", wheelhouse=("W",),
    built_for=frozenset({"2.6.0-4.51.3", "installed-4.51.3"}),
)


@pytest.mark.parametrize(
    ("cell", "host", "reason"),
    [
        (Cell("2.6.0", "4.51.3", 0), CPU_HOST, None),
        (Cell("2.6.0", "4.51.3", 2), CPU_HOST, "needs 2 GPUs, host has 0"),
        (Cell("2.6.0", "4.51.3", 1), CPU_HOST, "needs 1 GPU, host has 0"),
        (Cell("installed", "4.51.3", 2), CPU_HOST,
         "needs 2 GPUs, host has 0; torch=installed needs torch in the host Python (/usr/bin/python3 has none)"),
        (Cell("installed", "4.51.3", 2), GPU_HOST, None),
        (Cell("installed", "5.24.0", 2), GPU_HOST, "stack 5.24.0 needs torch>=2.6, host has 2.5.1+cu124"),
        (Cell("installed", "5.24.0", 1), GPU_HOST, "excluded: one GPU says nothing new here"),
        (Cell("2.6.0", "4.51.3", 0), OFFLINE, None),
        (Cell("installed", "4.51.3", 1), OFFLINE, None),
        (Cell("installed", "5.24.0", 0), OFFLINE,
         "the wheelhouse was not built for torch=installed stack=5.24.0 (nox -s wheelhouse -- --torch installed --stack 5.24.0 ...)"),
    ],
)
def test_what_a_host_cannot_provide_is_said_in_full(cell: Cell, host: HostFacts, reason: str | None) -> None:
    assert unavailable(MATRIX, cell, host) == reason


@pytest.mark.parametrize(
    ("gpus", "current", "expected"),
    [(0, None, ""), (0, "0,1", ""), (1, None, "0"), (1, "2,3", "2"), (2, None, "0,1"), (2, "3,1,0", "3,1")],
)
def test_visible_devices(gpus: int, current: str | None, expected: str) -> None:
    assert visible_devices(gpus, current) == expected


def test_parse_gpu_list() -> None:
    text = "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1a)\nGPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-2b)\n"
    assert parse_gpu_list(text) == ["NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"]
    assert parse_gpu_list("No devices were found\n") == []


@pytest.mark.parametrize(
    ("visible", "shown"),
    [
        (None, ["A100", "H100"]),  # not set: every GPU
        ("1", ["H100"]),  # the user hid GPU 0: a 2-GPU cell cannot run here
        ("1,0", ["H100", "A100"]),
        ("GPU-2b", ["H100"]),  # by UUID
        ("", []),  # every GPU hidden
        ("0,7,1", ["A100"]),  # CUDA stops at the first entry that names no GPU
    ],
)
def test_the_gpus_a_cell_may_use_are_those_cuda_visible_devices_shows(visible: str | None, shown: list[str]) -> None:
    text = "GPU 0: A100 (UUID: GPU-1a)\nGPU 1: H100 (UUID: GPU-2b)\n"
    assert parse_gpu_list(text, visible) == shown


TARGET = Target("dtype", "regressions/test_dtype.py", ("torch",), (("test_symptom", "symptom"), ("test_fix", "fix")))


def test_a_process_that_hangs_is_killed_and_its_cases_timed_out(tmp_path: Path) -> None:
    run = run_pytest([sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"], env=os.environ, cwd=tmp_path, timeout_s=1)
    assert run.timed_out and run.seconds < 30 and "started" in run.output_tail
    cases = cases_for([TARGET], None, run)
    assert [(c["nodeid"], c["outcome"]) for c in cases] == [
        ("regressions/test_dtype.py::test_symptom", "timed out"),
        ("regressions/test_dtype.py::test_fix", "timed out"),
    ]


def test_a_process_that_dies_reports_its_cases_crashed_with_its_last_words(tmp_path: Path) -> None:
    run = run_pytest([sys.executable, "-c", "import os; print('segfault ahead', flush=True); os.abort()"], env=os.environ, cwd=tmp_path, timeout_s=60)
    assert run.crashed and not run.timed_out
    (first, _) = cases_for([TARGET], None, run)
    assert first["outcome"] == "crashed" and "segfault ahead" in first["detail"]


def test_a_report_gives_the_cases_and_a_failed_install_is_an_environment_fault_of_them_all() -> None:
    report = {"cases": [{"nodeid": "x::test_fix", "incident": "dtype", "role": "fix", "outcome": "holds"}]}
    assert cases_for([TARGET], report, None) == report["cases"]
    failed = cases_for([TARGET], None, None, failure="the environment could not be built: no wheel for torch")
    assert {c["outcome"] for c in failed} == {"environment fault"} and failed[0]["detail"] == (
        "environment fault: the environment could not be built: no wheel for torch")


def test_a_file_pytest_could_not_collect_has_its_cases_crashed_not_gone(tmp_path: Path) -> None:
    run = run_pytest([sys.executable, "-c", f"print('ERROR collecting {TARGET.path}'); print('ImportError: no module x'); raise SystemExit(1)"],
                     env=os.environ, cwd=tmp_path, timeout_s=60)
    report = {"cases": []}
    cases = cases_for([TARGET], report, run)
    assert [c["outcome"] for c in cases] == ["crashed"] * len(TARGET.cases)
    assert "ImportError: no module x" in cases[0]["detail"]
    # The same missing cases after a clean run were deselected (`-k`), not lost.
    clean = run_pytest([sys.executable, "-c", "print('1 passed, 3 deselected')"], env=os.environ, cwd=tmp_path, timeout_s=60)
    assert cases_for([TARGET], report, clean) == []
    # pytest's short summary alone (the section scrolled out of the tail) is enough.
    summary = run_pytest([sys.executable, "-c", f"print('ERROR {TARGET.path} - ImportError while importing'); raise SystemExit(2)"],
                         env=os.environ, cwd=tmp_path, timeout_s=60)
    assert len(cases_for([TARGET], report, summary)) == len(TARGET.cases)
