"""Bisection planning: the candidates from an index's releases, the search, flaky steps, endpoints and the final line."""

from __future__ import annotations

import pytest

from incidentkb.matrix.bisect import (
    BisectError,
    Release,
    Search,
    candidates,
    endpoints_from_results,
    final_line,
    reproduce_command,
    skipped,
    step_outcome,
)
from incidentkb.matrix.package_index import from_folders, from_pypi_json

TRANSFORMERS = [Release(v) for v in ("4.44.2", "4.45.0", "4.45.1", "4.45.2", "4.46.0rc1", "4.46.0", "4.46.1",
                                     "4.46.2", "4.46.3", "4.47.0")]


@pytest.mark.parametrize(
    ("releases", "good", "bad", "pre", "expected"),
    [
        (TRANSFORMERS, "4.45.0", "4.46.3", False, ["4.45.0", "4.45.1", "4.45.2", "4.46.0", "4.46.1", "4.46.2", "4.46.3"]),
        (TRANSFORMERS, "4.45.0", "4.46.0", True, ["4.45.0", "4.45.1", "4.45.2", "4.46.0rc1", "4.46.0"]),
        # a fix that went away: the good end is the newer one, and the list runs from it
        (TRANSFORMERS, "4.46.1", "4.45.2", False, ["4.46.1", "4.46.0", "4.45.2"]),
        # yanked releases are skipped, but an end the user named is kept
        ([Release("1.0"), Release("1.1", yanked=True), Release("1.2"), Release("1.3", yanked=True)], "1.0", "1.3", False,
         ["1.0", "1.2", "1.3"]),
        # a pre-release the user named is an end even without --pre
        (TRANSFORMERS, "4.45.2", "4.46.0rc1", False, ["4.45.2", "4.46.0rc1"]),
        (TRANSFORMERS, "4.46.3", "4.46.3", False, ["4.46.3"]),
        ([Release("1.0"), Release("junk version"), Release("1.1")], "1.0", "1.1", False, ["1.0", "1.1"]),
    ],
)
def test_candidates(releases: list[Release], good: str, bad: str, pre: bool, expected: list[str]) -> None:
    assert candidates(releases, "transformers", good=good, bad=bad, pre=pre) == expected


@pytest.mark.parametrize(
    ("good", "bad", "message"),
    [
        ("4.45.9", "4.46.3", "transformers 4.45.9 is not a release on the index; the nearest are 4.45.2 and 4.46.0rc1"),
        ("4.45.0", "banana", "transformers 'banana' is not a version; write e.g. --good 4.45.0"),
    ],
)
def test_candidates_refuse_versions_that_do_not_exist(good: str, bad: str, message: str) -> None:
    with pytest.raises(BisectError) as caught:
        candidates(TRANSFORMERS, "transformers", good=good, bad=bad)
    assert str(caught.value) == message


OLD, NEW, OTHER = (step_outcome({"test_symptom": w}) for w in ("no longer reproduces", "reproduces", "changed"))


def search(versions: list[str], truth: dict[str, object]) -> tuple[Search, list[str]]:
    """Run the search against a table of what each version gives (a list: its runs disagree); the versions run."""
    state, ran = Search("pkg", versions), []
    while (index := state.next_index()) is not None:
        ran.append(versions[index])
        outcome = truth[versions[index]]
        state.record(index, outcome if isinstance(outcome, list) else [outcome, outcome])
    return state, ran


VERSIONS = [f"1.{i}" for i in range(25)]


@pytest.mark.parametrize("first_new", [1, 2, 12, 13, 23, 24])
def test_search_finds_the_first_new_version_in_log2_steps(first_new: int) -> None:
    truth = {v: OLD if i < first_new else NEW for i, v in enumerate(VERSIONS)}
    state, ran = search(VERSIONS, truth)
    finding = state.finding()
    assert (finding.last_old, finding.first_new) == (VERSIONS[first_new - 1], VERSIONS[first_new])
    assert finding.exact and finding.old == OLD and finding.new == NEW
    assert len(ran) <= 2 + 5  # both ends, then ceil(log2(23)) at most
    assert ran[:2] == ["1.0", "1.24"]


def test_two_changes_between_the_ends_are_reported_as_seen_not_as_one_release() -> None:
    """The search assumes one change; a third outcome between the ends breaks it, and the line says what ran."""
    truth = {v: OLD if i < 7 else OTHER if i < 15 else NEW for i, v in enumerate(VERSIONS)}
    finding = search(VERSIONS, truth)[0].finding()
    assert not finding.one_change and not finding.exact
    line = final_line(finding, "t")
    assert line.startswith("t: the outcome changed more than once between the ends, so no one pkg release changed it "
                           "(the search assumes one change): 1.0 no longer reproduces, ")
    assert "changed" in line and line.endswith("1.24 reproduces")


