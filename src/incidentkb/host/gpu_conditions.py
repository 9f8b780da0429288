"""Hardware conditions of a case: the GPU's compute capability and its memory, checked against the GPUs a cell saw.

A bug can belong to the card rather than to a library: a bf16 kernel missing below compute capability 8.0, a
model that fits in 80 GB but not in 12 GB. A case says so with `compute_capability="<8.0"` or
`gpu_memory_gb=">=12"` (in its record's `applies_when`, or its `needs` marker); `unmet` is a pure function of the
GPUs' facts (a results file's `host.gpus`, read by `incidentkb.results.runs.Host`), so each branch is table-tested without a GPU.

Compute capabilities compare as versions (`10.0` is above `9.0`); memory compares as a number of GiB, as torch
reports `total_memory` (an "80 GB" H100 has 79.1 GiB).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from incidentkb.host.versions import SpecifierError, version_satisfies

__all__ = ["GpuFacts", "ConditionError", "NOWHERE", "NOT_YET", "check_compute_capability", "check_memory",
           "memory_satisfies", "unmet", "condition_words", "shown_on", "hardware_note"]

#: How `incidentkb check` and the incident's page word a case whose stated hardware no cell of the matrix has.
NOWHERE = "verifiable on no cell of this matrix: needs "
#: ... and a case that may be shown on a GPU the matrix has, but no run has shown it yet.
NOT_YET = "not yet run on a GPU that meets its conditions: needs "


class ConditionError(ValueError):
    """A hardware condition that cannot be read (`compute_capability="eight"`); the message shows the right form."""


@dataclass(frozen=True)
class GpuFacts:
    """One GPU a cell saw: what hardware conditions are checked against. None: not recorded (an older run)."""

    name: str = "GPU"
    compute_capability: str | None = None
    """`major.minor` as torch reports it, e.g. `9.0` for an H100, `7.5` for a T4."""
    memory_gb: float | None = None
    """GiB, as torch's `total_memory` / 2**30."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "GpuFacts":
        memory = data.get("memory_gb")
        capability = data.get("compute_capability")
        return cls(name=str(data.get("name") or "GPU"), compute_capability=str(capability) if capability else None,
                   memory_gb=float(memory) if isinstance(memory, (int, float)) and not isinstance(memory, bool) else None)


_CLAUSE = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)?)\s*")


def check_compute_capability(specifier: str) -> str:
    """The specifier, checked: PEP 440 clauses over `major.minor`, e.g. `<8.0` or `>=7.0,<8.0`."""
    try:
        version_satisfies("8.0", specifier)
    except SpecifierError:
        raise ConditionError(f"compute_capability {specifier!r} is not a version range; write e.g. '<8.0'") from None
    return specifier


def check_memory(specifier: str) -> str:
    """The specifier, checked: comparisons with a number of GiB joined by commas, e.g. `>=12` or `>=12,<40`."""
    if not specifier.strip() or not all(_CLAUSE.fullmatch(part) for part in specifier.split(",")):
        raise ConditionError(f"gpu_memory_gb {specifier!r} is not a memory range in GiB; write e.g. '>=12' or '<16'")
    return specifier


def memory_satisfies(memory_gb: float, specifier: str) -> bool:
    """True when `memory_gb` is inside every clause of `specifier` (`>=12`: 12 GiB or more)."""
    compare = {">=": float.__ge__, "<=": float.__le__, ">": float.__gt__, "<": float.__lt__,
               "==": float.__eq__, "!=": float.__ne__}
    clauses = [_CLAUSE.fullmatch(part) for part in check_memory(specifier).split(",")]
    return all(compare[m.group(1)](float(memory_gb), float(m.group(2))) for m in clauses if m)


def _meets(gpu: GpuFacts, compute_capability: str | None, gpu_memory_gb: str | None) -> str | None:
    """Why this GPU falls outside the conditions, or None when it meets them."""
    if compute_capability:
        if gpu.compute_capability is None:
            return f"{gpu.name}: compute capability not recorded"
        if not version_satisfies(gpu.compute_capability, compute_capability):
            return f"{gpu.name}: {gpu.compute_capability}"
    if gpu_memory_gb:
        if gpu.memory_gb is None:
            return f"{gpu.name}: memory not recorded"
        if not memory_satisfies(gpu.memory_gb, gpu_memory_gb):
            return f"{gpu.name}: {gpu.memory_gb:g} GiB"
    return None


