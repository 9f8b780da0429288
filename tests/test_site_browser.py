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
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import site_samples
from site_samples import HOSTILE_ID, REPO, make_project, mkdocs_build

from incidentkb.site.layout import stack_order

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
    # On a loaded machine a click can land while Material still re-renders the list for the last keystroke, and
    # the old link it hit is gone: the reader clicks again, so the test does (the first result is checked above).
    for attempt in range(3):
        first.click()
        try:
            page.wait_for_url(f"**/incidents/{incident}.html**", timeout=20_000)
            break
        except sync_api.TimeoutError:
            if attempt == 2:
                raise
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

WIDTHS = {"wide": (1400, 900), "phone": (400, 800)}
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


# ---- Issue 22: the upgrade question answered on the first screen, at 1400x900 and 400x800, on the real pages.

REAL_INCIDENTS = sorted(p.stem for p in (REPO / "incidents").glob("*.yaml"))
#: The tones' colours (incidentkb.css): a bug present or a fix broken warns, a fix holding or a bug gone reassures.
WARN, REASSURE = "rgb(198, 40, 40)", "rgb(200, 230, 201)"


@pytest.fixture(scope="module")
def real_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's own site: its records and committed results, as a visitor sees them."""
    out = tmp_path_factory.mktemp("real") / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env.pop("INCIDENTKB_RESULTS", None)
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def _below_fold(tab, selector: str) -> list[str]:
    """The elements matching `selector` whose bottom lies below the window (the first screen)."""
    return tab.eval_on_selector_all(selector, "(els, h) => els.filter(e => e.getBoundingClientRect().bottom > h)"
                                    ".map(e => e.className + ': ' + e.innerText.slice(0, 60))", tab.viewport_size["height"])


@pytest.mark.parametrize("incident", REAL_INCIDENTS, ids=lambda i: i[11:35])
def test_the_first_screen_has_the_error_the_fix_the_newest_answer_and_the_grid_with_its_legend(screen, real_site, incident) -> None:
    screen.goto((real_site / "incidents" / f"{incident}.html").as_uri())
    for part in (".ikb-answer-error", ".ikb-answer-fix", ".ikb-answer-newest", "ul.ikb-legend"):
        assert screen.locator(part).count() == 1, part
        assert _below_fold(screen, part) == [], f"{part} is not on the first screen"
    assert re.search(r"Newest run: \d{4}-\d\d-\d\d", screen.locator(".ikb-answer-newest").inner_text())
    assert re.match(r"FIX\s+(No fix known\.|\S)", screen.locator(".ikb-answer-fix").inner_text(), re.I)
    grid = screen.locator(".ikb-grid").bounding_box()
    assert grid is not None and grid["y"] + 60 < screen.viewport_size["height"], "the grid starts below the fold"
    legend = {g.strip() for g in screen.locator("ul.ikb-legend .ikb-glyph").all_inner_texts()}
    shown = {s.strip() for s in screen.locator(".ikb-grid summary").all_inner_texts()}
    assert shown <= legend, f"marks {shown - legend} are not in the legend"
    _shot(screen, f"first-screen-{incident[11:40]}", full=False)


def test_colours_follow_the_question_and_marks_differ_without_colour(screen, real_site) -> None:
    screen.goto((real_site / "incidents" / "2025-04-21-llm-sft-batch-size-multi-gpu.html").as_uri())
    colour = "(el) => getComputedStyle(el).backgroundColor"
    marks = {s.inner_text().strip(): s.evaluate(colour) for s in screen.locator(".ikb-grid summary").all()}
    assert marks["●"] == WARN  # the bug is still there: a warning, not a green light
    assert marks["○"] == REASSURE and marks["✓"] == REASSURE  # the bug is gone, the fix holds
    assert marks["–"] not in (WARN, REASSURE)  # not applicable: neutral
    assert len(set(marks)) == len(marks)  # one glyph per kind of mark: readable in black and white


