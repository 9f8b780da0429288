"""`incidentkb results merge`: results from several hosts into one folder, nothing overwritten, nothing twice."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from incidentkb.cli import main
from incidentkb.matrix import results_files

FINISHED = "2026-12-01T10:00:00+00:00"


def run_of(cell: str, *, host: str, finished: str = FINISHED, outcome: str = "reproduces") -> dict:
    """A results file's content as a cell run writes it (the parts the readers need)."""
    return {
        "schema": results_files.SCHEMA, "cell": cell, "axes": {}, "started": finished, "finished": finished,
        "host": {"hostname": host},
        "incidents": {"ran": ["2025-01-15-sample-loss-nan"], "covered_by": {}},
        "cases": [{"nodeid": "regressions/sample_loss_nan.py::test_symptom_nan_loss", "incident": "2025-01-15-sample-loss-nan",
                   "role": "symptom", "outcome": outcome}],
    }


@pytest.fixture
def hosts(tmp_path: Path) -> dict[str, Path]:
    """Three hosts' results folders: a CPU box, two GPU boxes that ran the same cell in the same second, and a
    copy of the CPU box's folder (an artifact downloaded twice)."""
    cpu, gpu_a, gpu_b = tmp_path / "cpu-box", tmp_path / "gpu-a", tmp_path / "gpu-b"
    results_files.write(run_of("torch=2.13.0 stack=4.51.3 gpus=0", host="cpu-box"), cpu)
    results_files.write(run_of("torch=installed stack=4.51.3 gpus=1", host="gpu-a"), gpu_a)
    results_files.write(run_of("torch=installed stack=4.51.3 gpus=1", host="gpu-b", outcome="changed"), gpu_b)
    shutil.copytree(cpu, tmp_path / "cpu-box-again")
    return {"cpu": cpu, "gpu_a": gpu_a, "gpu_b": gpu_b, "again": tmp_path / "cpu-box-again"}


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_runs_from_several_hosts_are_all_kept_once(hosts: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    into = tmp_path / "merged"
    status = main(["results", "merge", *map(str, hosts.values()), "--into", str(into), "--root", str(tmp_path)])

    assert status == 0
    assert names(into) == [
        "20261201T100000Z_torch-2.13.0_stack-4.51.3_gpus-0.json",
        "20261201T100000Z_torch-installed_stack-4.51.3_gpus-1-2.json",  # gpu-b's run: same cell, same second
        "20261201T100000Z_torch-installed_stack-4.51.3_gpus-1.json",
    ]
    hosts_kept = sorted(results_files.read(p).raw["host"]["hostname"] for p in results_files.result_paths(into))
    assert hosts_kept == ["cpu-box", "gpu-a", "gpu-b"]
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "3 added, 1 already there, 0 refused"
    assert "under a new name" in out

    # merging again adds nothing: every run is already there, whatever its name
    assert main(["results", "merge", *map(str, hosts.values()), "--into", str(into), "--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["0 added, 4 already there, 0 refused"]
    assert len(names(into)) == 3


def test_a_file_already_in_the_target_is_never_replaced(hosts: dict[str, Path], tmp_path: Path) -> None:
    into = tmp_path / "merged"
    results_files.write(run_of("torch=installed stack=4.51.3 gpus=1", host="already-here", outcome="BROKEN"), into)
    before = (into / "20261201T100000Z_torch-installed_stack-4.51.3_gpus-1.json").read_bytes()

    assert main(["results", "merge", str(hosts["gpu_a"]), "--into", str(into), "--root", str(tmp_path)]) == 0
    assert (into / "20261201T100000Z_torch-installed_stack-4.51.3_gpus-1.json").read_bytes() == before
    assert results_files.read(into / "20261201T100000Z_torch-installed_stack-4.51.3_gpus-1-2.json").raw["host"]["hostname"] == "gpu-a"


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda p: p.write_text(p.read_text()[:120]), "not a whole results file (Unterminated string"),  # cut off
        (lambda p: p.write_text('{"schema": 99}'), "results schema 99"),
        (lambda p: p.write_text('{"schema": 1, "cell": "torch=x"}'), "not a whole results file (not a results file"),
        (lambda p: p.write_bytes(b"\xff\xfe\x00garbage"), "codec can't decode"),
        (lambda p: p.rename(p.parent / ".incomplete-abc.partial"), "an unfinished write"),
    ],
    ids=["truncated", "other schema", "not a run", "not text", "unfinished write"],
)
def test_damaged_files_are_refused_one_line_each_and_the_rest_is_merged(
    hosts: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], damage, reason: str,  # type: ignore[no-untyped-def]
) -> None:
    damaged = next(hosts["gpu_b"].glob("*.json"))
    damage(damaged)
    into = tmp_path / "merged"

    status = main(["results", "merge", str(hosts["cpu"]), str(hosts["gpu_b"]), "--into", str(into), "--root", str(tmp_path)])

    out = capsys.readouterr().out.splitlines()
    assert status == 1
    refused = [line for line in out if line.startswith("refused ")]
    assert len(refused) == 1 and "gpu-b/" in refused[0] and reason in refused[0]
    assert out[-1] == "1 added, 0 already there, 1 refused"
    assert names(into) == ["20261201T100000Z_torch-2.13.0_stack-4.51.3_gpus-0.json"]