def unmet(gpus: Sequence[GpuFacts], *, compute_capability: str | None = None,
          gpu_memory_gb: str | None = None) -> list[str]:
    """Each hardware condition the cell's GPUs leave unmet, worded with what the cell has; empty when all are met.

    Every GPU the cell sees must meet them (a case runs on any of them), and a cell without a GPU meets none.

    >>> unmet([GpuFacts("NVIDIA H100", "9.0", 79.1)], compute_capability="<8.0")
    ['a GPU of compute capability <8.0 (the cell has NVIDIA H100: 9.0)']
    """
    wanted = [(f"a GPU of compute capability {compute_capability}", compute_capability, None),
              (f"a GPU of {gpu_memory_gb} GiB", None, gpu_memory_gb)]
    missing = []
    for words, capability, memory in wanted:
        if not (capability or memory):
            continue
        if not gpus:
            missing.append(f"{words} (the cell has no GPU)")
            continue
        reasons = [r for r in (_meets(gpu, capability, memory) for gpu in gpus) if r]
        if reasons:
            missing.append(f"{words} (the cell has {', '.join(dict.fromkeys(reasons))})")
    return missing


def condition_words(compute_capability: str | None, gpu_memory_gb: str | None) -> str:
    """The conditions in words: `a GPU of compute capability <8.0 and >=12 GiB`."""
    parts = [f"compute capability {compute_capability}" if compute_capability else "",
             f"{gpu_memory_gb} GiB" if gpu_memory_gb else ""]
    return "a GPU of " + " and ".join(part for part in parts if part)



def _fits(gpu: GpuFacts, compute_capability: str | None, gpu_memory_gb: str | None) -> bool | None:
    """True: the GPU meets the conditions; False: a fact it recorded falls outside; None: it did not record one."""
    facts = [(compute_capability, gpu.compute_capability, version_satisfies),
             (gpu_memory_gb, gpu.memory_gb, lambda memory, specifier: memory_satisfies(float(memory), specifier))]
    answers = [None if fact is None else bool(inside(fact, wanted)) for wanted, fact, inside in facts if wanted]
    return False if False in answers else None if None in answers else True


def shown_on(gpus: Sequence[GpuFacts], compute_capability: str | None, gpu_memory_gb: str | None) -> bool | None:
    """Whether a GPU the matrix has can show a case of these conditions: True, False, or None (not known).

    The GPUs the matrix has are those its results files recorded. A fact a GPU did not record (an older results
    file has no compute capability) is unknown, not "too small" nor "too old": such a GPU may meet the conditions,
    so the answer is None until a run records it, and None too where no results file recorded a GPU at all.

    >>> h200 = GpuFacts("NVIDIA H200", None, 139.8)  # an older results file: no compute capability
    >>> shown_on([h200], None, ">12"), shown_on([h200], "<8.0", None), shown_on([h200], None, "<16")
    (True, None, False)
    """
    answers = [_fits(gpu, compute_capability, gpu_memory_gb) for gpu in gpus]
    return True if True in answers else None if None in answers or not answers else False


def hardware_note(gpus: Sequence[GpuFacts], compute_capability: str | None, gpu_memory_gb: str | None,
                  why: str | None) -> str | None:
    """The words `incidentkb check` and the incident's page both use for a case whose record states hardware.

    `verifiable on no cell ...` only where every GPU the matrix has is known to fall outside (`shown_on` is False);
    `not yet run on a GPU ...` where that is not known; None where a GPU the matrix has meets the conditions.
    """
    shown = shown_on(gpus, compute_capability, gpu_memory_gb)
    if shown:
        return None
    reason = f" ({why})" if why else ""
    return f"{NOWHERE if shown is False else NOT_YET}{condition_words(compute_capability, gpu_memory_gb)}{reason}"
