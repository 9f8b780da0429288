"""`mkdocs build --strict` of the site from records and results (the incidentkb MkDocs plugin).

Each build runs on a temporary copy of mkdocs.yml and docs/ with the synthetic records of `site_samples`,
the seed log's three incidents and one whose text is hostile to Markdown and HTML.
"""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest
import site_samples
from site_samples import HOSTILE_ID, REPO, make_project, mkdocs_build

from incidentkb.records.schema import Incident

IDS = [r["id"] for r in site_samples.records()]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = make_project(tmp_path_factory.mktemp("project"))
    done = mkdocs_build(project)
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr
    return project / "site"


def page(site: Path, uri: str) -> str:
    """The built page of `uri` (`""` for the home page): flat `.html` files, so the site opens from disk."""
    return (site / f"{uri or 'index'}.html").read_text(encoding="utf-8")


def test_no_generated_page_is_committed() -> None:
    written = sorted(p.relative_to(REPO / "docs").as_posix() for p in (REPO / "docs").rglob("*") if p.is_file())
    assert written == ["api.md", "architecture.md", "contributing.md", "index.md", "operators.md", "outcomes.md",
                       "performance.md", "slurm-notes.md", "upgrades.md", "writing-regressions.md"]


def test_every_record_has_a_page_linked_from_the_home_table(site: Path) -> None:
    home = page(site, "")
    for incident_id in IDS:
        assert (site / "incidents" / f"{incident_id}.html").is_file()
        assert f'href="incidents/{incident_id}.html"' in home


def test_category_and_tag_pages_list_their_incidents(site: Path) -> None:
    assert 'href="../incidents/2025-04-12-stylegan-label-dtype-mismatch.html"' in page(site, "categories/stylegan")
    assert 'href="../incidents/2025-04-21-llm-sft-batch-size-multi-gpu.html"' in page(site, "tags/multi-gpu")
    assert 'href="categories/stylegan.html"' in page(site, "categories")
    assert 'href="tags/dtype.html"' in page(site, "tags")


def test_an_incident_page_has_the_record_and_its_matrix(site: Path) -> None:
    html = page(site, "incidents/2025-04-12-stylegan-label-dtype-mismatch")
    # The answer first (the error, where it stands, cause and fix), then the long material, folded and named.
    answer = html[: html.index('<h2 id="details"')]
    assert '<code>RuntimeError: expected mat1 and mat2 to have the same dtype, but got: double != float</code>' in answer
    assert '<table class="ikb-grid">' in answer and '<ul class="ikb-legend">' in answer
    assert ">Cause</span> PyTorch" in answer and ">Fix</span> Cast" in answer
    for summary in ("Symptom: what was seen", "Cause, in full", "The fix, explained", "Failed attempts: 1 thing",
                    "Lessons", "Original environment", "Every case in every cell", "Run this regression locally"):
        assert re.search(rf"<summary>{summary}", html), summary
    tabs = re.findall(r'<label for="__tabbed_1_\d">([^<]+)</label>', html)
    assert tabs == ["After the fix", "Before", "Diff"]  # the code to copy first
    assert "The symptom reproduces with torch 2.6.0 and no longer reproduces with torch 2.13.0." in html
    matrix = html[html.index('<div class="ikb-matrix">'):]
    matrix = matrix[: matrix.index("</table>")]
    assert matrix.count("<tr>") == 1 + 5  # the heading and one row per cell
    assert "as run in torch=2.6.0 stack=4.51.3 gpus=0" in matrix  # the covered cell
    assert "cpu: reproduces" in matrix and "needs: 1 CUDA GPU (found 0)" in matrix
    assert "2025-06-01 on Linux 6.8 (linux, x86_64), 16 CPUs, no GPU" in matrix


def test_the_matrix_page_has_every_incident_in_every_cell(site: Path) -> None:
    html = page(site, "matrix")
    for cell in ("stack 4.51.3<br>torch 2.6.0<br>CPU", "stack 4.51.3<br>torch 2.13.0<br>2 GPUs"):
        assert cell in html
    assert html.count("newest 2025-06-0") == 5
    broken = re.findall(r'<a class="ikb-mark ikb-warn[^"]*"[^>]*><span class="ikb-glyph">✗</span></a>', html)
    assert len(broken) == 5  # the hostile record's broken fix, in each cell, in the warning tone
    assert "from 5 runs (results files)" in html


def test_hostile_text_is_shown_as_text_and_breaks_nothing(site: Path) -> None:
    for path in site.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "<script>alert" not in text, path
        assert "<b>label</b>" not in text and "<i>os</i>" not in text, path
    html = page(site, f"incidents/{HOSTILE_ID}")
    headings = re.findall(r'<h2 id="([\w-]+)"', html)
    assert headings == ["where-it-stands", "details"]
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html
    assert "Error ```` with a run of four backticks" in html
    assert "<title>Hostile &lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in html or \
        "<title>Hostile &lt;script&gt;alert('title')&lt;/script&gt;" in html


