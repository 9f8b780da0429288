"""`needs`: which of a case's conditions a host leaves unmet, worded for the skip reason."""

from __future__ import annotations

import importlib.metadata

import pytest

from incidentkb.host.gpu_conditions import GpuFacts
from incidentkb.plugin.needs import (
    Host,
    NeedsError,
    probe,
    skip_reason,
    unmet,
    version_satisfies,
)

CPU_HOST = Host(gpu_count=0, packages={"torch": "2.13.0+cpu", "trl": "0.14.0", "liger_kernel": None})
ONE_GPU = Host(gpu_count=1, packages={"torch": "2.6.0+cu124"}, torch_cuda="12.4")
TWO_GPUS = Host(gpu_count=2, packages={"torch": "2.6.0+cu124", "liger-kernel": "0.5.2", "trl": "0.15.2"},
                torch_cuda="12.4")
NO_TORCH = Host(gpu_count=0, packages={"torch": None})


@pytest.mark.parametrize(
    ("host", "needs", "expected"),
    [
        (CPU_HOST, {}, []),
        (CPU_HOST, {"gpus": 0}, []),
        (CPU_HOST, {"gpus": 1}, ["1 CUDA GPU (found 0)"]),
        (CPU_HOST, {"gpus": 2}, ["2 CUDA GPUs (found 0)"]),
        (ONE_GPU, {"gpus": 2}, ["2 CUDA GPUs (found 1)"]),
        (TWO_GPUS, {"gpus": 2}, []),
        (TWO_GPUS, {"gpus": 1}, []),
        (CPU_HOST, {"packages": ("liger_kernel",)}, ["package liger_kernel (not installed)"]),
        (CPU_HOST, {"packages": ("never-asked",)}, ["package never-asked (not installed)"]),
        (TWO_GPUS, {"packages": ("liger_kernel",)}, []),  # liger_kernel and liger-kernel are one package
        (TWO_GPUS, {"packages": ("Liger.Kernel",)}, []),
        (CPU_HOST, {"versions": {"trl": ">=0.15"}}, ["trl>=0.15 (found 0.14.0)"]),
        (TWO_GPUS, {"versions": {"trl": ">=0.15"}}, []),
        (ONE_GPU, {"versions": {"trl": ">=0.15"}}, ["trl>=0.15 (not installed)"]),
        (ONE_GPU, {"versions": {"torch": ">=2.6"}}, []),  # a local build (+cu124) is still 2.6.0
        (ONE_GPU, {"versions": {"torch": "<2.6"}}, ["torch<2.6 (found 2.6.0+cu124)"]),
        (ONE_GPU, {"versions": {"torch": ">=2.4,<2.7"}}, []),
        (CPU_HOST, {"cuda": True}, ["torch built with CUDA (found torch 2.13.0+cpu)"]),
        (NO_TORCH, {"cuda": True}, ["torch built with CUDA (found no torch)"]),
        (ONE_GPU, {"cuda": True}, []),
        (CPU_HOST, {"cuda": False}, []),
        (
            CPU_HOST,
            {"gpus": 2, "packages": ("liger_kernel",), "versions": {"trl": ">=0.15"}, "cuda": True},
            [
                "torch built with CUDA (found torch 2.13.0+cpu)",
                "2 CUDA GPUs (found 0)",
                "package liger_kernel (not installed)",
                "trl>=0.15 (found 0.14.0)",
            ],
        ),
    ],
)
def test_unmet_lists_every_missing_condition(host: Host, needs: dict, expected: list[str]) -> None:
    assert unmet(host, **needs) == expected


@pytest.mark.parametrize(
    ("needs", "message"),
    [
        ({"packages": "liger_kernel"}, "give a list of names"),
        ({"gpus": -1}, "0 or more"),
        ({"versions": {"trl": "about 0.15"}}, "not PEP 440"),
    ],
)
def test_unmet_refuses_needs_it_cannot_check(needs: dict, message: str) -> None:
    with pytest.raises(NeedsError, match=message):
        unmet(TWO_GPUS, **needs)


def test_skip_reason_joins_every_condition() -> None:
    assert skip_reason(["2 CUDA GPUs (found 0)", "package liger_kernel (not installed)"]) == (
        "needs: 2 CUDA GPUs (found 0); package liger_kernel (not installed)"
    )


@pytest.mark.parametrize(
    ("version", "specifier", "expected"),
    [
        ("2.6.0+cu124", ">=2.6", True),
        ("2.6.0+cu124", "==2.6.0", True),
        ("2.5.1", ">=2.6", False),
        ("2.7.0.dev20250301", ">=2.6", True),  # nightlies count as their release line
        ("0.15.2", ">=0.15,<0.16", True),
        ("0.16.0", ">=0.15,<0.16", False),
        ("4.51.3", "!=4.51.3", False),
        ("unknown", ">=0", False),  # importable but without metadata: satisfies no specifier
        ("unknown", "~=2.6", False),  # nor one the simple reader cannot read
    ],
)
def test_version_satisfies(version: str, specifier: str, expected: bool) -> None:
    assert version_satisfies(version, specifier) is expected


def test_probe_reads_installed_versions_of_this_host() -> None:
    host = probe(["pytest", "surely-not-an-installed-package"], gpus=False)
    assert host.packages["pytest"] == importlib.metadata.version("pytest")
    assert host.packages["surely-not-an-installed-package"] is None
    assert host.gpu_count == 0 and host.torch_cuda is None  # not counted when not asked


def test_probe_counts_gpus_visible_to_torch() -> None:
    torch = pytest.importorskip("torch")
    host = probe(gpus=True)
    assert host.gpu_count == (torch.cuda.device_count() if torch.version.cuda else 0)
    assert host.torch_cuda == torch.version.cuda


H100_HOST = Host(gpu_count=1, packages={"torch": "2.11.0+cu128"}, torch_cuda="12.8",
                 gpus=(GpuFacts("NVIDIA H100 80GB HBM3", "9.0", 79.1),))


@pytest.mark.parametrize(
    ("host", "needs", "expected"),
    [
        (H100_HOST, {"compute_capability": ">=8.0"}, []),
        (H100_HOST, {"compute_capability": "<8.0"},
         ["a GPU of compute capability <8.0 (the cell has NVIDIA H100 80GB HBM3: 9.0)"]),
        (H100_HOST, {"gpu_memory_gb": ">=12"}, []),
        (CPU_HOST, {"gpus": 1, "gpu_memory_gb": ">=12"},
         ["1 CUDA GPU (found 0)", "a GPU of >=12 GiB (the cell has no GPU)"]),
    ],
)
def test_needs_names_the_gpu_hardware_it_lacks(host: Host, needs: dict, expected: list[str]) -> None:
    assert unmet(host, **needs) == expected


def test_a_memory_condition_that_is_no_range_is_a_needs_error() -> None:
    with pytest.raises(NeedsError, match="gpu_memory_gb '12 GB' is not a memory range"):
        unmet(H100_HOST, gpu_memory_gb="12 GB")
