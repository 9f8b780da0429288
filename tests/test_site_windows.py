"""Version windows: a bisection's finding in words, for the incident page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from incidentkb.site.windows import load_windows, window_of


def bisection(good: str, bad: str, last_old: str, first_new: str, old: str, new: str, **extra: object) -> dict:
    return {"kind": "bisection", "incident": "inc", "package": "transformers", "cell": "torch=2.13.0 stack=4.46.3 gpus=0",
            "good": good, "bad": bad, "finished": "2026-12-03T10:00:00+00:00",
            "finding": {"last_old": last_old, "first_new": first_new, "old_outcome": old, "new_outcome": new,
                        "flaky_between": [], "exact": True}, **extra}


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (bisection("4.45.0", "4.46.3", "4.45.2", "4.46.1", "no longer reproduces", "reproduces",
                   not_tried={"4.46.0": "yanked"}, cases=[{"name": "test_symptom", "role": "symptom"}]),
         "The symptom no longer reproduces with transformers 4.45.0 to 4.45.2; reproduces from 4.46.1 (tested up to 4.46.3); "
         "not tried in between: 4.46.0 (yanked)"),
        (bisection("0.11.4", "0.17.0", "0.11.4", "0.12.0", "reproduces", "no longer reproduces"),
         "reproduces with transformers 0.11.4; no longer reproduces from 0.12.0 (tested up to 0.17.0)"),
        # the good end is the newer release: the words still run from old to new versions
        (bisection("2.0", "1.0", "1.6", "1.5", "holds", "BROKEN"), "BROKEN with transformers 1.0 to 1.5; holds from 1.6 (tested up to 2.0)"),
    ],
)
def test_window_words(data: dict, text: str) -> None:
    window = window_of(data, "regressions/results/bisect/x.json")
    assert window is not None and window.text == text


def test_a_single_version_run_shows_no_window() -> None:
    assert window_of(bisection("1.0", "1.0", "1.0", "1.0", "holds", "holds"), "x") is None


def test_windows_are_read_from_the_bisect_folder_only(tmp_path: Path) -> None:
    (tmp_path / "bisect").mkdir()
    data = bisection("0.11.4", "0.17.0", "0.11.4", "0.12.0", "reproduces", "no longer reproduces")
    (tmp_path / "bisect" / "a.json").write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "bisect" / "broken.json").write_text("{", encoding="utf-8")
    (tmp_path / "cell.json").write_text(json.dumps(data), encoding="utf-8")  # not a bisection's place
    windows = load_windows(tmp_path)
    assert [w.source for w in windows["inc"]] == ["regressions/results/bisect/a.json"]


def test_the_same_bisection_run_again_shows_once_the_newest(tmp_path: Path) -> None:
    (tmp_path / "bisect").mkdir()
    for name, finished in (("old.json", "2026-12-01T10:00:00+00:00"), ("new.json", "2026-12-02T10:00:00+00:00")):
        data = {**bisection("0.11.4", "0.17.0", "0.11.4", "0.12.0", "reproduces", "no longer reproduces"), "finished": finished}
        (tmp_path / "bisect" / name).write_text(json.dumps(data), encoding="utf-8")
    assert [w.source for w in load_windows(tmp_path)["inc"]] == ["regressions/results/bisect/new.json"]
