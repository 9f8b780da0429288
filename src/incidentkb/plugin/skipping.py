"""Skipping a case whose `needs` the host does not meet, with a reason that lists every unmet condition."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from incidentkb.plugin.markers import call_text
from incidentkb.plugin.needs import Host, NeedsError, probe, skip_reason, unmet

__all__ = ["HostCache"]

_HOST = pytest.StashKey["HostCache"]()


@dataclass
class HostCache:
    """The host's facts, probed once per run and again only when a marker asks about more than was probed."""

    _host: Host | None = None
    _asked: frozenset[str] = frozenset()
    _gpus_probed: bool = False

    def host(self, packages: tuple[str, ...], *, gpus: bool) -> Host:
        if self._host is None or not set(packages) <= self._asked or gpus and not self._gpus_probed:
            self._asked = self._asked | set(packages)
            self._gpus_probed = self._gpus_probed or gpus
            self._host = probe(sorted(self._asked), gpus=self._gpus_probed)
        return self._host


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_HOST] = HostCache()


def _unmet_needs(item: pytest.Item, cache: HostCache) -> list[str]:
    missing: list[str] = []
    for marker in item.iter_markers("needs"):
        try:
            if marker.args:
                raise TypeError("needs takes keyword arguments only")
            names = tuple(marker.kwargs.get("packages", ())) + tuple(marker.kwargs.get("versions") or ())
            # Counting GPUs imports torch: done only for a marker that asks about GPUs or CUDA.
            host = cache.host(names, gpus=bool(marker.kwargs.get("gpus") or marker.kwargs.get("cuda")))
            found = unmet(host, **marker.kwargs)
        except (TypeError, NeedsError) as exc:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.needs{call_text(marker)} (from marker): {exc}")
        missing.extend(m for m in found if m not in missing)
    return missing


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    cache = config.stash[_HOST]
    for item in items:
        if item.get_closest_marker("needs") is None:
            continue
        missing = _unmet_needs(item, cache)
        if missing:
            item.add_marker(pytest.mark.skip(reason=skip_reason(missing)))