def test_the_home_page_answers_in_one_line_per_incident_and_clips_nothing(screen, real_site) -> None:
    screen.goto((real_site / "index.html").as_uri())
    rows = screen.locator(".ikb-incidents tbody tr")
    assert rows.count() == len(REAL_INCIDENTS)
    for row in rows.all():
        answer = row.locator(".ikb-col-answer").inner_text()
        assert answer.startswith(("On ", "not judged", "not run yet")) and re.search(r"\d{4}-\d\d-\d\d", row.locator(".ikb-col-date").inner_text())
    assert "Failed attempts" not in screen.locator(".ikb-incidents").inner_text()  # never mistaken for the fix
    clipped = screen.evaluate("""() => [...document.querySelectorAll('.ikb-incidents td, .ikb-incidents th')]
        .filter(c => c.scrollWidth > c.clientWidth + 1 || c.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .map(c => c.innerText.slice(0, 40))""")
    assert clipped == []
    assert screen.evaluate(CUT_OFF) == []
    _shot(screen, "home-answers")


def test_the_grid_keeps_its_stack_labels_in_view_and_shows_where_the_claim_ran_first(screen, real_site) -> None:
    screen.goto((real_site / "incidents" / "2025-04-21-llm-sft-batch-size-multi-gpu.html").as_uri())
    first_column = screen.locator(".ikb-grid thead th").nth(1).inner_text()
    assert "2 GPUs" in first_column  # the only GPU count where its symptom and fix can be shown
    assert "installed" not in screen.locator(".ikb-grid thead").inner_text()  # named by the torch that ran
    wrap = screen.locator(".ikb-grid-wrap")
    wrap.evaluate("w => { w.scrollLeft = w.scrollWidth; }")
    label, view = screen.locator(".ikb-grid tbody th").first.bounding_box(), wrap.bounding_box()
    assert label and view and label["x"] >= view["x"] - 1, "the stack labels scrolled away"
    stacks = [t.split("\n")[0] for t in screen.locator(".ikb-grid tbody th").all_inner_texts()]
    assert stacks == sorted(stacks, key=lambda s: stack_order(s.split()[1]))
    _shot(screen, "grid-scrolled-right", full=False)


def test_a_tap_opens_a_mark_on_an_incident_page_and_on_the_matrix(browser, real_site) -> None:
    context = browser.new_context(viewport={"width": 400, "height": 800}, has_touch=True, is_mobile=True)  # type: ignore[attr-defined]
    tab = context.new_page()
    try:
        tab.goto((real_site / "incidents" / "2025-04-15-stylegan-test-image-memory-leak.html").as_uri())
        mark = tab.locator(".ikb-grid details.ikb-mark").first
        mark.locator("summary").tap()
        sync_api.expect(mark.locator(".ikb-pop")).to_be_visible()
        mark.locator("summary").tap()  # closed again: its sheet covers the foot of the window
        tab.locator("svg.ikb-plot circle").last.tap()  # the leak plot's dot: its SVG title, shown on a tap
        sync_api.expect(tab.locator("#ikb-tap-pop")).to_contain_text("torch=")
        tab.goto((real_site / "matrix.html").as_uri())
        tab.locator(".ikb-overview a.ikb-mark").first.tap()
        pop = tab.locator("#ikb-tap-pop")
        sync_api.expect(pop).to_be_visible()
        assert "symptom" in pop.inner_text() and tab.url.endswith("matrix.html")  # opened, not navigated away
        box = pop.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 400
        tab.screenshot(path=SCREENSHOTS / "matrix-tapped-phone.png")
    finally:
        context.close()


def test_the_matrix_names_the_torch_that_ran_and_orders_stacks_as_the_grids_do(screen, real_site) -> None:
    screen.goto((real_site / "matrix.html").as_uri())
    headings = screen.locator(".ikb-overview thead th").all_inner_texts()[1:]
    assert headings and not any("installed" in h for h in headings)
    assert len(headings) == len(set(headings)), "two columns for the same torch, stack and GPUs"
    stacks = list(dict.fromkeys(h.split("\n")[0].split()[1] for h in headings))
    assert stacks == sorted(stacks, key=stack_order)  # newest first, as on every incident page
    legend, table = screen.locator("ul.ikb-legend").bounding_box(), screen.locator(".ikb-overview").bounding_box()
    assert legend and table and legend["y"] < table["y"], "the legend sits below the table"
    assert screen.locator("text=The GPU cells ran torch").count() == 1  # and a link to why