@pytest.mark.parametrize("word", ["crashed", "timed out", "not run", "not applicable", "environment fault"])
def test_a_step_that_says_nothing_is_skipped_like_git_bisect_skip(word: str) -> None:
    truth: dict[str, object] = {v: OLD if i < 10 else NEW for i, v in enumerate(VERSIONS)}
    truth["1.12"] = step_outcome({"test_symptom": word})  # the first midpoint
    state, ran = search(VERSIONS, truth)
    finding = state.finding()
    assert "1.12" in ran and state.skips == {12: word}
    assert (finding.last_old, finding.first_new, finding.exact) == ("1.9", "1.10", True)


def test_skipped_steps_at_the_change_leave_a_window_that_names_them() -> None:
    truth: dict[str, object] = {v: OLD if i < 10 else NEW for i, v in enumerate(VERSIONS)}
    truth["1.10"] = step_outcome({"test_symptom": "crashed"})
    state, _ = search(VERSIONS, truth)
    state.skip(11, "install failed: the cell's trl pin dropped, still no resolution")
    finding = state.finding()
    assert (finding.last_old, finding.first_new, finding.skipped[0]) == ("1.9", finding.first_new, ("1.10", "crashed"))
    assert not finding.exact and "said nothing in between: 1.10 (crashed)" in final_line(finding, "t")


def test_an_end_that_says_nothing_leaves_nothing_to_search() -> None:
    with pytest.raises(BisectError, match=r"^pkg 1.0: an end of the range says nothing about the case \(crashed\)"):
        search(["1.0", "1.1", "1.2"], {"1.0": step_outcome({"test_symptom": "crashed"}), "1.1": OLD, "1.2": NEW})


def test_a_flaky_step_is_skipped_around() -> None:
    truth: dict[str, object] = {v: OLD if i < 10 else NEW for i, v in enumerate(VERSIONS)}
    truth["1.12"] = [OLD, NEW]  # the first midpoint: its runs disagree
    state, ran = search(VERSIONS, truth)
    assert "1.12" in ran and state.flaky == {12}
    finding = state.finding()
    assert (finding.last_old, finding.first_new, finding.flaky) == ("1.9", "1.10", ())


def test_flaky_steps_at_the_change_leave_a_window_not_a_guess() -> None:
    truth: dict[str, object] = {v: OLD if i < 10 else NEW for i, v in enumerate(VERSIONS)}
    truth["1.9"] = truth["1.10"] = [NEW, OLD]
    finding = search(VERSIONS, truth)[0].finding()
    assert (finding.last_old, finding.first_new, finding.flaky) == ("1.8", "1.11", ("1.9", "1.10"))
    assert not finding.exact
    line = final_line(finding, "inc::test_symptom", ["--torch 2.13.0"])
    assert line.startswith("inc::test_symptom: the change lies between last 'no longer reproduces': pkg 1.8 (")
    assert line.endswith("; said nothing in between: 1.9 (flaky), 1.10 (flaky)")


@pytest.mark.parametrize(
    ("truth", "message"),
    [
        ({"1.0": OLD, "1.1": OLD, "1.2": OLD},
         "pkg 1.0 and 1.2 give the same outcome (no longer reproduces): the range has no change in it; widen it or check the case"),
        ({"1.0": [OLD, NEW], "1.1": OLD, "1.2": NEW},
         "pkg 1.0: the runs of an end of the range disagree (no longer reproduces / reproduces); the case is flaky there, so "
         "there is nothing to search from; choose another --good/--bad or make the case deterministic"),
    ],
)
def test_search_errors(truth: dict[str, object], message: str) -> None:
    with pytest.raises(BisectError) as caught:
        search(["1.0", "1.1", "1.2"], truth)
    assert str(caught.value) == message


def test_one_version_is_one_step() -> None:
    state, ran = search(["1.3"], {"1.3": NEW})
    assert ran == ["1.3"] and state.finding().last_old == "1.3"


