"""What `-k` deselects, as the plan can tell before building a cell's environment (and as pytest itself decides)."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentkb.matrix.planning import Target
from incidentkb.matrix.selection import case_names, every_case_deselected, keyword_expression, may_select

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent

REGRESSION = '''
import pytest

pytestmark = [pytest.mark.needs(packages=("tinyaug",))]


@pytest.mark.incident("2026-01-10-tinyaug", "symptom")
def test_symptom_scale_drops_a_value():
    pass


class TestFixes:
    @pytest.mark.incident("2026-01-10-tinyaug", "fix")
    def test_fix_scale_by_hand(self):
        pass
'''


@pytest.mark.parametrize(
    ("posargs", "expression"),
    [
        (["-k", "greedy"], "greedy"),
        (["-x", "-kgreedy", "-rA"], "greedy"),
        (["-k=greedy"], "greedy"),
        (["-k", "a", "-k", "b"], "b"),  # the last -k wins, as in pytest
        ([], None),
        (["-x"], None),
        (["-k", "greedy", "regressions/test_x.py::test_y"], None),  # a node adds cases: pytest's to say
        (["--timeout", "30", "-k", "greedy"], None),  # an option's value: cannot tell which
        (["--timeout=30", "-k", "greedy"], None),
    ],
)
def test_the_k_expression_is_read_only_where_it_alone_decides(posargs: list[str], expression: str | None) -> None:
    assert keyword_expression(posargs) == expression


NAMES = {"regressions", "test_aug.py", "test_symptom_mask_unchanged", "incident", "needs"}


@pytest.mark.parametrize(
    ("expression", "open_ended", "selects"),
    [
        ("greedy", False, False),
        ("mask", False, True),
        ("MASK", False, True),  # case-insensitive, as pytest
        ("not greedy", False, True),
        ("greedy or symptom", False, True),
        ("greedy and symptom", False, False),
        ("test_aug.py", False, True),
        ("incident", False, True),  # a mark's name is a keyword
        ("timeout", False, True),  # a mark the conftest may add: unknown, so it may select
        ("not timeout", False, True),
        ("greedy", True, True),  # a parametrized case's ids may hold it
        ("not symptom", True, False),  # ... but no id can un-match a name the case surely has
        ("a and (", False, None),  # pytest refuses it: the plan cannot tell
    ],
)
def test_an_expression_selects_a_case_unless_nothing_unseen_could_make_it(expression, open_ended, selects) -> None:
    assert may_select(expression, NAMES, open_ended) is selects


def test_the_names_come_from_the_file_without_importing_it(tmp_path: Path) -> None:
    (tmp_path / "regressions").mkdir()
    (tmp_path / "regressions" / "test_aug.py").write_text("raise SystemExit('never imported')\n" + REGRESSION)
    names, open_ended = case_names(tmp_path, "regressions/test_aug.py", "test_fix_scale_by_hand")
    assert names == {"regressions", "test_aug.py", "TestFixes", "test_fix_scale_by_hand", "incident", "needs"}
    assert not open_ended
    assert case_names(tmp_path, "regressions/test_aug.py", "test_gone") is None


EXPRESSIONS = ["greedy", "scale", "not greedy", "Fixes", "symptom and not fix", "greedy or by_hand", "needs",
               "test_aug", "regressions", "incident and greedy", "not incident", "tinyaug"]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_what_the_plan_calls_deselected_pytest_deselects_too(pytester: pytest.Pytester, expression: str) -> None:
    """The plan's answer against pytest's own collection of the same file."""
    pytester.makeini("[pytest]\nmarkers =\n    incident: x\n    needs: x\n")
    (pytester.path / "regressions").mkdir()
    (pytester.path / "regressions" / "test_aug.py").write_text(REGRESSION)
    target = Target("2026-01-10-tinyaug", "regressions/test_aug.py", (), (
        ("test_symptom_scale_drops_a_value", "symptom"), ("test_fix_scale_by_hand", "fix")))
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:incidentkb", "-k", expression, "regressions")
    collected = [line for line in result.outlines if "::" in line]
    planned = every_case_deselected([target], ["-k", expression], pytester.path)
    assert planned == (not collected), (expression, collected)


def test_the_repositorys_albumentations_cells_need_no_environment_for_k_greedy() -> None:
    from incidentkb.matrix.planning import load_targets

    targets = {t.incident: t for t in load_targets(REPO)}
    augmentation = [targets["2025-05-24-augmentation-image-only-mask-unchanged"]]
    assert every_case_deselected(augmentation, ["-k", "greedy"], REPO)
    assert not every_case_deselected(augmentation, ["-k", "mask"], REPO)
    assert not every_case_deselected([targets["2025-03-15-llm-generate-greedy-same-answer"]], ["-k", "greedy"], REPO)
