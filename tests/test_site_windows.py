"""Version windows: a bisection's finding in words, for the incident page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from incidentkb.results.bisections import Bisection
from incidentkb.site.windows import load_windows, window_of


TRL = ["0.11.4", "0.12.0", "0.12.1", "0.12.2", "0.13.0", "0.14.0", "0.15.0", "0.15.1", "0.15.2", "0.16.0", "0.16.1",
       "0.17.0"]


def bisection(good: str, bad: str, last_old: str, first_new: str, old: str, new: str,
              finding_extra: dict | None = None, **extra: object) -> dict:
    return {"kind": "bisection", "incident": "inc", "package": "transformers", "cell": "torch=2.13.0 stack=4.46.3 gpus=0",
            "good": good, "bad": bad, "finished": "2026-12-03T10:00:00+00:00",
            "finding": {"last_old": last_old, "first_new": first_new, "old_outcome": old, "new_outcome": new,
                        "flaky_between": [], "exact": True, **(finding_extra or {})}, **extra}


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (bisection("4.45.0", "4.46.3", "4.45.2", "4.46.1", "no longer reproduces", "reproduces",
                   not_tried={"4.46.0": "yanked"}, cases=[{"name": "test_symptom", "role": "symptom"}]),
         "The symptom no longer reproduces with transformers 4.45.0 and 4.45.2; reproduces with 4.46.1 and 4.46.3; "
         "not tried in between: 4.46.0 (yanked)"),
        # Only the versions that ran are named, and how many candidates between them did not run.
        (bisection("0.11.4", "0.17.0", "0.11.4", "0.12.0", "reproduces", "no longer reproduces",
                   candidates=TRL, steps=[{"version": v, "side": s} for v, s in
                                          (("0.11.4", "old"), ("0.17.0", "new"), ("0.14.0", "new"), ("0.12.1", "new"),
                                           ("0.12.0", "new"), ("0.13.0", "skip"))]),
         "reproduces with transformers 0.11.4; no longer reproduces with 0.12.0, 0.12.1, 0.14.0 and 0.17.0 "
         "(7 releases between them not run)"),
        # the good end is the newer release: the words still run from old to new versions
        (bisection("2.0", "1.0", "1.6", "1.5", "holds", "BROKEN"), "BROKEN with transformers 1.0 and 1.5; holds with 1.6 and 2.0"),
        (bisection("1.0", "2.0", "1.5", "1.6", "holds", "BROKEN", finding_extra={"skipped_between": {"1.55": "crashed"}}),
         "holds with transformers 1.0 and 1.5; BROKEN with 1.6 and 2.0 (said nothing in between: 1.55 (crashed))"),
        (bisection("1.0", "2.0", "1.5", "1.6", "holds", "BROKEN", finding_extra={"one_change": False, "seen": [
            {"version": "1.0", "outcome": "holds"}, {"version": "1.5", "outcome": "crashed"}, {"version": "2.0", "outcome": "BROKEN"}]}),
         "changed more than once with transformers (no one release changed it): 1.0 holds, 1.5 crashed, 2.0 BROKEN"),
    ],
)
def test_window_words(data: dict, text: str) -> None:
    window = window_of(Bisection.from_dict(data, Path("x.json")), "regressions/results/bisect/x.json")
    assert window is not None and window.text == text


def test_a_single_version_run_shows_no_window() -> None:
    assert window_of(Bisection.from_dict(bisection("1.0", "1.0", "1.0", "1.0", "holds", "holds"), Path("x")), "x") is None


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
