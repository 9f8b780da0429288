"""The `latest` stack and torch: what is left to the resolver, how uv's answer is read, and each failure as one line."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from incidentkb.matrix import frozen
from incidentkb.matrix.axes import Cell, MatrixError, load_matrix
from incidentkb.matrix.hosts import HostFacts, unavailable, wheelhouse_pairs
from incidentkb.matrix.resolve import (
    ResolveError,
    compile_input,
    explain_failure,
    needs_resolution,
    open_names,
    parse_compiled,
    pins_of,
    resolve,
)
from incidentkb.results.runs import Run

REPO = Path(__file__).resolve().parent.parent
MATRIX = load_matrix(REPO / "regressions/matrix.toml")


def test_latest_is_a_stack_of_every_torch_and_the_newest_torch_is_only_asked_for() -> None:
    cells = MATRIX.cells()
    assert Cell("2.13.0", "latest", 0) in cells
    assert not [c for c in cells if c.torch == "latest"]


@pytest.mark.parametrize(
    ("cell", "names", "requirements"),
    [
        ("torch=2.13.0 stack=latest gpus=0", ("transformers", "trl", "accelerate", "datasets"),
         ["torch==2.13.0", "transformers", "trl", "accelerate", "datasets"]),
        ("torch=latest stack=latest gpus=1", ("torch", "transformers", "trl", "accelerate", "datasets", "liger-kernel", "peft"),
         ["torch", "transformers", "trl", "accelerate", "datasets", "liger-kernel", "peft"]),
        ("torch=latest stack=4.51.3 gpus=0", ("torch",), None),
    ],
)
def test_what_a_cell_leaves_to_the_resolver(cell: str, names: tuple[str, ...], requirements: list[str] | None) -> None:
    parsed = Cell.parse(cell)
    assert needs_resolution(MATRIX, parsed) and open_names(MATRIX, parsed) == names
    if requirements is not None:
        assert compile_input(MATRIX, parsed) == requirements
    assert not needs_resolution(MATRIX, Cell("2.13.0", "4.51.3", 0))


def test_the_chosen_versions_are_pinned_into_the_cell() -> None:
    cell = Cell("latest", "latest", 1)
    pinned = MATRIX.pinned(cell, pins_of({"torch": "2.13.0+cpu", "transformers": "5.25.0", "peft": "0.22.0+local"}))
    assert pinned.torch_option(cell).requirement == "torch==2.13.0+cpu"
    assert pinned.stack(cell).requirements(gpus=1) == ("transformers==5.25.0", "peft==0.22.0")
    assert not needs_resolution(pinned, cell)
    assert needs_resolution(MATRIX, cell)  # the declared matrix is left as it was


def test_uv_compiles_output_is_read_by_canonical_name() -> None:
    text = "accelerate==1.15.0\nHuggingFace_Hub==0.36.0\n    # via transformers\ntorch==2.13.0+cpu\n-e file:///x\n"
    assert parse_compiled(text) == {"accelerate": "1.15.0", "huggingface-hub": "0.36.0", "torch": "2.13.0+cpu"}


@pytest.mark.parametrize(
    ("stderr", "message", "offline"),
    [
        ("error: Failed to fetch: `https://pypi.org/simple/transformers/`\n  Caused by: error sending request for url\n"
         "  Caused by: Connection refused (os error 111)",
         "stack latest needs the package index, and none was reachable (uv: Caused by: Connection refused (os error 111))", True),
        ("  cause: Because torch==2.13.0 needs to be downloaded from a registry ...\n\nhint: Packages were unavailable "
         "because the network was disabled.", "stack latest needs the package index", True),
        ("error: No solution found when resolving dependencies\n  cause: Because there is no version of "
         "transformers==9.9.9 and you require transformers==9.9.9, we can conclude that your requirements are unsatisfiable.",
         "stack latest: transformers==9.9.9 does not exist on the package index", False),
        ("  cause: Because transformrs was not found in the package registry and you require transformrs, ...",
         "stack latest: the package index has no package 'transformrs'", False),
        ("error: No solution found when resolving dependencies\n  cause: Because trl==1.17.0 depends on "
         "transformers>=5 and you require transformers==4.51.3, we can conclude that your requirements are unsatisfiable.",
         "stack latest: these versions do not install together (Because trl==1.17.0 depends on", False),
    ],
)
def test_each_failure_is_one_line(stderr: str, message: str, offline: bool) -> None:
    error = explain_failure(stderr, what="stack latest")
    assert str(error).startswith(message) and "\n" not in str(error) and error.offline is offline


def test_a_host_that_installs_from_a_wheelhouse_runs_latest_only_as_the_wheelhouse_froze_it(tmp_path: Path) -> None:
    host = HostFacts(gpu_names=(), host_python="python3", host_torch=None, wheelhouse=(str(tmp_path),))
    cell = Cell("2.13.0", "latest", 0)
    assert unavailable(MATRIX, cell, host) == (
        "stack latest needs the package index, or a wheelhouse that froze it "
        "(nox -s wheelhouse -- --torch 2.13.0 --stack latest ...)")
    with pytest.raises(ResolveError, match=r"stack latest needs the package index, or a wheelhouse that froze it") as raised:
        resolve(MATRIX, cell, uv="uv", python="python3", offline=True, wheelhouse=(str(tmp_path),))
    assert raised.value.offline

    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "2.13.0-latest.txt").write_text("transformers==5.25.0\n")
    locked = {"transformers": "5.25.0", "trl": "1.17.0", "peft": "0.22.0", "tokenizers": "0.23.1"}
    frozen.freeze(tmp_path, "2.13.0-latest", locked, python="3.11", platform="manylinux_2_28_x86_64",
                  now=dt.datetime(2026, 12, 8, 1, 30, tzinfo=dt.timezone.utc))
    host = replace(host, built_for=wheelhouse_pairs([str(tmp_path)]))
    assert unavailable(MATRIX, cell, host) is None
    resolution = resolve(MATRIX, cell, uv=None, python="python3", offline=True, wheelhouse=(str(tmp_path),))
    assert resolution.date == "2026-12-08" and resolution.locked == locked
    assert dict(resolution.chosen) == {"transformers": "5.25.0", "trl": "1.17.0"}  # a CPU cell: no peft
    assert resolution.as_dict()["wheelhouse"] == {"folder": str(tmp_path), "built": "2026-12-08T01:30:00+00:00",
                                                  "python": "3.11", "platform": "manylinux_2_28_x86_64"}
    assert stack_note({"resolved": resolution.as_dict()}) == (
        "resolved 2026-12-08 (frozen in a wheelhouse): transformers 5.25.0, trl 1.17.0")


def test_uv_offline_is_no_index_either(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV_OFFLINE", "1")
    with pytest.raises(ResolveError, match=r"^torch=latest needs the package index \(UV_OFFLINE is set\)$"):
        resolve(MATRIX, Cell("latest", "4.51.3", 0), uv="uv", python="python3")


def test_resolve_keys_name_packages_not_versions(tmp_path: Path) -> None:
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(
        '[[torch]]\nid = "2.13.0"\nrequirement = "torch==2.13.0"\nwhy = "w"\n'
        '[[stack]]\nid = "latest"\npackages = []\nresolve = ["transformers==5.0"]\nwhy = "w"\n'
        '[[gpus]]\ncount = 0\nwhy = "w"\n', encoding="utf-8")
    with pytest.raises(MatrixError, match="stack latest: `resolve` names packages, not versions: 'transformers==5.0'"):
        load_matrix(matrix)


@pytest.mark.parametrize(
    ("data", "note"),
    [
        ({}, None),
        ({"resolved": {"date": "2026-12-03", "chosen": {"transformers": "5.25.0", "trl": "1.17.0"}}},
         "resolved 2026-12-03: transformers 5.25.0, trl 1.17.0"),
        ({"candidate": {"pins": {"transformers": "5.25.0"}, "source": "uv.lock"},
          "resolved": {"date": "2026-12-03", "chosen": {"trl": "1.17.0"}}},
         "candidate transformers==5.25.0 from uv.lock; resolved 2026-12-03: trl 1.17.0"),
    ],
)
def test_what_the_table_and_site_say_a_cells_versions_were(data: dict, note: str | None) -> None:
    assert stack_note(data) == note


def stack_note(data: dict) -> str | None:
    """What a run whose results file holds `data` (beside what every file holds) says of its versions."""
    run = {"schema": 1, "cell": "torch=2.13.0 stack=latest gpus=0", "started": "x", "finished": "x", **data}
    return Run.from_dict(run).stack_note()