def test_the_navigation_stays_small(site: Path) -> None:
    html = page(site, "incidents/2025-04-15-stylegan-test-image-memory-leak")
    listed = len(re.findall(r"^  - \w[^:]*: \S+\.md$", (REPO / "mkdocs.yml").read_text(), re.MULTILINE))
    assert 0 < listed < 10
    for start in ('<nav class="md-tabs"', '<nav class="md-nav md-nav--primary'):
        nav = html[html.index(start):]
        nav = nav[: nav.index("</nav>")]
        assert "incidents/" not in nav
        assert len(re.findall(r'href="', nav)) <= listed + 1  # the pages of mkdocs.yml's nav, and the home link


def test_search_indexes_incident_pages_and_their_errors(site: Path) -> None:
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    pages = {d["location"].split("#")[0] for d in index["docs"]}
    assert {f"incidents/{i}.html" for i in IDS} <= pages
    assert not {"matrix.html", "categories.html", "tags.html", "tags/dtype.html"} & pages  # they only repeat incident text
    text = " ".join(d["text"] for d in index["docs"] if d["location"].startswith("incidents/2025-04-21"))
    assert "The size of tensor a (2) must match the size of tensor b (4)" in text
    separator = index["config"]["separator"]
    assert separator.startswith("[\\s\\-,:!=\\[\\]{}()<>+\"`/']+")  # `'generate'` is a word, `2.6.0+cu124` two
    assert "[A-Z]" not in separator  # `DataParallel` stays one word: a search for it finds the page that holds it


def test_the_contributing_page_documents_every_field_of_the_schema(site: Path) -> None:
    html = unescape(page(site, "contributing"))
    for name in Incident.model_fields:
        assert f"<code>{name}</code>" in html, name
    assert 'id="schema-failedattempt"' in html


def test_a_template_in_the_templates_directory_replaces_the_packaged_one(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / "overrides").mkdir()
    (project / "overrides" / "tags.html").write_text("{{ heading(1, 'Our own tags page', 'tags') }}\n")
    config = (project / "mkdocs.yml").read_text()
    assert "      incidents: incidents\n" in config
    (project / "mkdocs.yml").write_text(config.replace("      incidents: incidents\n", "      incidents: incidents\n      templates: overrides\n"))
    assert mkdocs_build(project).returncode == 0
    assert "Our own tags page" in page(project / "site", "tags")


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda p: (p / "incidents" / f"{HOSTILE_ID}.yaml").write_text("id: [unclosed\n"),
         f"incidents/{HOSTILE_ID}.yaml:2:1: invalid YAML"),
        (lambda p: (p / "docs" / "matrix.md").write_text("# mine\n"),
         "docs/matrix.md exists, but the plugin generates that page; remove the file"),
        (lambda p: (p / "regressions" / "results" / "bad.json").write_text("{}"),
         "bad.json"),
    ],
    ids=["broken record", "hand-written page where a generated one goes", "broken results file"],
)
def test_a_problem_stops_the_build_with_one_line_naming_the_file(tmp_path: Path, break_it, message) -> None:
    project = make_project(tmp_path)
    break_it(project)
    done = mkdocs_build(project)
    assert done.returncode == 1
    error = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    assert message in error[0]
    assert "Traceback" not in done.stderr


def test_an_incident_without_a_fix_reads_no_fix_known_everywhere(tmp_path: Path) -> None:
    """The ORPO out-of-memory incident was given up on: its page, the home table and search say "No fix known"
    and nothing says a fix holds."""
    leak = next(r for r in site_samples.records() if r["id"] == "2025-04-15-stylegan-test-image-memory-leak")
    del leak["fix"]
    leak["status"] = "wontfix"
    leak["regression"]["cases"] = [c for c in leak["regression"]["cases"] if c["role"] == "symptom"]
    runs = {name: {**data, "cases": [c for c in data["cases"] if c["incident"] == leak["id"] and c["role"] != "fix"]}
            for name, data in site_samples.results().items() if leak["id"] in data["incidents"]["ran"]}
    project = make_project(tmp_path, incidents=[leak], result_files=runs)
    done = mkdocs_build(project)
    assert done.returncode == 0, done.stderr
    html = page(project / "site", f"incidents/{leak['id']}")
    answer = html[: html.index('<h2 id="details"')]
    assert '<span class="ikb-q">Fix</span> No fix known.' in answer
    assert "No fix is known (status: wontfix)." in answer
    assert "The fix, explained" not in html and "fix holds" not in html and "holds" not in answer
    home = page(project / "site", "")
    assert "No fix known." in home and "holds" not in home


def test_the_home_table_answers_the_upgrade_question_in_one_line_per_incident(site: Path) -> None:
    """The newest torch that ran decides for an incident whose outcome depends on no stack; the line says what
    it found, in the tone of the answer, with the date of the newest run."""
    rows = re.findall(r'<td class="ikb-col-answer ikb-tone-(\w+)">([^<]*)</td>.*?ikb-col-date ikb-nowrap">([^<]*)<',
                      page(site, "index"), re.S)
    answers = {text: (tone, date) for tone, text, date in rows}
    assert answers["On any stack, torch 2.13.0, 2 GPUs: the bug is gone; the fix is not needed."] == ("reassure", "2025-06-03")
    assert answers["On any stack, torch 2.13.0, 2 GPUs: the bug is still there; the fix holds."][0] == "warn"
    assert "Failed attempts" not in page(site, "index")  # a failed attempt is never read as the fix
