"""What a regression case needs from the host, and which of those needs this host leaves unmet.

`unmet` is a pure function of the host's facts, so every branch is unit-tested without a GPU; `probe` gathers
the facts once per run. A case that needs 2 GPUs on a CPU machine is skipped with a reason that names every
missing thing at once (`needs: 2 CUDA GPUs (found 0); package liger_kernel (not installed)`), so one read of
the skip tells what a machine must have to run it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from incidentkb.matrix import canonical_name

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


def _installed(host: Host, name: str) -> str | None:
    wanted = canonical_name(name)
    for known, version in host.packages.items():
        if canonical_name(known) == wanted:
            return version
    return None


def _simple_version(text: str) -> tuple[int, ...]:
    """Release numbers of a version, for hosts without `packaging` (`2.6.0+cu124` -> (2, 6, 0))."""
    release = re.match(r"\d+(?:\.\d+)*", text.strip().lstrip("vV"))
    if release is None:
        raise NeedsError(f"version {text!r} has no release number")
    parts = [int(p) for p in release.group(0).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


_OPERATORS = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


def _simple_satisfies(version: str, specifier: str) -> bool:
    clauses = []
    for clause in filter(None, (c.strip() for c in specifier.split(","))):
        match = re.fullmatch(r"(>=|<=|==|!=|>|<)\s*(\S+)", clause)
        if match is None:
            raise NeedsError(f"version specifier {specifier!r}: cannot read {clause!r}; write e.g. '>=2.6,<3'")
        clauses.append((match.group(1), _simple_version(match.group(2))))
    try:
        installed = _simple_version(version)
    except NeedsError:
        return False  # an installed version nobody can read satisfies nothing; the skip reason shows it
    return all(_OPERATORS[op](installed, bound) for op, bound in clauses)


def version_satisfies(version: str, specifier: str) -> bool:
    """True when `version` is in `specifier` (PEP 440, pre-releases and local builds such as `+cu124` included)."""
    try:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet
        from packaging.version import InvalidVersion, Version
    except ImportError:  # pragma: no cover - packaging is a dependency; the fallback keeps odd hosts working
        return _simple_satisfies(version, specifier)
    try:
        specifiers = SpecifierSet(specifier)
    except InvalidSpecifier:
        raise NeedsError(f"version specifier {specifier!r} is not PEP 440; write e.g. '>=2.6,<3'") from None
    try:
        return specifiers.contains(Version(version), prereleases=True)
    except InvalidVersion:
        pass
    try:
        return _simple_satisfies(version, specifier)  # a version PEP 440 cannot read, e.g. `unknown`
    except NeedsError:
        return False  # a valid specifier (`~=2.6`) the simple reader does not know, of an unreadable version


def unmet(
    host: Host,
    *,
    gpus: int = 0,
    packages: Iterable[str] = (),
    versions: Mapping[str, str] | None = None,
    cuda: bool = False,
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
    return missing


def skip_reason(missing: Iterable[str]) -> str:
    """The skip reason for a list of unmet conditions."""
    return "needs: " + "; ".join(missing)


def _package_version(name: str) -> str | None:
    """The installed distribution's version; for an importable module without metadata, `unknown`."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        return importlib.metadata.version(canonical_name(name))
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        spec = importlib.util.find_spec(name.replace("-", "_"))
    except (ImportError, ValueError):
        spec = None
    return "unknown" if spec is not None else None


def probe(packages: Iterable[str] = (), *, gpus: bool = True) -> Host:
    """The facts of this host for the named packages; GPUs are counted only when `gpus` (that imports torch).

    Counting GPUs goes through torch because "visible" means visible to torch after `CUDA_VISIBLE_DEVICES`;
    without torch no regression can use a GPU, so the count is 0.
    """
    names = set(packages) | {"torch"}
    versions = {name: _package_version(name) for name in sorted(names)}
    gpu_count, torch_cuda = 0, None
    if gpus and versions["torch"] is not None:
        try:
            import torch
        except Exception:  # noqa: BLE001 - a broken torch install means no usable GPU, not a crashed run
            torch = None  # type: ignore[assignment]
        if torch is not None:
            torch_cuda = getattr(torch.version, "cuda", None)
            try:
                gpu_count = torch.cuda.device_count() if torch_cuda else 0
            except Exception:  # noqa: BLE001 - a driver that fails to answer means no usable GPU
                gpu_count = 0
    return Host(gpu_count=gpu_count, packages=versions, torch_cuda=torch_cuda)
