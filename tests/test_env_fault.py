"""Environment faults: an import that fails is said as such, with what failed where, never as an outcome of the bug.

The exceptions here are real: a package written to a temporary folder whose module raises while it is imported,
imported for real, alone and behind a lazy-import wrapper of the kind transformers and trl use.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from incidentkb.match.signatures import ErrorInfo
from incidentkb.results.runs import Case
from incidentkb.verdict import env_fault
from incidentkb.verdict.judge import CellFacts, judge
from incidentkb.verdict.outcomes import OUTCOMES, Observed, Outcome, Role, decide


@pytest.fixture
def broken_package(tmp_path: Path) -> Iterator[str]:
    """`fakelib`, whose `fakelib.features` fails at import as datasets 2.14.4 does under a new pyarrow."""
    package = tmp_path / "fakelib"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "features.py").write_text("import json\nclass Ext(json.PyExtensionType):\n    pass\n")
    (package / "trainer.py").write_text("from fakelib import features\n")
    sys.path.insert(0, str(tmp_path))
    yield "fakelib"
    sys.path.remove(str(tmp_path))
    for name in [n for n in sys.modules if n.startswith("fakelib")]:
        del sys.modules[name]


def _raised(call: object) -> BaseException:
    try:
        call()  # type: ignore[operator]
    except Exception as exc:  # noqa: BLE001 - the test looks at what was raised
        return exc
    raise AssertionError("nothing was raised")


def test_an_attribute_error_while_importing_names_the_import_and_where(broken_package: str) -> None:
    exc = _raised(lambda: importlib.import_module("fakelib.trainer"))
    fault = env_fault.from_exception(exc)
    assert fault == env_fault.ImportFault("fakelib.trainer", "fakelib.features",
                                          "AttributeError: module 'json' has no attribute 'PyExtensionType'")
    assert fault.modules() == ["fakelib", "json"]
    assert fault.sentence({"fakelib": "2.14.4"}) == (
        "environment fault: cannot import fakelib.trainer: fakelib.features raised AttributeError: module 'json' has "
        "no attribute 'PyExtensionType' (installed: fakelib 2.14.4)")


def test_a_lazy_import_wrapper_is_seen_through(broken_package: str) -> None:
    def lazy() -> None:  # what transformers' and trl's _LazyModule do
        try:
            importlib.import_module("fakelib.trainer")
        except Exception as e:
            raise RuntimeError("Failed to import fakelib.trainer because of the following error (look up to see its "
                               f"traceback):\n{e}") from e
    fault = env_fault.from_exception(_raised(lazy))
    assert fault is not None and fault.requested == "fakelib.trainer" and fault.failed_in == "fakelib.features"


@pytest.mark.parametrize(
    ("raise_", "fault"),
    [
        (lambda: importlib.import_module("no_such_module_anywhere"),
         env_fault.ImportFault("no_such_module_anywhere", None, "ModuleNotFoundError: No module named 'no_such_module_anywhere'")),
        (lambda: {}["key"], None),  # a library's error at run time is the case's business
        (lambda: getattr(object(), "x"), None),
    ],
)
def test_what_is_and_is_not_an_import_fault(raise_: object, fault: env_fault.ImportFault | None) -> None:
    assert env_fault.from_exception(_raised(raise_)) == fault


def test_a_caught_error_is_judged_an_environment_fault_unless_it_is_the_symptom(broken_package: str) -> None:
    info = ErrorInfo.from_exception(_raised(lambda: importlib.import_module("fakelib.trainer")))
    case = {"nodeid": "r.py::test_fix_x", "role": "fix", "outcome": "BROKEN",
            "observation": {"error": info.to_dict(), "values": {}, "notes": []}}
    verdict = judge(Case.from_dict(case), None, CellFacts(0, {}))
    assert verdict.outcome is Outcome.env_fault and verdict.note.startswith(
        "environment fault: cannot import fakelib.trainer: fakelib.features raised AttributeError")
    wrapped = {**case, "observation": {"error": {"type": "builtins.RuntimeError", "frames": [], "message":
               "Failed to import trl.trainer.orpo_trainer because of the following error (look up to see its "
               "traceback):\nmodule 'pyarrow' has no attribute 'PyExtensionType'"}}}
    assert judge(Case.from_dict(wrapped), None, CellFacts(0, {})).note == (
        "environment fault: cannot import trl.trainer.orpo_trainer: module 'pyarrow' has no attribute 'PyExtensionType'")


def test_a_file_pytest_could_not_collect_for_an_import() -> None:
    output = ("_ ERROR collecting regressions/test_x.py _\nregressions/test_x.py:3: in <module>\n    import trl\n"
              "E   ModuleNotFoundError: No module named 'rich'\n")
    assert env_fault.from_collection(output, "regressions/test_x.py") == env_fault.ImportFault(
        "rich", None, "ModuleNotFoundError: No module named 'rich'")
    assert env_fault.from_collection("E   SyntaxError: invalid syntax\n", "regressions/test_x.py") is None


def test_the_installed_versions_are_read_back_from_the_detail() -> None:
    detail = "environment fault: cannot import trl: x raised AttributeError: y (installed: datasets 2.14.4, pyarrow 26.0.1)"
    assert env_fault.parse_installed(detail) == {"datasets": "2.14.4", "pyarrow": "26.0.1"}
    assert env_fault.parse_installed("crashed") == {}
    assert env_fault.installed_of(["pytest"]) == {"pytest": pytest.__version__}


def test_every_role_has_the_outcome_and_it_fails_the_run_as_no_outcome_of_the_bug() -> None:
    assert {decide(role, Observed.env_fault) for role in Role} == {Outcome.env_fault}
    assert OUTCOMES[Outcome.env_fault].fails_run and Outcome.env_fault.value == "environment fault"
