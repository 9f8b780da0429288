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


def test_an_incident_page_keeps_every_run_in_its_full_matrix(page, base_url: str) -> None:
    page.goto(base_url + "incidents/2025-04-12-stylegan-label-dtype-mismatch.html")
    page.locator("details.ikb-more:has(#regression-matrix) > summary").click()
    matrix = page.locator(".ikb-matrix table")
    assert matrix.is_visible()
    assert matrix.locator("tbody tr").count() == 5
    assert matrix.locator("thead th").all_inner_texts() == ["torch", "stack", "GPUs", "symptom", "fix",
                                                           "attempt: cast-to-double", "Run"]
    row = matrix.locator("tbody tr").first
    first = row.locator("details").first
    first.locator("summary").click()
    assert "RuntimeError: expected mat1" in first.inner_text()
    run = row.locator("td.ikb-run details")  # when and where: said once per row, not in every entry
    run.locator("summary").click()
    assert "2025-06-01 on Linux" in run.inner_text()
    page.locator(".ikb-matrix").screenshot(path=ARTIFACTS / "site-incident-matrix.png")


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
    assert page.locator(".ikb-grid").is_visible()
    page.go_back()
    search_lands_on(page, "mat1 and mat2", "2025-04-12-stylegan-label-dtype-mismatch")
    assert page.url.startswith("file://")


def test_a_result_card_misses_no_word_its_page_holds(page, base_url: str) -> None:
    # Every word of the query is in the incident's error: its card must not say "Missing: 4 match tensor" (the
    # page's own entry once held only the title, the error sat in a section below it).
    page.goto(base_url)
    search_lands_on(page, "must match the size of tensor b (4)", "2025-04-21-llm-sft-batch-size-multi-gpu", open_it=False)
    card = page.locator(".md-search-result__item").first
    assert "Missing" not in card.inner_text()


def search_lands_on(page, fragment: str, incident: str, *, open_it: bool = True) -> None:
    """Type `fragment` into the search box, check the first result is `incident`'s page and open it."""
    page.locator(".md-search__input").click()
    page.keyboard.type(fragment, delay=20)
    first = page.locator(".md-search-result__item > a").first
    # The search worker loads its index (and the Korean tokenizer) after the page: what is typed before it is
    # ready is not searched, so type the last character again until results come.
    for _ in range(10):
        try:
            first.wait_for(timeout=3_000)
            break
        except sync_api.TimeoutError:
            page.keyboard.press("Backspace")
            page.keyboard.type(fragment[-1])
    # Results come as the query is typed (`mat` before `mat1 and mat2`): wait for those of the whole fragment.
    sync_api.expect(first).to_have_attribute("href", re.compile(rf"incidents/{re.escape(incident)}\.html"),
                                             timeout=30_000)  # a loaded CI machine is slow
    if not open_it:
        return
    first.click()
    page.wait_for_url(f"**/incidents/{incident}.html**", timeout=60_000)
    assert page.locator("h1").first.inner_text().rstrip("¶") == next(r["title"] for r in site_samples.records()
                                                         if r["id"] == incident)


def test_hostile_record_text_runs_no_script_and_keeps_the_page_whole(page, base_url: str) -> None:
    page.goto(base_url + f"incidents/{HOSTILE_ID}.html")
    page.wait_for_load_state("networkidle")
    assert page.dialogs == []
    headings = page.locator("h2").all_inner_texts()
    assert [h.strip("¶ \n") for h in headings][:2] == ["Where it stands", "Details"]
    assert "<script>alert('pwned')</script>" in page.locator("#symptom + p").inner_text()
    page.screenshot(path=ARTIFACTS / "site-hostile.png", full_page=True)


# ---- As a visitor sees the site on a wide screen and on a phone.

WIDTHS = {"wide": (1400, 1000), "phone": (400, 860)}
SCREENSHOTS = ARTIFACTS / "site-screenshots"
PAGES = {
    "home": "index.html",
    "matrix": "matrix.html",
    "incident": "incidents/2025-04-12-stylegan-label-dtype-mismatch.html",
    "incident-leak": "incidents/2025-04-15-stylegan-test-image-memory-leak.html",
    "category": "categories/stylegan.html",
    "tag": "tags/dtype.html",
    "contributing": "contributing.html",
    "performance": "performance.html",
    "outcomes": "outcomes.html",
    "404": "404.html",
}
#: Text cut off at the right edge, outside any box the reader can scroll: the elements that stick out of the
#: window, or out of a parent that clips them, with no scrollable box between.
CUT_OFF = """() => {
  const scrolls = (el) => { for (let a = el.parentElement; a; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX; if (o === 'auto' || o === 'scroll') return true; } return false; };
  const cut = [];
  for (const el of document.querySelectorAll('.md-content *')) {
    if (!el.offsetParent || el.closest('details:not([open])') || el.closest('.ikb-pop')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || scrolls(el)) continue;
    if (r.right > document.documentElement.clientWidth + 1) cut.push(el.tagName + '.' + el.className + ': ' + (el.innerText || '').slice(0, 60));
  }
  return cut.slice(0, 10);
}"""


