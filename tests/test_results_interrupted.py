"""Results files survive a killed run and concurrent runs: no half-written file, no file written by two runs.

Real processes, really killed: a writer is SIGKILLed at several moments (mid-write included, with a payload of
tens of MB), and two processes write the same cell's results at the same moment while a third reads every
`*.json` it can see. Whatever is left behind is either a whole results file or a temporary file that is not
`*.json`, which no reader opens.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from incidentkb.matrix.results_files import read_all, result_paths

#: Writes results files for one cell, all with the same `finished` second, as fast as it can; argv: folder,
#: writer name, how many files, bytes of padding per file. Prints "ready" once imported, then waits for "go".
WRITER = r"""
import sys
from incidentkb.matrix.results_files import SCHEMA, write

folder, name, count, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
print("ready", flush=True)
sys.stdin.readline()
for i in range(count):
    write({
        "schema": SCHEMA, "cell": "torch=2.6.0 stack=4.51.3 gpus=0", "started": "2026-11-27T23:14:00+00:00",
        "finished": "2026-11-27T23:15:02+00:00", "writer": name, "n": i, "padding": "x" * size,
        "incidents": {"ran": [], "covered_by": {}}, "cases": [],
    }, folder)
print("done", flush=True)
"""

#: Reads every `*.json` in the folder (hidden ones too: a careless reader's glob) until told to stop.
READER = r"""
import json, pathlib, sys
folder, seen, bad = pathlib.Path(sys.argv[1]), set(), []
print("ready", flush=True)
while not (folder / "stop").exists():
    for path in list(folder.glob("*.json")) + list(folder.glob(".*.json")):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue  # a temporary file removed between listing and reading
        try:
            json.loads(text)
            seen.add(path.name)
        except ValueError:
            bad.append(f"{path.name}: {len(text)} bytes")
print(json.dumps({"seen": len(seen), "bad": bad}), flush=True)
"""


def start(code: str, *args: object) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def go(*procs: subprocess.Popen[str]) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()


def assert_only_whole_files(folder: Path) -> list[Path]:
    """Every `*.json` parses, every other file is a temporary one; returns the results files."""
    leftovers = [p for p in folder.iterdir() if not p.name.endswith(".json")]
    assert all(p.name.startswith(".incomplete-") and p.name.endswith(".partial") for p in leftovers), leftovers
    for path in folder.glob("*.json"):  # pathlib's glob lists hidden files too
        json.loads(path.read_text(encoding="utf-8"))
    paths = result_paths(folder)
    assert len(read_all(folder)) == len(paths)  # what the table and the site read
    return paths


def test_two_runs_writing_the_same_cell_at_once_get_a_file_each_and_no_reader_sees_half_a_file(tmp_path: Path) -> None:
    reader = start(READER, tmp_path)
    writers = [start(WRITER, tmp_path, name, 25, 2_000_000) for name in ("first", "second")]
    go(*writers)
    for writer in writers:
        assert writer.communicate(timeout=60)[0].strip() == "done"
    (tmp_path / "stop").write_text("")
    report = json.loads(reader.communicate(timeout=60)[0])
    (tmp_path / "stop").unlink()

    assert report["bad"] == []
    paths = assert_only_whole_files(tmp_path)
    written = sorted((d["writer"], d["n"]) for d in (json.loads(p.read_text()) for p in paths))
    assert written == sorted((name, n) for name in ("first", "second") for n in range(25))  # none lost, none twice
    stem = "20261127T231502Z_torch-2.6.0_stack-4.51.3_gpus-0"
    assert {p.name for p in paths} == {f"{stem}.json"} | {f"{stem}-{i}.json" for i in range(2, 51)}


def mid_write(folder: Path, writer: subprocess.Popen[str]) -> None:
    """Return once a temporary file of the writer's is in the folder: the writer is then in the middle of a write."""
    while writer.poll() is None and not any(p.name.startswith(".incomplete-") for p in folder.iterdir()):
        time.sleep(0.001)


@pytest.mark.parametrize("after_s", [None, 0.0, 0.05, 0.15, 0.3, 0.6, 1.0], ids=lambda s: "mid-write" if s is None else f"{s}s")
def test_a_writer_killed_at_any_moment_leaves_only_whole_results_files(tmp_path: Path, after_s: float | None) -> None:
    writer = start(WRITER, tmp_path, "killed", 20, 30_000_000)  # 30 MB a file: most of the time is mid-write
    go(writer)
    if after_s is None:
        mid_write(tmp_path, writer)
    else:
        time.sleep(after_s)
    writer.send_signal(signal.SIGKILL)
    writer.communicate(timeout=30)
    assert writer.returncode == -signal.SIGKILL

    paths = assert_only_whole_files(tmp_path)
    for path in paths:
        assert json.loads(path.read_text())["padding"] == "x" * 30_000_000