def test_final_line_names_both_versions_and_their_commands() -> None:
    truth = {v: OLD if i < 3 else NEW for i, v in enumerate(["4.45.0", "4.45.1", "4.45.2", "4.46.0", "4.46.3"])}
    finding = search(list(truth), truth)[0].finding()
    assert final_line(finding, "orpo::test_symptom", ["--torch 2.13.0", "--stack 4.46.3"]) == (
        "orpo::test_symptom: last 'no longer reproduces': pkg 4.45.2 "
        "(`nox -s bisect -- orpo::test_symptom --package pkg --good 4.45.2 --bad 4.45.2 --torch 2.13.0 --stack 4.46.3`); "
        "first 'reproduces': pkg 4.46.0 "
        "(`nox -s bisect -- orpo::test_symptom --package pkg --good 4.46.0 --bad 4.46.0 --torch 2.13.0 --stack 4.46.3`) "
        "(one change assumed: the 4 versions run agree with it)"
    )
    assert reproduce_command("i", "trl", "0.12.0") == "nox -s bisect -- i --package trl --good 0.12.0 --bad 0.12.0"


PINS_OLD = {"torch": "2.13.0", "transformers": "4.45.0", "trl": "0.11.4", "gpus": "0"}
PINS_NEW = {**PINS_OLD, "transformers": "4.46.3"}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([("torch=2.13.0 stack=4.46.3 gpus=0", PINS_NEW, {"t": "reproduces"}),
          ("torch=2.13.0 stack=4.45.0 gpus=0", PINS_OLD, {"t": "no longer reproduces"})],
         ("4.45.0", "4.46.3", "torch=2.13.0 stack=4.46.3 gpus=0")),
        # differing in trl too: not a pair for transformers; the third row pairs with the first
        ([("a", PINS_NEW, {"t": "reproduces"}), ("b", {**PINS_OLD, "trl": "0.12.0"}, {"t": "no longer reproduces"}),
          ("c", PINS_OLD, {"t": "changed"})],
         ("4.45.0", "4.46.3", "a")),
    ],
)
def test_endpoints_from_results(rows: list, expected: tuple[str, str, str]) -> None:
    assert endpoints_from_results(rows, "transformers") == expected


@pytest.mark.parametrize(
    "rows",
    [
        [("a", PINS_NEW, {"t": "reproduces"}), ("b", PINS_OLD, {"t": "reproduces"})],  # same outcome
        [("a", PINS_NEW, {"t": "reproduces"}), ("b", {**PINS_OLD, "gpus": "2"}, {"t": "holds"})],  # GPUs differ
        [("a", PINS_NEW, {}), ("b", PINS_OLD, {})],  # the case ran in neither
    ],
)
def test_no_endpoints_without_two_cells_that_differ_only_in_the_package(rows: list) -> None:
    with pytest.raises(BisectError, match="no two cells of the committed results differ only in transformers's version"):
        endpoints_from_results(rows, "transformers")


def test_index_answers_and_folders() -> None:
    answer = {"releases": {
        "0.11.4": [{"yanked": False, "upload_time_iso_8601": "2024-10-15T10:00:00Z"}],
        "0.12.0": [{"yanked": True}, {"yanked": True}],
        "0.12.1": [{"yanked": True}, {"yanked": False}],
        "0.13.0": [],
    }}
    assert from_pypi_json(answer, "trl") == [
        Release("0.11.4", date="2024-10-15"), Release("0.12.0", yanked=True), Release("0.12.1")]


def test_local_folders_are_read_by_file_name(tmp_path) -> None:
    for name in ("toy_pkg-1.0-py3-none-any.whl", "toy_pkg-1.1-py3-none-any.whl", "other-2.0-py3-none-any.whl",
                 "Toy-Pkg-1.2.tar.gz"):
        (tmp_path / name).write_text("")
    assert from_folders([tmp_path], "toy-pkg") == [Release("1.0"), Release("1.1"), Release("1.2")]


def test_releases_left_out_are_named_when_the_change_lies_across_them() -> None:
    releases = TRANSFORMERS[:5] + [Release("4.46.0", yanked=True)] + TRANSFORMERS[6:]
    assert skipped(releases, good="4.45.0", bad="4.46.3") == {"4.46.0rc1": "pre-release", "4.46.0": "yanked"}
    versions = candidates(releases, "transformers", good="4.45.0", bad="4.46.3")
    truth = {v: OLD if v < "4.46" else NEW for v in versions}
    finding = search(versions, truth)[0].finding()
    line = final_line(finding, "t", (), skipped(releases, good="4.45.0", bad="4.46.3"))
    assert line.endswith("--good 4.46.1 --bad 4.46.1`) (one change assumed: the 4 versions run agree with it); "
                         "not tried in between: 4.46.0rc1 (pre-release), 4.46.0 (yanked)")
