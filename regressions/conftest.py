"""Shared setup of the regressions: importable helper packages, fixed seeds, a default time limit, one CPU thread."""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Seconds a case may run before pytest-timeout stops it (a case's own `timeout` marker wins). CPU cases take
#: seconds; the margin is for a first CUDA initialisation and for multi-process GPU cases.
DEFAULT_TIMEOUT_S = 300

# The helper packages (stylegan/, sft_batch/) sit beside the tests; made importable whatever --import-mode is.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("timeout"):
        return
    if config.getoption("timeout", None) is not None or config.getini("timeout"):
        return  # the user chose a limit for this run
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT_S))


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Every case starts from the same seeds, so a measured number is the same on a rerun."""
    random.seed(0)
    torch = sys.modules.get("torch")  # seeded only where a case uses it; importing it here would cost every case
    if torch is not None:
        torch.manual_seed(0)


@pytest.fixture
def single_cpu_thread() -> Iterator[None]:
    """Run torch's CPU kernels on one thread for the case.

    The models here are tiny: extra threads buy nothing, and on a busy machine their spin-waits made a forward
    ten times slower (measured on 2 shared cores), which would blur durations and time limits.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
