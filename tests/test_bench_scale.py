"""bench/scale.py: it measures a process's own peak memory, and rewrites only its own block of its page."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest
from repo_samples import load_bench


@pytest.fixture(scope="module")
def scale() -> ModuleType:
    return load_bench("scale")


def test_measure_takes_the_peak_memory_of_that_process_alone(scale: ModuleType, tmp_path: Path) -> None:
    ballast = bytearray(300_000_000)  # a big benchmark process must not count for the small one it starts
    big = scale.measure([sys.executable, "-c", "x = bytearray(200_000_000); print('done')"], tmp_path)
    small = scale.measure([sys.executable, "-c", "print('done')"], tmp_path)
    assert (big.returncode, big.output, small.output) == (0, "done\n", "done\n")
    assert big.peak_mb > 200 > 50 > small.peak_mb
    assert len(ballast) == 300_000_000


@pytest.mark.parametrize(("before", "after"), [
    (None, "{intro}{start}\n\nNEW\n\n{end}\n"),
    ("# Mine\n\nkept\n\n{start}\n\nOLD\n\n{end}\n\nkept too\n", "# Mine\n\nkept\n\n{start}\n\nNEW\n\n{end}\n\nkept too\n"),
    ("# Mine\n\nno markers yet\n", "# Mine\n\nno markers yet\n\n{start}\n\nNEW\n\n{end}\n"),
])
def test_write_page_rewrites_only_its_block(scale: ModuleType, tmp_path: Path, before: str | None, after: str) -> None:
    page = tmp_path / "docs" / "performance.md"
    marks = {"intro": scale.INTRO, "start": scale.START, "end": scale.END}
    if before is not None:
        page.parent.mkdir()
        page.write_text(before.format(**marks), encoding="utf-8")
    scale.write_page("NEW", page)
    assert page.read_text(encoding="utf-8") == after.format(**marks)
