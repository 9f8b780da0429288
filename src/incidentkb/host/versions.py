"""Installed versions, version specifiers and distribution names, read one way everywhere.

The matrix (a stack's `requires_torch` against a torch), the `needs` marker (a case's `versions={...}`), the run
report and the regressions' own helpers all ask "which version is installed?" and "is it in this range?"; they
get the same answer from here: PEP 440 as `packaging` implements it (pre-releases and nightlies count as their
release line, local builds such as `+cu124` as their release), and a version nobody can read satisfies nothing.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

__all__ = ["SpecifierError", "canonical_name", "installed_version", "installed_versions", "version_satisfies"]

#: What `installed_version` says of a module that imports but has no distribution metadata.
UNKNOWN = "unknown"


class SpecifierError(ValueError):
    """A version specifier that is not PEP 440."""


def canonical_name(name: str) -> str:
    """Distribution names compare as PyPI compares them: `Liger_Kernel` = `liger-kernel`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_version(name: str) -> str | None:
    """The installed distribution's version; `unknown` for an importable module without metadata; else None."""
    for candidate in dict.fromkeys((name, canonical_name(name))):
        try:
            return importlib.metadata.version(candidate)
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        spec = importlib.util.find_spec(name.replace("-", "_"))
    except (ImportError, ValueError):
        spec = None
    return UNKNOWN if spec is not None else None


def installed_versions(names: tuple[str, ...] | list[str]) -> dict[str, str | None]:
    """`installed_version` of each name, in the order given."""
    return {name: installed_version(name) for name in names}


def version_satisfies(version: str, specifier: str) -> bool:
    """True when `version` is in `specifier` (PEP 440, pre-releases and local builds such as `+cu124` included).

    Raises `SpecifierError` for a specifier that is not PEP 440; a version that is not (`unknown`) is in no range.
    """
    try:
        specifiers = SpecifierSet(specifier)
    except InvalidSpecifier:
        raise SpecifierError(f"version specifier {specifier!r} is not PEP 440; write e.g. '>=2.6,<3'") from None
    try:
        return specifiers.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False
