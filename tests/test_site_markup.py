"""Record text in pages: shown as text, whatever it holds (incidentkb.site.markup)."""

from __future__ import annotations

import html
import re

import pytest

from incidentkb.site.folding import fold_sections
from incidentkb.site.markup import code_block, html_prose, inert, plain_title, prose

HOSTILE = [
    "<script>alert(1)</script>",
    "``` a fence opener",
    "```` four backticks\n```",
    "# not a heading",
    "    four spaces are not code",
    '=== "not a tab"',
    "!!! note \"not an admonition\"",
    "| not | a | table |",
    "**not bold** _not em_ [not](a-link) {: .attr }",
    "&amp; stays &amp;",
    "</code></pre></div></table>",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_inert_text_has_no_character_markdown_or_html_acts_on(text: str) -> None:
    out = inert(text)
    assert re.search(r"[`*_#|<>&\[\]{}=!]", re.sub(r"&#\d+;|<br>", "", out)) is None
    # The words survive; indentation is cut to one space (four would make a code block).
    shown = html.unescape(out.replace("<br>", "\n"))
    assert shown.split() == text.split()
    assert not re.search(r"^ {2,}", shown, re.MULTILINE)


@pytest.mark.parametrize("text", HOSTILE)
def test_html_prose_escapes_every_tag(text: str) -> None:
    out = html_prose(text)
    assert "<script" not in out and "</div>" not in out and "</pre>" not in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("use `with torch.no_grad()` always", "use <code>with torch.no_grad()</code> always"),
        ("``a ` b`` and `c`", "<code>a ` b</code> and <code>c</code>"),
        ("an odd ` backtick stays", "an odd ` backtick stays"),
        ("`<b>`", "<code>&lt;b&gt;</code>"),
        ("two\nlines", "two<br>lines"),
        ("    indented", " indented"),
    ],
)
def test_html_prose_shows_code_spans_as_code_and_nothing_else(text: str, expected: str) -> None:
    assert html_prose(text) == expected


def test_prose_for_markdown_keeps_code_spans_and_makes_the_rest_inert() -> None:
    assert prose("a `x_y` b_c") == "a <code>x&#95;y</code> b&#95;c"


@pytest.mark.parametrize(
    ("text", "language", "shown"),
    [
        ("RuntimeError: double != float\n", "text", "RuntimeError: double != float"),
        ("</code></pre><script>alert(1)</script>", "text", "&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;"),
        ("```` inside", "text", "```` inside"),
        ("x = 1 < 2", "python", "&lt;"),
    ],
)
def test_code_block_keeps_text_verbatim_and_escaped(text: str, language: str, shown: str) -> None:
    out = code_block(text, language)
    assert out.startswith(f'<div class="language-{language} highlight"><pre><span></span><code>')
    assert out.endswith("</code></pre></div>")
    assert shown in out
    assert "<script" not in out


def test_code_block_colours_python_and_not_unknown_languages() -> None:
    assert '<span class="' in code_block("import torch", "python")
    assert code_block("import torch", "no-such-language").count("<span") == 1  # only the theme's empty span


def test_plain_title_is_escaped_once_and_on_one_line() -> None:
    assert plain_title("A <b> &\n title") == "A &lt;b&gt; &amp; title"


def test_a_long_section_folds_under_its_heading_and_a_short_one_stays_open() -> None:
    page = ('<p>intro</p><h2 id="a">1. Long &amp; wide<a class="headerlink" href="#a">&para;</a></h2>' + "<p>x</p>" * 800
            + '<h2 id="b">Short</h2><p>y</p>')
    folded = fold_sections(page)
    assert '</h2><details class="ikb-fold"><summary>Show “1. Long &amp; wide”</summary>' in folded
    assert '<h2 id="b">Short</h2><p>y</p>' in folded and folded.count("<details") == 1
