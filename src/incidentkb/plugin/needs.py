"""What a regression case needs from the host, and which of those needs this host leaves unmet.

`unmet` is a pure function of the host's facts, so every branch is unit-tested without a GPU; `probe` gathers
the facts once per run. A case that needs 2 GPUs on a CPU machine is skipped with a reason that names every
missing thing at once (`needs: 2 CUDA GPUs (found 0); package liger_kernel (not installed)`), so one read of
the skip tells what a machine must have to run it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from incidentkb.host import gpu_conditions
from incidentkb.host import probe as host_probe
from incidentkb.host import versions
from incidentkb.host.gpu_conditions import GpuFacts
from incidentkb.host.versions import canonical_name

__all__ = ["Host", "NeedsError", "unmet", "skip_reason", "probe", "version_satisfies"]


class NeedsError(ValueError):
    """A `needs` marker whose arguments cannot be checked (a bad version specifier, a negative GPU count)."""


@dataclass(frozen=True)
class Host:
    """The facts about a host that needs are checked against."""

    gpu_count: int = 0
    """CUDA GPUs visible to torch in this process (after `CUDA_VISIBLE_DEVICES`)."""
    packages: Mapping[str, str | None] = field(default_factory=dict)
    """Installed version of each package asked about, None when it is not installed."""
    torch_cuda: str | None = None
    """The CUDA version torch was built for (`torch.version.cuda`), None for a CPU build or no torch."""
    gpus: tuple[GpuFacts, ...] = ()
    """The GPUs visible to torch, with compute capability and memory (probed only when a case asks about GPUs)."""


def _installed(host: Host, name: str) -> str | None:
    wanted = canonical_name(name)
    for known, version in host.packages.items():
        if canonical_name(known) == wanted:
            return version
    return None


def version_satisfies(version: str, specifier: str) -> bool:
    """`incidentkb.host.versions.version_satisfies`, with a bad specifier raised as a NeedsError."""
    try:
        return versions.version_satisfies(version, specifier)
    except versions.SpecifierError as exc:
        raise NeedsError(str(exc)) from None


def unmet(
    host: Host,
    *,
    gpus: int = 0,
    packages: Iterable[str] = (),
    versions: Mapping[str, str] | None = None,
    cuda: bool = False,
    compute_capability: str | None = None,
    gpu_memory_gb: str | None = None,
) -> list[str]:
    """Every condition the host does not meet, worded for a skip reason; empty when the case can run.

    >>> unmet(Host(gpu_count=0, packages={"trl": "0.14.0"}), gpus=2, packages=["liger_kernel"],
    ...       versions={"trl": ">=0.15"})
    ['2 CUDA GPUs (found 0)', 'package liger_kernel (not installed)', 'trl>=0.15 (found 0.14.0)']
    """
    if isinstance(packages, str):
        raise NeedsError(f"packages={packages!r}: give a list of names, e.g. packages=({packages!r},)")
    if gpus < 0:
        raise NeedsError(f"gpus={gpus}: a GPU count is 0 or more")
    missing: list[str] = []
    if cuda and host.torch_cuda is None:
        torch_version = _installed(host, "torch")
        found = f"torch {torch_version}" if torch_version else "no torch"
        missing.append(f"torch built with CUDA (found {found})")
    if gpus and host.gpu_count < gpus:
        missing.append(f"{gpus} CUDA GPU{'s' if gpus != 1 else ''} (found {host.gpu_count})")
    for name in packages:
        if _installed(host, name) is None:
            missing.append(f"package {name} (not installed)")
    for name, specifier in (versions or {}).items():
        version = _installed(host, name)
        if version is None:
            missing.append(f"{name}{specifier} (not installed)")
        elif not version_satisfies(version, specifier):
            missing.append(f"{name}{specifier} (found {version})")
    try:
        missing += gpu_conditions.unmet(host.gpus, compute_capability=compute_capability, gpu_memory_gb=gpu_memory_gb)
    except gpu_conditions.ConditionError as exc:
        raise NeedsError(str(exc)) from None
    return missing


def skip_reason(missing: Iterable[str]) -> str:
    """The skip reason for a list of unmet conditions."""
    return "needs: " + "; ".join(missing)


def probe(packages: Iterable[str] = (), *, gpus: bool = True) -> Host:
    """The facts of this host for the named packages; GPUs are counted only when `gpus` (that imports torch).

    Counting GPUs goes through torch because "visible" means visible to torch after `CUDA_VISIBLE_DEVICES`;
    without torch no regression can use a GPU, so the count is 0.
    """
    names = set(packages) | {"torch"}
    found = {name: versions.installed_version(name) for name in sorted(names)}
    cuda = host_probe.torch_cuda() if gpus and found["torch"] is not None else None
    torch_cuda, gpu_count = cuda if cuda is not None else (None, 0)
    facts = tuple(GpuFacts.from_dict(gpu) for gpu in host_probe.torch_gpus()) if gpu_count else ()
    return Host(gpu_count=gpu_count, packages=found, torch_cuda=torch_cuda, gpus=facts)
