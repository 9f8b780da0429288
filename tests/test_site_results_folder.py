"""A scratch run previewed on the site: the build reads another results folder, and the committed one is left alone.

`nox -s docs -- --results DIR` (and `serve`) set INCIDENTKB_RESULTS for mkdocs, which mkdocs.yml hands to the
plugin (`results: !ENV [INCIDENTKB_RESULTS, regressions/results]`); the same variable names where runs write.
"""

from __future__ import annotations

import json
import os
import re
from html import unescape
from pathlib import Path

from site_samples import _cases, make_project, mkdocs_build, result_file


def test_the_site_shows_the_scratch_folder_and_leaves_the_committed_results_alone(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    committed = project / "regressions" / "results"
    before = {p.name: p.stat().st_mtime_ns for p in committed.iterdir()}
    scratch = tmp_path.parent / f"{tmp_path.name}-scratch"
    scratch.mkdir()
    data = result_file("2.13.0", "latest", 0, "2026-12-08T02:00:00+00:00", _cases("2.13.0", 0))
    data["resolved"] = {"date": "2026-12-08", "chosen": {"transformers": "5.25.0"}, "locked": {},
                        "wheelhouse": {"folder": "/w", "built": "2026-12-08T01:26:24+00:00"}}
    (scratch / "20261208T020000Z_torch-2.13.0_stack-latest_gpus-0.json").write_text(json.dumps(data))

    os.environ["INCIDENTKB_RESULTS"] = str(scratch)
    try:
        done = mkdocs_build(project)
    finally:
        del os.environ["INCIDENTKB_RESULTS"]
    assert done.returncode == 0, done.stderr
    matrix = " ".join(unescape(re.sub(r"<[^>]+>", " ", (project / "site" / "matrix.html").read_text())).split())
    assert "in 1 cells, from 1 runs" in matrix  # the committed folder has five
    assert "stack latest (resolved 2026-12-08 (frozen in a wheelhouse): transformers 5.25.0)" in matrix
    assert {p.name: p.stat().st_mtime_ns for p in committed.iterdir()} == before
