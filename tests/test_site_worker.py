"""The page worker: generated pages rendered in a forked process are the pages the plugin renders itself.

At 1,000 incidents the plugin renders its pages in a worker beside MkDocs (`incidentkb.site.worker`); the
sample sites here are small, so these builds ask for it with `page_worker: always`.
"""

from __future__ import annotations

import gzip
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from site_samples import make_project, mkdocs_build

from incidentkb.site.render import RenderedPage
from incidentkb.site.worker import MIN_PAGES, PageWorker, worth_a_worker

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the page worker forks: Linux only")


def with_option(project: Path, option: str) -> Path:
    config = project / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    # The option goes on the line after the plugin's `results:` (whatever that line reads, `!ENV` included).
    changed, count = re.subn(r"^(\s*)(results: .*)$", lambda m: f"{m[1]}{m[2]}\n{m[1]}{option}", text, count=1,
                            flags=re.MULTILINE)
    assert count == 1, "the sample's mkdocs.yml has no `results:` line for the plugin's options"
    config.write_text(changed, encoding="utf-8")
    return project


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def built_files(site: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        data = path.read_bytes()
        files[path.relative_to(site).as_posix()] = gzip.decompress(data) if path.suffix == ".gz" else data
    return files


def test_the_worker_builds_the_same_site_byte_for_byte(tmp_path: Path) -> None:
    sites = {}
    for mode in ("always", "never"):
        project = with_option(make_project(_folder(tmp_path / mode)), f"page_worker: {mode}")
        done = mkdocs_build(project, "--verbose")
        assert done.returncode == 0, done.stderr[-3000:]
        assert ("a worker process renders the" in done.stderr) == (mode == "always")
        sites[mode] = built_files(project / "site")
    assert sites["always"].keys() == sites["never"].keys()
    assert [name for name in sites["always"] if sites["always"][name] != sites["never"][name]] == []


def test_a_template_error_in_the_worker_is_reported_as_without_it(tmp_path: Path) -> None:
    errors = {}
    for mode in ("always", "never"):
        project = with_option(make_project(_folder(tmp_path / mode)), f"page_worker: {mode}\n      templates: overrides")
        (project / "overrides").mkdir()
        (project / "overrides" / "incident_search.html").write_text("{{ item.no_such_field }}\n")
        done = mkdocs_build(project)
        assert done.returncode == 1
        assert "Traceback" not in done.stderr
        errors[mode] = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    assert errors["always"] == errors["never"] == [
        "ERROR   -  Error building page 'incidents/2025-05-01-hostile-text.md':",
        "ERROR   -  incidentkb: incidents/2025-05-01-hostile-text.md: template incident_search.html: "
        "'incidentkb.site.standing.IncidentStanding object' has no attribute 'no_such_field'"]


def _page(uri: str) -> RenderedPage:
    if uri == "broken.md":
        raise RuntimeError("a template failed")
    return RenderedPage(f"<p>{uri}</p>", [(1, "top", "Top")], "search text", [f"late {uri}"])


def test_the_worker_sends_pages_in_any_order_asked() -> None:
    worker = PageWorker.start(["a.md", "b.md", "c.md"], _page)
    try:
        assert worker.take("c.md") == _page("c.md")
        assert worker.take("a.md") == _page("a.md")
        assert worker.take("b.md").late == ["late b.md"]  # type: ignore[union-attr]
        assert worker.take("d.md") is None  # never sent: the plugin renders it itself
    finally:
        worker.close()


def test_a_worker_that_fails_gives_what_it_rendered_and_is_reaped() -> None:
    worker = PageWorker.start(["a.md", "broken.md", "c.md"], _page)
    assert worker.take("a.md") == _page("a.md")
    assert worker.take("c.md") is None  # the worker stopped at broken.md
    with pytest.raises(ChildProcessError):
        os.waitpid(worker._pid, os.WNOHANG)  # closed and reaped: no zombie left behind


def test_a_worker_killed_in_the_middle_of_a_page_gives_nothing_for_it() -> None:
    big = RenderedPage("x" * 8_000_000, [], None, [])  # far more than the pipe holds
    worker = PageWorker.start(["a.md"], lambda uri: big)
    deadline = time.monotonic() + 30
    while not _blocked_writing(worker._pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(worker._pid, signal.SIGKILL)  # as the OOM killer would: the rest of a.md is never written
    assert worker.take("a.md") is None  # the plugin renders it itself


def _blocked_writing(pid: int) -> bool:
    """Whether the process sleeps (in its write to the full pipe), by /proc."""
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("S")


def test_the_worker_is_used_only_where_it_is_safe_and_worth_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(threading, "active_count", lambda: 1)  # pytest-xdist's workers run a thread of their own
        patch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
        assert not worth_a_worker(10_000, "never")
        assert worth_a_worker(1, "always")
        assert not worth_a_worker(MIN_PAGES - 1, "auto")
        assert worth_a_worker(MIN_PAGES, "auto")
        patch.setattr(os, "sched_getaffinity", lambda pid: {0})
        assert not worth_a_worker(10_000, "auto")  # one CPU: nothing to run beside MkDocs
    stop = threading.Event()
    server = threading.Thread(target=stop.wait)  # as `mkdocs serve` serves while it builds
    server.start()
    try:
        assert not worth_a_worker(10_000, "always")
    finally:
        stop.set()
        server.join()
