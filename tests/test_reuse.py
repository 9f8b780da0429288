"""Fingerprints and reuse: each kind of change re-runs what it touches and nothing else; failures never stand.

Each test changes one input (a regression, a helper, the record's cases or its prose, incidentkb's code, the lock,
the torch build, the host) and asserts which incidents the decision runs; the policy's own rules (failures,
`--rerun`, incomplete runs, scratch folders) follow.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from incidentkb.matrix import fingerprint, locks, reuse
from incidentkb.matrix.axes import Cell
from incidentkb.matrix.fingerprint import Fingerprint
from incidentkb.matrix.hosts import HostFacts
from incidentkb.matrix.planning import Target
from incidentkb.matrix.results_files import SCHEMA, CellResult, write

REPO = Path(__file__).resolve().parents[1]
CELL = Cell("2.13.0", "4.51.3", 0)
A = Target("a", "regressions/test_a.py", ("torch",), (("test_symptom_a", "symptom"), ("test_fix_a", "fix")))
B = Target("b", "regressions/test_b.py", ("torch",), (("test_symptom_b", "symptom"),))


def _tree(root: Path) -> Path:
    """A regressions folder: two regressions, a helper package only `a` imports, a conftest."""
    (root / "regressions" / "helper").mkdir(parents=True)
    (root / "regressions" / "conftest.py").write_text("import pytest\n")
    (root / "regressions" / "helper" / "__init__.py").write_text("from helper.data import VALUE\n")
    (root / "regressions" / "helper" / "data.py").write_text("VALUE = 1\n")
    (root / "regressions" / "helper" / "table.csv").write_text("x,1\n")
    (root / "regressions" / "test_a.py").write_text("from helper import VALUE\n\ndef test_symptom_a(): pass\ndef test_fix_a(): pass\n")
    (root / "regressions" / "test_b.py").write_text("import math\n\ndef test_symptom_b(): pass\n")
    return root


SECTIONS = {"regression": {"cases": [{"name": "test_symptom_a", "role": "symptom"}]}, "symptom": {"error": "E"}}


def _prints(root: Path, sections_a: dict = SECTIONS, lock: str = "L", torch: str = "2.13.0+cpu",
            host: str = "2 x AMD EPYC, x86_64", code: str = "C") -> dict[str, Fingerprint]:
    return {
        target.incident: Fingerprint(fingerprint.regression_hash(root, target.path, sections_a if target is A else SECTIONS),
                                     code, lock, torch, host)
        for target in (A, B)
    }


def _source(fp: Fingerprint, *, failed: bool = False, functions: tuple[str, ...] = ("test_symptom_a", "test_fix_a", "test_symptom_b"),
            finished: str = "2026-12-01T10:00:00+00:00") -> reuse.Source:
    return reuse.Source("20261201T100000Z_x.json", finished, fp, frozenset(functions), failed)


def _decide(now: dict[str, Fingerprint], stored: dict[str, Fingerprint], rerun: frozenset[str] = frozenset(),
            **source: object) -> reuse.Decision:
    sources = {(str(CELL), incident): [_source(fp, **source)] for incident, fp in stored.items()}  # type: ignore[arg-type]
    return reuse.decide(CELL, (A, B), now, sources, rerun)


def _ran(decision: reuse.Decision) -> list[str]:
    return [t.incident for t in decision.run]


def test_nothing_changed_runs_nothing_and_says_where_each_verdict_comes_from(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    decision = _decide(_prints(root), _prints(root))
    assert _ran(decision) == []
    assert decision.reused["a"].line() == "reused: 20261201T100000Z_x.json, run 2026-12-01"


@pytest.mark.parametrize("edit", ["regressions/test_a.py", "regressions/helper/data.py", "regressions/helper/table.csv"])
def test_editing_a_regression_or_its_helpers_reruns_that_incident_only(tmp_path: Path, edit: str) -> None:
    root = _tree(tmp_path)
    stored = _prints(root)
    (root / edit).write_text((root / edit).read_text() + "# edited\n")
    decision = _decide(_prints(root), stored)
    assert _ran(decision) == ["a"]
    assert decision.reasons["a"].startswith("regression changed since")


def test_the_conftest_is_every_regressions_input(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    stored = _prints(root)
    (root / "regressions" / "conftest.py").write_text("import pytest\nimport os\n")
    assert _ran(_decide(_prints(root), stored)) == ["a", "b"]


def test_editing_the_records_cases_reruns_it_and_its_prose_does_not(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    stored = _prints(root)
    more_cases = {**SECTIONS, "regression": {"cases": [{"name": "test_symptom_a", "role": "symptom"},
                                                        {"name": "test_fix_a", "role": "fix"}]}}
    assert _ran(_decide(_prints(root, more_cases), stored)) == ["a"]
    # the prose (cause, lessons, ...) is not among the sections a fingerprint holds: the same sections, the same print
    assert _ran(_decide(_prints(root, dict(SECTIONS)), stored)) == []


@pytest.mark.parametrize(("part", "value"), [("code", "C2"), ("lock", "L2"), ("torch", "2.13.0"),
                                             ("host", "1 x NVIDIA H200, driver 570.86, CUDA 12.8, x86_64")])
def test_a_change_of_code_lock_torch_build_or_host_reruns_every_incident(tmp_path: Path, part: str, value: str) -> None:
    root = _tree(tmp_path)
    decision = _decide(_prints(root, **{part: value}), _prints(root))
    assert _ran(decision) == ["a", "b"]
    assert decision.reasons["a"] == f"{part} changed since 20261201T100000Z_x.json"


def test_a_failure_is_never_reused(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    decision = _decide(_prints(root), _prints(root), failed=True)
    assert _ran(decision) == ["a", "b"]
    assert "failures are never reused" in decision.reasons["a"]


def test_the_newest_run_of_a_fingerprint_decides_so_a_later_crash_is_run_again(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    fp = _prints(root)["a"]
    sources = {(str(CELL), "a"): [_source(fp, failed=True, finished="2026-12-02T00:00:00+00:00"), _source(fp)]}
    assert _ran(reuse.decide(CELL, (A,), {"a": fp}, sources)) == ["a"]


def test_a_run_that_lacks_some_of_the_records_cases_does_not_stand(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    decision = _decide(_prints(root), _prints(root), functions=("test_symptom_a", "test_symptom_b"))
    assert _ran(decision) == ["a"]
    assert decision.reasons["a"].endswith("lacks test_fix_a")


def test_rerun_forces_everything_or_one_incident(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert _ran(_decide(_prints(root), _prints(root), frozenset({reuse.ALL}))) == ["a", "b"]
    assert _ran(_decide(_prints(root), _prints(root), frozenset({"b"}))) == ["b"]


@pytest.mark.parametrize(
    ("args", "rerun", "rest"),
    [
        (["--rerun"], {reuse.ALL}, []),
        (["--rerun", "-k", "dtype"], {reuse.ALL}, ["-k", "dtype"]),
        (["--rerun", "a", "--strict"], {"a"}, ["--strict"]),
        (["--rerun=b", "--rerun", "a"], {"a", "b"}, []),
        (["-x"], set(), ["-x"]),
    ],
)
def test_parse_rerun(args: list[str], rerun: set[str], rest: list[str]) -> None:
    assert reuse.parse_rerun(args, ["a", "b"]) == (frozenset(rerun), rest)


def test_rerun_of_an_unknown_incident_is_one_line() -> None:
    with pytest.raises(reuse.RerunError, match=r"^--rerun zz: no incident has that id"):
        reuse.parse_rerun(["--rerun", "zz"], ["a"])


def test_an_h100_run_is_never_an_h200_cells_and_a_cpu_cell_names_its_cpu() -> None:
    h100 = HostFacts(("NVIDIA H100 80GB HBM3",) * 2, "python3", None, driver="570.86", cuda="12.8", arch="x86_64")
    h200 = replace(h100, gpu_names=("NVIDIA H200",) * 2)
    assert h100.host_class(1) == "1 x NVIDIA H100 80GB HBM3, driver 570.86, CUDA 12.8, x86_64"
    assert h100.host_class(2) != h200.host_class(2)
    assert h100.host_class(2) != replace(h100, driver="580.1").host_class(2)
    cpu = HostFacts((), "python3", None, cpu="AMD EPYC", cpu_count=2, arch="x86_64")
    assert cpu.host_class(0) == "2 x AMD EPYC, x86_64"
    assert cpu.host_class(0) != replace(cpu, cpu_count=16).host_class(0)


def test_the_code_part_covers_the_plugin_and_what_it_imports_not_the_site() -> None:
    files = {str(p.relative_to(REPO / "src" / "incidentkb")) for p in fingerprint.code_files(REPO / "src" / "incidentkb")}
    assert {"plugin/wording.py", "plugin/report.py", "verdict/outcomes.py", "matrix/pytest_process.py"} <= files
    assert not {f for f in files if f.startswith(("site/", "check/", "records/")) or f in ("cli.py", "matrix/table.py")}


def test_editing_the_plugin_changes_the_code_part_and_rewording_it_does_not(tmp_path: Path) -> None:
    package = tmp_path / "src" / "incidentkb"
    shutil.copytree(REPO / "src" / "incidentkb", package, ignore=shutil.ignore_patterns("__pycache__"))
    before = fingerprint.code_hash(package, tmp_path / "pyproject.toml")
    (package / "site" / "plots.py").write_text((package / "site" / "plots.py").read_text() + "# the site\n")
    assert fingerprint.code_hash.__wrapped__(package, tmp_path / "pyproject.toml") == before
    wording = package / "plugin" / "wording.py"
    wording.write_text(wording.read_text().replace('"""', '"""Reworded. ', 1) + "# a comment\n")
    assert fingerprint.code_hash.__wrapped__(package, tmp_path / "pyproject.toml") == before
    wording.write_text(wording.read_text() + "EDITED = True\n")
    assert fingerprint.code_hash.__wrapped__(package, tmp_path / "pyproject.toml") != before


def test_the_lock_holds_the_python_and_every_pin() -> None:
    lock = locks.Lock({"torch": "2.13.0+cpu", "numpy": "2.4.0"}, "3.11.7")
    assert lock.digest != locks.Lock({"torch": "2.13.0+cpu", "numpy": "2.4.1"}, "3.11.7").digest
    assert lock.digest != locks.Lock(dict(lock.pins), "3.12.1").digest
    assert lock.constraints() == ("numpy==2.4.0", "torch==2.13.0+cpu")


def _results(cell: Cell, finished: str, fp: Fingerprint, outcome: str = "holds", **extra: object) -> dict:
    return {
        "schema": SCHEMA, "cell": str(cell), "axes": cell.as_dict(), "started": finished, "finished": finished,
        "cases": [{"nodeid": "regressions/test_a.py::test_fix_a", "incident": "a", "role": "fix", "outcome": outcome}],
        "incidents": {"ran": ["a"], "covered_by": {}}, "fingerprint": {"a": fp.as_dict()}, **extra,
    }


def test_stored_runs_are_read_with_their_dates_and_failures(tmp_path: Path) -> None:
    fp = Fingerprint("R", "C", "L", "T", "H")
    write(_results(CELL, "2026-12-01T10:00:00+00:00", fp), tmp_path)
    write(_results(CELL, "2026-12-02T10:00:00+00:00", fp, outcome="crashed"), tmp_path)
    runs = [CellResult.from_dict(json.loads(p.read_text()), p) for p in sorted(tmp_path.glob("*.json"))]
    found = reuse.sources_of(runs, {})[(str(CELL), "a")]
    assert [(s.date, s.failed) for s in found] == [("2026-12-02", True), ("2026-12-01", False)]


def test_a_reused_incident_keeps_the_date_of_the_run_that_produced_it(tmp_path: Path) -> None:
    fp = Fingerprint("R", "C", "L", "T", "H")
    source = reuse.Source("20261201T100000Z_x.json", "2026-12-01T10:00:00+00:00", fp, frozenset({"test_fix_a"}), False,
                          tuple(_results(CELL, "2026-12-01T10:00:00+00:00", fp)["cases"]))
    result = reuse.composed(CELL, {}, {"a": source})
    assert result.run_of("a") == ("20261201T100000Z_x.json", "2026-12-01T10:00:00+00:00")
    assert [c.outcome.value for c in result.cases] == ["holds"]
    # and in a file a later run wrote, the reused incident still names its own run
    later = write({**_results(CELL, "2026-12-05T00:00:00+00:00", fp),
                   "incidents": {"ran": [], "reused": {"a": {"file": source.file, "finished": source.finished}}}}, tmp_path)
    assert CellResult.from_dict(json.loads(later.read_text()), later).run_of("a")[1] == source.finished


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"})


def test_only_committed_unmodified_results_feed_reuse(tmp_path: Path) -> None:
    fp = Fingerprint("R", "C", "L", "T", "H")
    folder = tmp_path / "regressions" / "results"
    kept = write(_results(CELL, "2026-12-01T10:00:00+00:00", fp), folder)
    changed = write(_results(CELL, "2026-12-02T10:00:00+00:00", fp), folder)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "results")
    write(_results(CELL, "2026-12-03T10:00:00+00:00", fp), folder)  # a run nobody committed
    changed.write_text(changed.read_text().replace("holds", "BROKEN"))
    assert reuse.committed_paths(tmp_path) == [kept]


def test_the_site_dates_a_reused_verdict_by_its_own_run(tmp_path: Path) -> None:
    from incidentkb.results.runs import Run
    from incidentkb.site.sources import _runs_of

    fp = Fingerprint("R", "C", "L", "T", "H")
    data = {**_results(CELL, "2026-12-05T00:00:00+00:00", fp),
            "incidents": {"ran": [], "reused": {"a": {"file": "20261201T100000Z_x.json", "finished": "2026-12-01T10:00:00+00:00"}}}}
    stored = Run.from_dict(data, Path("new.json"))
    (run,) = _runs_of(stored, dt.datetime(2026, 12, 5, tzinfo=dt.timezone.utc))
    assert (run.date, run.source) == ("2026-12-01", "20261201T100000Z_x.json")


def test_a_lock_is_kept_for_its_ttl_then_asked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from incidentkb.matrix.axes import load_matrix

    matrix = load_matrix(REPO / "regressions" / "matrix.toml")
    asked: list[float] = []

    def compute(matrix_: object, request: locks.LockRequest, *, uv: str, project: Path) -> locks.Lock:
        asked.append(1.0)  # the index's answer changes every time it is asked
        return locks.Lock({"torch": "2.13.0+cpu", "numpy": f"2.{len(asked)}.0"}, "3.11.7")

    monkeypatch.setattr(locks, "compute", compute)
    request = locks.LockRequest(CELL, python="python3")
    first = locks.cached(matrix, request, uv="uv", project=REPO, folder=tmp_path, ttl_s=60, now=1000.0)
    assert locks.cached(matrix, request, uv="uv", project=REPO, folder=tmp_path, ttl_s=60, now=1059.0) == first
    later = locks.cached(matrix, request, uv="uv", project=REPO, folder=tmp_path, ttl_s=60, now=1061.0)
    assert later.pins["numpy"] == "2.2.0" and len(asked) == 2
    assert locks.lock_ttl("") == locks.DEFAULT_TTL_S and locks.lock_ttl("0") == 0
    with pytest.raises(ValueError, match="INCIDENTKB_LOCK_TTL='soon': give seconds"):
        locks.lock_ttl("soon")