@pytest.mark.parametrize(("query", "expected"), [
    ("DataParallel", "incidents/2025-04-21-llm-sft-batch-size-multi-gpu.html"),
    ("memory leak", "incidents/2025-04-15-stylegan-test-image-memory-leak.html"),
    ("has no attribute 'generate'", "incidents/2025-03-23-orpo-get-batch-samples-collision.html"),
])
def test_search_ranks_the_page_holding_the_words_first_with_a_snippet_of_the_symptom(page, real_site, query, expected) -> None:
    page.goto((real_site / "index.html").as_uri())
    page.locator(".md-search__input").click()
    page.keyboard.type(query, delay=20)
    first = page.locator(".md-search-result__item > a").first
    sync_api.expect(first).to_have_attribute("href", re.compile(re.escape(expected)), timeout=30_000)
    card = page.locator(".md-search-result__item").first.inner_text()
    assert "Missing" not in card and 'File "' not in card and "C:\\Users" not in card
    assert len(card.split("\n", 1)[-1].strip()) > 40, "a title with no snippet"
    page.screenshot(path=SCREENSHOTS / f"search-{query.split()[0].strip(chr(39))}.png")


DOCS = ["contributing", "api", "performance", "writing-regressions", "operators", "architecture", "outcomes", "upgrades"]


@pytest.mark.parametrize("doc", DOCS)
def test_no_docs_page_is_a_long_scroll_or_cut_at_the_edge(screen, real_site, doc) -> None:
    screen.goto((real_site / f"{doc}.html").as_uri())
    height = screen.evaluate("document.documentElement.scrollHeight")
    if screen.width_name == "wide":
        assert height <= 6000, f"{doc} is {height} px long at 1400 px"
    hidden = screen.evaluate("""() => [...document.querySelectorAll('.md-content pre > code')]
        .filter(c => c.offsetParent && c.scrollWidth > c.clientWidth + 1).map(c => c.innerText.slice(0, 40))""")
    assert hidden == [], f"code runs out of view: {hidden}"
    assert screen.evaluate(CUT_OFF) == []


def test_a_folded_section_opens_when_a_link_points_into_it(page, real_site) -> None:
    page.goto((real_site / "contributing.html").as_uri() + "#schema-failedattempt")
    target = page.locator("#schema-failedattempt")
    sync_api.expect(target).to_be_visible()


def test_the_site_says_how_to_find_the_release_that_changed_it(page, real_site) -> None:
    page.goto((real_site / "upgrades.html").as_uri())
    assert page.locator("h2#how-to-find-the-release-that-changed-it").count() == 1
    assert "nox -s bisect" in page.locator(".md-content").inner_text()
    page.goto((real_site / "incidents" / "2025-04-21-llm-sft-batch-size-multi-gpu.html").as_uri())
    gap = page.locator(".ikb-gap")
    assert "has not been narrowed down" in gap.inner_text() and "nox -s bisect" in gap.inner_text()


def test_each_case_links_to_its_code(page, real_site) -> None:
    page.goto((real_site / "incidents" / "2025-04-21-llm-sft-batch-size-multi-gpu.html").as_uri())
    link = page.locator(".ikb-cases a").first
    link.click()
    page.wait_for_url("**/code/regressions/test_sft_batch_size.py.html#L*")
    line = page.url.rsplit("#L", 1)[1]
    assert "def test_" in page.locator(f"#L{line}").inner_text()


def test_the_repository_and_edit_links_appear_when_the_url_is_configured(tmp_path: Path, browser) -> None:
    project = make_project(tmp_path)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "INCIDENTKB_REPO_URL": "https://github.com/example/incidentkb"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    tab = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()  # type: ignore[attr-defined]
    tab.goto((project / "site" / "incidents" / "2025-04-12-stylegan-label-dtype-mismatch.html").as_uri())
    assert tab.locator("a.md-source").first.get_attribute("href") == "https://github.com/example/incidentkb"
    edit = tab.locator("a[title='Edit this page']").get_attribute("href")
    assert edit == "https://github.com/example/incidentkb/edit/main/incidents/2025-04-12-stylegan-label-dtype-mismatch.yaml"
    tab.context.close()