@pytest.fixture(params=list(WIDTHS), ids=list(WIDTHS))
def screen(request, browser: object) -> Iterator[object]:
    width, height = WIDTHS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.width_name = request.param
    yield tab
    context.close()


def _shot(tab, name: str, *, full: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=SCREENSHOTS / f"{name}-{tab.width_name}.png", full_page=full)


@pytest.mark.parametrize("record", site_samples.records(), ids=lambda r: r["id"][11:30])
def test_each_incident_page_opens_with_its_answer_grid_in_view(screen, site: Path, record) -> None:
    screen.goto((site / "incidents" / f"{record['id']}.html").as_uri())
    grid = screen.locator(".ikb-grid")
    box = grid.bounding_box()
    assert box is not None and box["y"] < screen.viewport_size["height"] - 40, "the grid starts below the fold"
    assert screen.locator(".ikb-answer-error").is_visible()
    legend = screen.locator(".ikb-legend li").all_inner_texts()
    shown = {s.inner_text() for s in grid.locator("summary").all()}
    assert shown <= {entry.split()[0] for entry in legend}, f"marks {shown} not all in the legend {legend}"
    _shot(screen, f"incident-{record['id'][11:40]}", full=False)


def test_a_mark_opens_to_the_observed_error_in_plain_text(screen, site: Path) -> None:
    screen.goto((site / PAGES["incident"]).as_uri())
    mark = screen.locator(".ikb-grid details.ikb-mark").first
    mark.locator("summary").click()  # a click, or a tap: no hover needed
    pop = mark.locator(".ikb-pop")
    sync_api.expect(pop).to_be_visible()
    text = pop.inner_text()
    assert "RuntimeError: expected mat1 and mat2" in text
    assert "symptom" in text and "torch 2.6.0" in text
    assert "where False" not in text and "/.nox/" not in text
    box = pop.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= screen.viewport_size["width"]
    _shot(screen, "incident-mark-opened", full=False)


def test_every_matrix_column_can_be_reached_with_the_incident_names_in_view(screen, site: Path) -> None:
    screen.goto((site / "matrix.html").as_uri())
    table = screen.locator(".ikb-overview")
    headings = table.locator("thead th")
    name = table.locator("tbody th").first
    table.scroll_into_view_if_needed()
    for index in range(1, headings.count()):
        heading = headings.nth(index)
        # As a reader scrolls the table sideways: the column comes to rest just right of the incident names.
        heading.evaluate("th => { const box = th.closest('.ikb-overview'); const name = box.querySelector('tbody th');"
                         " box.scrollLeft += th.getBoundingClientRect().left - name.getBoundingClientRect().right; }")
        column, label, view = heading.bounding_box(), name.bounding_box(), table.bounding_box()
        assert column and label and view
        assert column["x"] + column["width"] <= view["x"] + view["width"] + 1, f"column {index} is out of reach"
        assert label["x"] >= view["x"] - 1 and column["x"] >= label["x"] + label["width"] - 1, "name covered"
        assert name.is_visible() and label["x"] + label["width"] <= screen.viewport_size["width"]
    _shot(screen, "matrix-scrolled-right", full=False)


@pytest.mark.parametrize("query", ["자료형", "불일치"])
def test_searching_the_korean_title_finds_the_dtype_incident(page, site: Path, query: str) -> None:
    page.goto((site / "index.html").as_uri())
    search_lands_on(page, query, "2025-04-12-stylegan-label-dtype-mismatch")


@pytest.mark.parametrize("name", list(PAGES))
def test_no_page_has_text_cut_off_and_each_opens_from_disk(screen, site: Path, name: str) -> None:
    screen.goto((site / PAGES[name]).as_uri())
    styled = screen.evaluate("getComputedStyle(document.querySelector('.md-header')).position")
    assert styled in ("sticky", "fixed"), "the theme's stylesheet did not load from disk"
    for href in screen.eval_on_selector_all("link[rel=stylesheet], script[src]", "els => els.map(e => e.href || e.src)"):
        if href.startswith("file://"):
            assert Path(href[len("file://"):].split("?")[0]).is_file(), f"{name} links to a missing {href}"
    assert screen.evaluate(CUT_OFF) == []
    _shot(screen, f"page-{name}")
