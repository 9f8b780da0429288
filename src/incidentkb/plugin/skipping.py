"""Skipping a case whose `needs` the host does not meet, with a reason that lists every unmet condition."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from incidentkb.host.versions import canonical_name
from incidentkb.plugin.markers import call_text, incident_of
from incidentkb.plugin.needs import Host, NeedsError, probe, skip_reason, unmet

if TYPE_CHECKING:
    from incidentkb.records.schema import Incident

__all__ = ["HostCache", "NOT_APPLICABLE"]

#: How a skip reason starts when the record says the case's claim cannot be shown on this host.
NOT_APPLICABLE = "not applicable: "

_HOST = pytest.StashKey["HostCache"]()


@dataclass
class HostCache:
    """The host's facts, probed once per run and again only when a marker asks about more than was probed."""

    _host: Host | None = None
    _asked: frozenset[str] = frozenset()
    _gpus_probed: bool = False
    records: dict[str, Incident | None] = field(default_factory=dict)
    """Records read for `applies_when`, each once."""

    def host(self, packages: tuple[str, ...], *, gpus: bool) -> Host:
        if self._host is None or not set(packages) <= self._asked or gpus and not self._gpus_probed:
            self._asked = self._asked | set(packages)
            self._gpus_probed = self._gpus_probed or gpus
            self._host = probe(sorted(self._asked), gpus=self._gpus_probed)
        return self._host


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_HOST] = HostCache()


def _unmet_needs(item: pytest.Item, cache: HostCache, lifted: frozenset[str] = frozenset()) -> list[str]:
    """Every unmet condition of the case's `needs` markers, leaving out the versions of the `lifted` packages."""
    missing: list[str] = []
    for marker in item.iter_markers("needs"):
        try:
            if marker.args:
                raise TypeError("needs takes keyword arguments only")
            names = tuple(marker.kwargs.get("packages", ())) + tuple(marker.kwargs.get("versions") or ())
            # Counting GPUs imports torch: done only for a marker that asks about GPUs or CUDA.
            asks_gpus = any(marker.kwargs.get(k) for k in ("gpus", "cuda", "compute_capability", "gpu_memory_gb"))
            host = cache.host(names, gpus=asks_gpus)
            kwargs = dict(marker.kwargs)
            if lifted and kwargs.get("versions"):
                kwargs["versions"] = {n: s for n, s in kwargs["versions"].items() if canonical_name(n) not in lifted}
            found = unmet(host, **kwargs)
        except (TypeError, NeedsError) as exc:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.needs{call_text(marker)} (from marker): {exc}")
        missing.extend(m for m in found if m not in missing)
    return missing


def _not_applicable(item: pytest.Item, config: pytest.Config, cache: HostCache) -> str | None:
    """Why the case's claim cannot be shown here, as its record's `applies_when` says; None when it can."""
    marker = incident_of(item)
    if marker is None:
        return None
    if marker[0] not in cache.records:
        cache.records[marker[0]] = _record(config, marker[0])
    record = cache.records[marker[0]]
    name = getattr(item, "originalname", item.name)
    entry = next((c for c in record.regression.cases if c.name == name), None) if record is not None else None
    if entry is None or entry.applies_when is None:
        return None
    from incidentkb.verdict.judge import unmet_applicability

    applies = entry.applies_when
    host = cache.host(tuple(applies.versions), gpus=bool(applies.gpus) or applies.hardware)
    missing = unmet_applicability(applies, host.gpu_count, host.packages, host.gpus)
    return f"{NOT_APPLICABLE}{applies.why} (needs {'; '.join(missing)})" if missing else None


def _record(config: pytest.Config, incident_id: str) -> Incident | None:
    """The record, or None when it cannot be read (the `incident_record` fixture then says why, in the case)."""
    from incidentkb.records.reader import RecordError, load_record

    path = config.rootpath / config.getini("incidentkb_incidents") / f"{incident_id}.yaml"
    try:
        return load_record(path) if path.is_file() else None
    except RecordError:
        return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    cache = config.stash[_HOST]
    # A bisection runs the case on candidate versions of one package, outside the versions its claim names.
    lifted = frozenset(canonical_name(n) for n in config.getoption("incidentkb_any_version", None) or ())
    for item in items:
        reason = _not_applicable(item, config, cache) if item.get_closest_marker("incident") else None
        if reason is None and item.get_closest_marker("needs") is not None:
            missing = _unmet_needs(item, cache, lifted)
            reason = skip_reason(missing) if missing else None
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
