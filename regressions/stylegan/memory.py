"""Bytes of memory in use, measured the way each device can measure them exactly.

On CUDA: the caching allocator's allocated bytes (`torch.cuda.memory_allocated`), which count live tensors only.
On CPU, torch allocates through the C library's malloc, so glibc's `mallinfo2()` (bytes in use in every arena plus
mmapped chunks) counts live tensors and autograd nodes alike, and nothing that was freed; RSS is the fallback
elsewhere, coarser because freed pages can stay resident. A garbage collection runs first, so only memory that
something still references is counted.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import torch

__all__ = ["MemoryMeter", "meter_for", "collector_sees_only_new_objects"]


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _mallinfo2() -> Callable[[], int] | None:
    """In-use bytes from glibc (>= 2.33), or None on other C libraries."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        function = libc.mallinfo2
    except (OSError, AttributeError, TypeError):
        return None
    function.restype = _MallInfo2

    def in_use() -> int:
        info = function()
        return int(info.uordblks + info.hblkhd)

    return in_use


def _rss() -> Callable[[], int] | None:
    try:
        import psutil
    except ImportError:
        return None
    process = psutil.Process()
    return lambda: int(process.memory_info().rss)


@dataclass(frozen=True)
class MemoryMeter:
    """Reads the bytes in use on one device; `method` names what is read, for the report."""

    method: str
    read: Callable[[], int]

    def __call__(self) -> int:
        gc.collect()
        return self.read()


def meter_for(device: torch.device) -> MemoryMeter:
    """The most exact meter this host has for `device`."""
    if device.type == "cuda":
        def allocated() -> int:
            torch.cuda.synchronize(device)
            return int(torch.cuda.memory_allocated(device))

        return MemoryMeter("torch.cuda.memory_allocated", allocated)
    in_use = _mallinfo2()
    if in_use is not None:
        return MemoryMeter("glibc mallinfo2 (uordblks + hblkhd)", in_use)
    rss = _rss()
    if rss is not None:
        return MemoryMeter("process RSS (psutil)", rss)
    raise RuntimeError("no way to measure CPU memory here: install psutil (pip install psutil)")


@contextmanager
def collector_sees_only_new_objects() -> Iterator[None]:
    """Keep the objects alive now out of the garbage collector's scans until the block ends.

    Each reading collects garbage first; a full collection walks every object torch and pytest created (about
    0.3 s per reading on a busy 2-core machine), while with the older objects frozen it walks only what the
    measured code made. Nothing is leaked: the objects are unfrozen at the end of the block.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
