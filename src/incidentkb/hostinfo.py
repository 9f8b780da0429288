"""The versions and hardware of the machine a regression run happened on, for the run's report.

An outcome means little without them: "the symptom no longer reproduces" is a fact about torch 2.13 on an
H100, not about the incident. Every probe here is best effort and never raises: a report with `null` for the
driver is better than no report.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from typing import Any

__all__ = ["LIBRARIES", "environment", "hardware"]

#: The distributions whose versions every report records (None when not installed).
LIBRARIES: tuple[str, ...] = (
    "torch",
    "transformers",
    "trl",
    "accelerate",
    "datasets",
    "tokenizers",
    "huggingface-hub",
    "peft",
    "liger-kernel",
)


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment(libraries: tuple[str, ...] = LIBRARIES) -> dict[str, str | None]:
    """Python's version and each library's installed version, read from metadata (nothing is imported)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    versions.update({name: _version(name) for name in libraries})
    return versions


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _memory_gb() -> float | None:
    try:
        import psutil

        return round(psutil.virtual_memory().total / 1e9, 1)
    except Exception:  # noqa: BLE001 - psutil is optional
        pass
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _nvidia_smi() -> tuple[list[dict[str, Any]], str | None]:
    """GPUs and driver as nvidia-smi sees them (all cards, whatever CUDA_VISIBLE_DEVICES says)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return [], None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return [], None
    gpus, driver = [], None
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 3:
            continue
        try:
            memory = round(float(parts[1]) / 1024, 1)  # MiB -> GiB, as cards are sold
        except ValueError:
            memory = None
        gpus.append({"name": parts[0], "memory_gb": memory})
        driver = parts[2]
    return gpus, driver


def _torch_gpus() -> tuple[list[dict[str, Any]], str | None] | None:
    """GPUs visible to torch in this process and the CUDA version torch was built for; None without torch."""
    if _version("torch") is None:
        return None
    try:
        import torch

        cuda = torch.version.cuda
        if not cuda:
            return [], None
        gpus = []
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            gpus.append({"name": props.name, "memory_gb": round(props.total_memory / 2**30, 1)})
        return gpus, cuda
    except Exception:  # noqa: BLE001 - a broken driver must not cost the report
        return None


def hardware() -> dict[str, Any]:
    """The machine: platform, CPU, memory and the GPUs visible to torch (falling back to nvidia-smi)."""
    smi_gpus, driver = _nvidia_smi()
    from_torch = _torch_gpus()
    gpus, cuda = from_torch if from_torch is not None else (smi_gpus, None)
    return {
        "platform": f"{platform.system()} {platform.release()} ({sys.platform}, {platform.machine()})",
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "gpus": gpus,
        "gpu_count": len(gpus),
        "driver": driver,
        "cuda": cuda,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }
