"""A real bisection, offline: five handmade wheels of a toy package, one of which changes what a case sees.

Each step builds a real environment (uv, from the wheel folder only: `--no-index --find-links`) and runs the
toy case in real pytest processes with the incidentkb plugin, twice; the toy case's `needs` pins the version
its claim is about, which the bisection lifts. Nothing is mocked but the package index (a folder).
"""

from __future__ import annotations

import base64
import hashlib
import json
import site
import sys
import zipfile
from pathlib import Path

import pytest

from incidentkb.matrix import bisect_run, envs
from incidentkb.matrix.axes import load_matrix
from incidentkb.matrix.bisect import BisectError
from incidentkb.matrix.cell_run import find_uv

SRC = Path(__file__).resolve().parents[1] / "src"

CASE = '''
import pytest
import toy_pkg

@pytest.mark.incident("toy-incident", "symptom")
@pytest.mark.needs(versions={"toy-pkg": "==1.0"})
def test_symptom_old_answer():
    assert toy_pkg.answer() == 1, "the answer changed"
'''

MATRIX = '''
[[torch]]
id = "installed"
why = "the test's own Python"
[[stack]]
id = "toy"
why = "the toy package"
packages = ["toy-pkg==1.0"]
[[gpus]]
count = 0
why = "CPU"
'''


def handmade_wheel(folder: Path, version: str, answer: int) -> None:
    """A minimal, valid wheel of `toy_pkg` whose `answer()` returns `answer`."""
    dist = f"toy_pkg-{version}.dist-info"
    files = {
        "toy_pkg/__init__.py": f"def answer():\n    return {answer}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: toy-pkg\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: handmade\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},{len(text)}"
              for name, text in files.items()]
    files[f"{dist}/RECORD"] = "\n".join(record + [f"{dist}/RECORD,,"]) + "\n"
    with zipfile.ZipFile(folder / f"toy_pkg-{version}-py3-none-any.whl", "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)


@pytest.fixture
def toy_project(tmp_path: Path) -> tuple[Path, Path]:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for minor in range(5):  # 1.0 .. 1.4; the answer changes in 1.3
        handmade_wheel(wheels, f"1.{minor}", 1 if minor < 3 else 2)
    project = tmp_path / "project"
    (project / "regressions").mkdir(parents=True)
    (project / "regressions" / "test_toy.py").write_text(CASE, encoding="utf-8")
    (project / "regressions" / "matrix.toml").write_text(MATRIX, encoding="utf-8")
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return project, wheels


@pytest.fixture(scope="module")
def host_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, ...]:
    """This Python's packages without torch and its companions, which each run's report would otherwise import
    (about 10 s a run on a busy machine): the toy case needs pytest and the plugin, from this tree."""
    folder = tmp_path_factory.mktemp("host-site")
    heavy = ("torch", "nvidia", "triton", "functorch", "torchgen")
    for source in site.getsitepackages():
        for entry in Path(source).iterdir():
            if not entry.name.lower().startswith(heavy) and not (folder / entry.name).exists():
                (folder / entry.name).symlink_to(entry)
    return (str(SRC), str(folder))


def bisection(project: Path, wheels: Path, versions: tuple[str, ...], host_site: tuple[str, ...], runs: int = 2) -> tuple[str, Path]:
    matrix = load_matrix(project / "regressions" / "matrix.toml")
    plan = bisect_run.Bisection(
        incident="toy-incident", cases=(("test_symptom_old_answer", "symptom"),), path="regressions/test_toy.py",
        package="toy-pkg", versions=versions, cell=matrix.cells()[0], runs=runs, target="toy-incident",
        options=("--offline", f"--find-links {wheels}"),
    )
    # The environment sees this Python's packages (pytest, the plugin from this tree) and installs the toy only.
    base = envs.EnvSpec(name="toy", backend="uv", interpreter=sys.executable, installer="", host_site=host_site,
                        requirements=("toy-pkg==1.0",), find_links=(str(wheels),), no_index=True)
    import subprocess

    return bisect_run.run_bisection(plan, matrix, base, project, {},
                                    run=lambda command: subprocess.run(command, check=True, capture_output=True),
                                    log=lambda line: None)


@pytest.mark.skipif(find_uv() is None, reason="needs uv (in the test extra)")
def test_a_real_offline_bisection_finds_the_release_and_writes_its_results(
    toy_project: tuple[Path, Path], host_site: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, wheels = toy_project
    monkeypatch.delenv("INCIDENTKB_RESULTS", raising=False)
    line, path = bisection(project, wheels, ("1.0", "1.1", "1.2", "1.3", "1.4"), host_site)

    assert line == (
        "toy-incident: last 'reproduces': toy-pkg 1.2 (`nox -s bisect -- toy-incident --package toy-pkg --good 1.2 --bad 1.2 "
        f"--offline --find-links {wheels}`); first 'no longer reproduces': toy-pkg 1.3 (`nox -s bisect -- toy-incident "
        f"--package toy-pkg --good 1.3 --bad 1.3 --offline --find-links {wheels}`) (one change assumed: the 4 "
        "versions run agree with it)"
    )
    assert path.parent == project / "regressions" / "results" / "bisect"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["kind"] == "bisection"
    assert [(s["version"], s["side"]) for s in data["steps"]] == [("1.0", "old"), ("1.4", "new"), ("1.2", "old"), ("1.3", "new")]
    assert all(len(s["outcomes"]) == 2 for s in data["steps"])
    assert data["steps"][0]["environment"]["packages"]["toy-pkg"] == "1.0"
    assert data["finding"]["last_old"] == "1.2" and data["finding"]["first_new"] == "1.3"

    # the same versions again reuse their environments (the cache is keyed by the step's spec), and a range
    # whose ends agree is one clear error
    _, again = bisection(project, wheels, ("1.3",), host_site, runs=1)
    assert [s["environment"]["reused"] for s in json.loads(again.read_text(encoding="utf-8"))["steps"]] == [True]
    with pytest.raises(BisectError) as caught:
        bisection(project, wheels, ("1.3", "1.4"), host_site, runs=1)
    assert str(caught.value).startswith("toy-pkg 1.3 and 1.4 give the same outcome (no longer reproduces): the range has "
                                        "no change in it; widen it or check the case (the steps so far: ")
    stopped = json.loads(Path(str(caught.value).rsplit("(the steps so far: ", 1)[1][:-1]).read_text(encoding="utf-8"))
    assert stopped["finding"]["stopped"] and [s["version"] for s in stopped["steps"]] == ["1.3", "1.4"]


@pytest.mark.skipif(find_uv() is None, reason="needs uv (in the test extra)")
def test_a_step_that_cannot_be_installed_is_skipped_and_written_down(
    toy_project: tuple[Path, Path], host_site: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No wheel of 1.25 exists: its step is skipped (as `git bisect skip`), never taken for either side."""
    project, wheels = toy_project
    monkeypatch.delenv("INCIDENTKB_RESULTS", raising=False)
    line, path = bisection(project, wheels, ("1.0", "1.2", "1.25", "1.3", "1.4"), host_site, runs=1)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [(s["version"], s["side"]) for s in data["steps"]] == [
        ("1.0", "old"), ("1.4", "new"), ("1.25", "skip"), ("1.2", "old"), ("1.3", "new")]
    assert data["steps"][2]["why"].startswith("install failed: toy-pkg 1.25 cannot be installed")
    assert not data["finding"]["exact"] and data["finding"]["skipped_between"] == {"1.25": "install failed"}
    assert "said nothing in between: 1.25 (install failed)" in line
