"""The machine: its GPUs (as nvidia-smi lists them, and as torch sees them), CPU, memory, driver and CUDA.

An outcome means little without them: "the symptom no longer reproduces" is a fact about torch 2.13 on an
H100, not about the incident. The matrix asks nvidia-smi which GPUs a host has before any environment exists
(`gpu_names`); inside a cell, the `needs` marker and the run report ask torch (`torch_cuda`, `hardware`), since
"visible" means visible to torch after CUDA_VISIBLE_DEVICES. Every probe here is best effort and never raises:
a report with `null` for the driver is better than no report.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from typing import Any

from incidentkb.host.versions import installed_version

__all__ = ["LIBRARIES", "environment", "hardware", "gpu_names", "parse_gpu_list", "torch_cuda", "torch_gpus", "cpu_name",
           "driver_and_cuda"]

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


def environment(libraries: tuple[str, ...] = LIBRARIES) -> dict[str, str | None]:
    """Python's version and each library's installed version, read from metadata (nothing is imported)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    versions.update({name: installed_version(name) for name in libraries})
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


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo's `model name`, else what `platform` says)."""
    return _cpu_name()


def driver_and_cuda() -> tuple[str | None, str | None]:
    """The NVIDIA driver's version and the CUDA version it offers, from nvidia-smi; (None, None) without one."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None, None
    try:
        out = subprocess.run([exe], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    driver = re.search(r"Driver Version:\s*([0-9.]+)", out)
    cuda = re.search(r"CUDA Version:\s*([0-9.]+)", out)
    return (driver.group(1) if driver else None), (cuda.group(1) if cuda else None)


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
    out = None
    # compute_cap is a query field of drivers from 2021 on; an older nvidia-smi refuses it, and is asked without it
    for fields in ("name,memory.total,driver_version,compute_cap", "name,memory.total,driver_version"):
        try:
            out = subprocess.run([exe, f"--query-gpu={fields}", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=20, check=True).stdout
            break
        except (OSError, subprocess.SubprocessError):
            continue
    if out is None:
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
        capability = parts[3] if len(parts) > 3 and parts[3].replace(".", "").isdigit() else None
        gpus.append({"name": parts[0], "memory_gb": memory, "compute_capability": capability})
        driver = parts[2]
    return gpus, driver


def _torch_gpus() -> tuple[list[dict[str, Any]], str | None] | None:
    """GPUs visible to torch in this process (name, memory in GiB, compute capability) and the CUDA version torch
    was built for; None without torch."""
    if installed_version("torch") is None:
        return None
    try:
        import torch

        cuda = torch.version.cuda
        if not cuda:
            return [], None
        gpus = []
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            gpus.append({"name": props.name, "memory_gb": round(props.total_memory / 2**30, 1),
                         "compute_capability": f"{props.major}.{props.minor}"})
        return gpus, cuda
    except Exception:  # noqa: BLE001 - a broken driver must not cost the report
        return None


def torch_cuda() -> tuple[str | None, int] | None:
    """The CUDA version torch was built for (None for a CPU build) and the GPUs it sees; None without torch."""
    if installed_version("torch") is None:
        return None
    try:
        import torch
    except Exception:  # noqa: BLE001 - a broken torch install means no usable GPU, not a crashed run
        return None
    cuda = getattr(torch.version, "cuda", None)
    try:
        return cuda, torch.cuda.device_count() if cuda else 0
    except Exception:  # noqa: BLE001 - a driver that fails to answer means no usable GPU
        return cuda, 0


def torch_gpus() -> list[dict[str, Any]]:
    """The GPUs visible to torch, each with its name, `memory_gb` and `compute_capability`; empty without any."""
    found = _torch_gpus()
    return found[0] if found is not None else []


def gpu_names() -> tuple[str, ...]:
    """The GPUs cells may use, by name: those `nvidia-smi -L` lists (no torch needed), and of those only the ones
    CUDA_VISIBLE_DEVICES shows when it is set, so that a GPU the user hid is neither counted nor given to a cell."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return ()
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(parse_gpu_list(out, os.environ.get("CUDA_VISIBLE_DEVICES")))


def parse_gpu_list(text: str, visible: str | None = None) -> list[str]:
    """`GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)` lines -> [`NVIDIA H100 80GB HBM3`].

    With `visible` (a CUDA_VISIBLE_DEVICES value), the GPUs it names, by index or UUID, in its order; as CUDA
    does, the list ends at the first entry that names no GPU.
    """
    lines = [line for line in text.splitlines() if line.startswith("GPU ")]
    if visible is not None:
        chosen = []
        for entry in (e.strip() for e in visible.split(",")):
            found = [line for i, line in enumerate(lines) if entry and (entry == str(i) or f"UUID: {entry}" in line)]
            if not found:
                break
            chosen.append(found[0])
        lines = chosen
    return [(line.split(":", 1)[1] if ":" in line else "").split("(UUID", 1)[0].strip() for line in lines]


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
