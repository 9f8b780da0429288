"""Crashes under pytest-xdist: a worker that dies does not take the case it died on to the next worker."""

from __future__ import annotations

from typing import Any

import pytest

__all__: list[str] = []


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """In a run that writes a report, a worker that dies does not take the case it died on to the next worker.

    pytest-xdist 3.8's file/scope schedulers put the case a worker crashed on back in the queue with the rest of
    its file (pytest-xdist PR #1371, open): a case that segfaults kills every replacement worker in turn, until
    `--max-worker-restart` is spent and the rest of the file never runs. Its `load` scheduler drops the case;
    this does the same for `loadfile`, `loadscope` and `loadgroup`, whose crash report then marks it crashed.
    """
    dist = config.getvalue("dist")
    if not config.getoption("incidentkb_report", None) or dist not in ("loadfile", "loadscope", "loadgroup"):
        return None
    from xdist.scheduler import (
        LoadFileScheduling,
        LoadGroupScheduling,
        LoadScopeScheduling,
    )

    base = {"loadfile": LoadFileScheduling, "loadscope": LoadScopeScheduling, "loadgroup": LoadGroupScheduling}[dist]

    class _DropCrashed(base):  # type: ignore[misc, valid-type]
        def remove_node(self, node: Any) -> str | None:
            crashed = next((nodeid for unit in self.assigned_work.get(node, {}).values()
                            for nodeid, done in unit.items() if not done), None)
            if crashed is None:
                return super().remove_node(node)  # type: ignore[no-any-return]
            for unit in self.assigned_work[node].values():
                if crashed in unit:
                    unit[crashed] = True  # done: the rest of its unit goes back to the queue without it
            super().remove_node(node)
            return crashed

    return _DropCrashed(config, log)
