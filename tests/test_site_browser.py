"""The site in a real browser: headless Chromium (Debian's, installed by .ci/run) driven by Playwright.

It builds the site from the synthetic records, serves it on localhost and checks what a reader does: the home
table lists every incident, an incident page shows its matrix, a search for a fragment of an error lands on the
right incident, and hostile record text runs no script. Screenshots go to tests/artifacts/ (not committed).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import site_samples
from site_samples import HOSTILE_ID, REPO, make_project, mkdocs_build

sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package (pip install playwright)")

CHROMIUM = os.environ.get("INCIDENTKB_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

if os.environ.get("CI") and not shutil.which(CHROMIUM):
    # CI must drive a real browser: a skip there would hide that .ci/run failed to install it.
    pytest.fail(f"CI needs Chromium at {CHROMIUM}: .ci/run installs it with apt-get", pytrace=False)

pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM), reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = make_project(tmp_path_factory.mktemp("browser"))
    done = mkdocs_build(project)
    assert done.returncode == 0, done.stderr
    return project / "site"


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(base_url: str) -> Iterator[object]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    dialogs: list[str] = []
    tab = context.new_page()
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    tab.dialogs = dialogs
    yield tab
    context.close()


def test_the_home_table_lists_every_incident(page, base_url: str) -> None:
    page.goto(base_url)
    rows = page.locator(".ikb-incidents tbody tr")
    assert rows.count() == len(site_samples.records())
    titles = page.locator(".ikb-incidents a.ikb-incident-link").all_inner_texts()
    assert sorted(titles) == sorted(r["title"] for r in site_samples.records())
    page.screenshot(path=ARTIFACTS / "site-home.png", full_page=True)


def test_an_incident_page_shows_its_matrix_and_the_evidence_of_a_run(page, base_url: str) -> None:
    page.goto(base_url + "incidents/2025-04-12-stylegan-label-dtype-mismatch.html")
    page.screenshot(path=ARTIFACTS / "site-incident.png", full_page=True)
    matrix = page.locator(".ikb-matrix table")
    assert matrix.is_visible()
    assert matrix.locator("tbody tr").count() == 5
    assert matrix.locator("thead th").all_inner_texts() == ["torch", "stack", "GPUs", "symptom", "fix",
                                                           "attempt: cast-to-double", "Run"]
    row = matrix.locator("tbody tr").first
    first = row.locator("details").first
    first.locator("summary").click()
    assert "RuntimeError: expected mat1 and mat2" in first.inner_text()
    run = row.locator("td.ikb-run details")  # when and where: said once per row, not in every entry
    run.locator("summary").click()
    assert "2025-06-01 on Linux" in run.inner_text()
    page.locator(".ikb-matrix").screenshot(path=ARTIFACTS / "site-incident-matrix.png")


def test_the_matrix_page_shows_every_incident_in_every_cell(page, base_url: str) -> None:
    page.goto(base_url + "matrix.html")
    table = page.locator(".ikb-overview table")
    assert table.locator("tbody tr").count() == len(site_samples.records())
    assert table.locator("thead th").count() == 1 + 5
    page.screenshot(path=ARTIFACTS / "site-matrix.png", full_page=True)


@pytest.mark.parametrize(
    ("fragment", "incident"),
    [
        ("size of tensor a (2)", "2025-04-21-llm-sft-batch-size-multi-gpu"),
        ("mat1 and mat2", "2025-04-12-stylegan-label-dtype-mismatch"),
        ("double != float", "2025-04-12-stylegan-label-dtype-mismatch"),
        ("CUDA_VISIBLE_DEVICES", "2025-04-21-llm-sft-batch-size-multi-gpu"),
    ],
)
def test_searching_a_fragment_of_an_error_lands_on_its_incident(page, base_url: str, fragment, incident) -> None:
    page.goto(base_url)
    search_lands_on(page, fragment, incident)
    name = "".join(c if c.isalnum() else "-" for c in fragment).strip("-")
    page.screenshot(path=ARTIFACTS / f"site-search-{name}.png")


def test_the_site_works_opened_from_disk_search_included(page, site: Path) -> None:
    # A site sent as a zip or kept as a CI artifact is opened as a file: its links must name files, and search
    # must not fetch its index (browsers refuse fetch() from file://); Material's offline plugin bundles it.
    page.goto((site / "index.html").as_uri())
    page.locator(".ikb-incidents a.ikb-incident-link").first.click()
    page.wait_for_url("file://**/incidents/*.html")
    assert page.locator(".ikb-matrix table").is_visible()
    page.go_back()
    search_lands_on(page, "mat1 and mat2", "2025-04-12-stylegan-label-dtype-mismatch")
    assert page.url.startswith("file://")


def search_lands_on(page, fragment: str, incident: str) -> None:
    """Type `fragment` into the search box, check the first result is `incident`'s page and open it."""
    page.locator(".md-search__input").click()
    page.keyboard.type(fragment, delay=20)
    first = page.locator(".md-search-result__item > a").first
    # Results come as the query is typed (`mat` before `mat1 and mat2`): wait for those of the whole fragment.
    sync_api.expect(first).to_have_attribute("href", re.compile(rf"incidents/{re.escape(incident)}\.html"),
                                             timeout=15_000)
    first.click()
    page.wait_for_url(f"**/incidents/{incident}.html**")
    assert page.locator("h1").first.inner_text().rstrip("¶") == next(r["title"] for r in site_samples.records()
                                                         if r["id"] == incident)


def test_hostile_record_text_runs_no_script_and_keeps_the_page_whole(page, base_url: str) -> None:
    page.goto(base_url + f"incidents/{HOSTILE_ID}.html")
    page.wait_for_load_state("networkidle")
    assert page.dialogs == []
    headings = page.locator("h2").all_inner_texts()
    assert [h.strip("¶ \n") for h in headings][:3] == ["Symptom", "Cause", "Failed attempts"]
    assert "<script>alert('pwned')</script>" in page.locator("#symptom + p").inner_text()
    page.screenshot(path=ARTIFACTS / "site-hostile.png", full_page=True)
