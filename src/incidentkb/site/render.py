"""Filling the templates: generated pages are HTML templates; only the schema reference is Markdown.

The templates live in `incidentkb/templates/site/`; a site overrides any of them by putting a file of the same
name in the directory named by the plugin's `templates` option (as MkDocs themes are overridden with
`custom_dir`).

Generated pages skip Markdown: `*.html` templates are rendered with Jinja's HTML autoescape straight into the
page's content, and their headings, declared with `heading()`, become the page's table of contents. At a
thousand incidents, Markdown and the search indexer parsing whole pages were most of the build time, so:

- a searchable generated page has a second, short template (`incident_search.html`) of what search should
  find: the title, the symptom with its error text and the errors observed since, the cause, the attempts and
  the fix. The search plugin indexes that text instead of the page (see `incidentkb.site.plugin`), so it never
  parses the tables.
- `late("x.html")` leaves a token (an HTML comment) where a fragment for reading goes (a generated page's
  matrix, environment, how to run it; the home table), and the plugin puts the fragment in the finished page,
  after the search plugin has indexed the page. A generated page is rendered just before MkDocs builds it,
  and its fragments are dropped once in place, so MkDocs, which holds every page's content until the last page
  is written, holds a fifth of it.
- `*.md` templates (the schema reference put into the hand-written contributing page) produce Markdown in
  which every `{{ value }}` is passed through `markup.inert`, so record text stays text there too.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
)
from markupsafe import Markup
from mkdocs.structure.toc import AnchorLink, TableOfContents
from mkdocs.utils import get_relative_url

from incidentkb.site import markup, pages
from incidentkb.site.case_runs import axis_words
from incidentkb.site.grid import answer_grid, grid_legend, overview_legend
from incidentkb.site.layout import cell_date, gpu_torch_note, layout
from incidentkb.site.newest import newest_answer, unbisected
from incidentkb.site.own_axes import unverifiable
from incidentkb.site.plots import history_plot, memory_plot
from incidentkb.site.run_locally import first_run_lines, local_runs
from incidentkb.site.schema_doc import describe_outcomes, describe_schema
from incidentkb.site.table_bodies import IncidentRows, matrix_rows, overview_cells

__all__ = ["Renderer", "RenderError", "Links", "RenderedPage", "fill_late", "table_of_contents"]

_TOKEN_START, _TOKEN_END = "<!--incidentkb-late-", "-->"
_TOKEN = _TOKEN_START + "{}" + _TOKEN_END


class RenderError(Exception):
    """A template that cannot be loaded or rendered; the message names the template."""


def _date(value: dt.date | dt.datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d")


def _inert_finalize(value: Any) -> Markup:
    if value is None:
        return Markup("")
    return value if isinstance(value, Markup) else Markup(markup.inert(str(value)))


class Links:
    """Relative URLs from the page being rendered to any page of the site, by source URI."""

    def __init__(self, urls: Mapping[str, str], here: str) -> None:
        self._urls = urls
        self._here = here

    def __call__(self, uri: str, anchor: str = "") -> Markup:
        target = self._urls.get(uri)
        if target is None:
            raise RenderError(f"link to {uri!r}, which is not a page of the site")
        relative = get_relative_url(target, self._here)
        if target.endswith("/") and not relative.endswith("/"):
            relative += "/"  # `../..` for the home page would work; `../../` says it is a directory
        return Markup(html.escape(relative + (f"#{anchor}" if anchor else "")))


@dataclass
class RenderedPage:
    """A generated page's content, its headings (for the table of contents) and what search indexes of it."""

    html: str
    headings: list[tuple[int, str, str]] = field(default_factory=list)
    """(level, id, title as HTML) of each heading, in order."""
    search: str | None = None
    """The HTML search indexes for the page, when it has a search template."""
    late: list[str] = field(default_factory=list)
    """The fragments its tokens stand for, rendered, in order (`fill_late` puts them in place)."""


def fill_late(page_html: str, late: Sequence[str]) -> str:
    """Put each late fragment where its token is in the finished page.

    Split at the tokens rather than searched with a pattern: a pattern is tried at every position of a page of
    80 KB, a thousand pages over.
    """
    if not late:
        return page_html
    parts = page_html.split(_TOKEN_START)
    out = [parts[0]]
    for part in parts[1:]:
        number, end, rest = part.partition(_TOKEN_END)
        if not end or not number.isdigit() or int(number) >= len(late):
            out.append(_TOKEN_START + part)  # not one of ours
            continue
        if out[-1].endswith("<p>") and rest.startswith("</p>"):  # Markdown wrapped a token that stood alone
            out[-1], rest = out[-1][:-3], rest[4:]
        out.append(late[int(number)])
        out.append(rest)
    return "".join(out)


def table_of_contents(headings: list[tuple[int, str, str]]) -> TableOfContents:
    """MkDocs' table of contents from the headings a template declared, nested by level as Markdown's is.

    The h1 is kept as the root: the theme drops it itself when the page has an `<h1 id=...>`.
    """
    roots: list[AnchorLink] = []
    stack: list[AnchorLink] = []
    for level, anchor, title in headings:
        link = AnchorLink(title, anchor, level)
        while stack and stack[-1].level >= level:
            stack.pop()
        (stack[-1].children if stack else roots).append(link)
        stack.append(link)
    if roots:
        roots[0].active = True  # type: ignore[attr-defined]  # as MkDocs' get_toc does
    return TableOfContents(roots)


class _PageState:
    """What one page's template declares while it renders: headings and tab sets."""

    def __init__(self, rendered: RenderedPage) -> None:
        self._rendered = rendered
        self._tab_sets = 0
        self.late: list[str] = []
        """The templates of the late fragments, in the order of their tokens."""

    def heading(self, level: int, title: Any, anchor: str) -> Markup:
        """`<hN id=...>` with MkDocs' permalink; the title may be markup (e.g. from `prose`)."""
        if isinstance(title, Markup):
            title_html, toc_title = title, html.escape(title.striptags(), quote=False)
        else:
            title_html = Markup.escape(title)
            toc_title = markup.plain_title(title)  # on one line, as striptags would leave it
        self._rendered.headings.append((level, anchor, toc_title))
        anchor_html = html.escape(anchor)
        return Markup(
            f'<h{level} id="{anchor_html}">{title_html}<a class="headerlink" href="#{anchor_html}" '
            f'title="Permanent link">&para;</a></h{level}>'
        )

    def late_token(self, name: str) -> Markup:
        """A token for a fragment for reading, put in place of the token in the finished page."""
        self.late.append(name)
        return Markup(_TOKEN.format(len(self.late) - 1))

    def tab_set(self) -> int:
        """A number for the next content-tab set on the page, so its radio buttons' ids are unique."""
        self._tab_sets += 1
        return self._tab_sets


def _unverifiable(item: Any, kb: Any) -> list[tuple[str, str]]:
    """The incident's cases whose stated hardware no run has shown (`own_axes.unverifiable`), from its entries."""
    return unverifiable(item.incident, item.outcomes_by_role(), kb.gpus_seen)


class Renderer:
    """Renders the site's templates; `overrides` is a directory whose templates win over the packaged ones."""

    def __init__(self, overrides: str | None = None) -> None:
        loaders: list[Any] = [FileSystemLoader(overrides)] if overrides else []
        loaders.append(PackageLoader("incidentkb", "templates/site"))
        # No auto-reload, as MkDocs' theme: a template is read once per build (the plugin makes a new Renderer
        # for each), not looked up on disk again at each of the 5,000 renders of a thousand incidents.
        common: dict[str, Any] = dict(
            loader=ChoiceLoader(loaders), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
            auto_reload=False,
        )
        names = dict(
            axis_words=axis_words,
            incident_uri=pages.incident_uri,
            category_uri=pages.category_uri,
            tag_uri=pages.tag_uri,
            MATRIX=pages.MATRIX,
            CATEGORIES=pages.CATEGORIES,
            TAGS=pages.TAGS,
        )
        self.html_env = Environment(autoescape=True, **common)
        self.html_env.filters.update(
            date=_date,
            prose=lambda text: Markup(markup.html_prose(text)),
            code=lambda text, language="text": Markup(markup.code_block(text, language)),
            first_sentence=markup.first_sentence,
            split_note=markup.split_note,
            error_line=markup.error_line,
            error_words=markup.error_words,
            plain=markup.plain_text,
            diff=markup.unified_diff,
            answer_grid=answer_grid,
            grid_legend=grid_legend,
            overview_legend=overview_legend,
            newest_answer=newest_answer,
            code_href=lambda kb, path, case, url: kb.derived["code"].href(path, case, url) if "code" in kb.derived else "",
            layout=layout,
            gpu_torch_note=gpu_torch_note,
            cell_date=cell_date,
            unbisected=unbisected,
            memory_plot=memory_plot,
            history_plot=history_plot,
            matrix_rows=matrix_rows,
            overview_cells=overview_cells,
            incident_rows=IncidentRows(),
            local_runs=lambda item, kb: local_runs(item, kb.matrix),
            first_run_lines=first_run_lines,
            unverifiable=_unverifiable,
            # Jinja's `join` escapes under autoescape; lines bound for `code` must stay verbatim until it does.
            join_text=lambda items, sep="": sep.join(str(i) for i in items),
        )
        self.html_env.globals.update(names)
        # Markdown: the finalizer makes plain values inert; autoescape makes macros return markup, not text.
        self.markdown_env = Environment(autoescape=True, finalize=_inert_finalize, **common)
        self.markdown_env.filters.update(prose=lambda text: Markup(markup.prose(text)))

    def page(self, template: str, context: Mapping[str, Any], links: Links, search: str | None = None) -> RenderedPage:
        """A generated page's HTML content and headings, its late fragments, and what search indexes of it.

        The content holds a token for each late fragment; `search` names the template of the search text.
        """
        rendered = RenderedPage("")
        full = {**context, "url": links}
        state = _PageState(rendered)
        rendered.html = self.render_html(
            template, {**full, "heading": state.heading, "late": state.late_token, "tab_set": state.tab_set}
        )
        rendered.late = [self.render_html(name, full) for name in state.late]
        if search is not None:
            rendered.search = self.render_html(search, full)
        return rendered

    def fragment(self, template: str, context: Mapping[str, Any], links: Links, late: list[str]) -> str:
        """A late fragment for a hand-written page: appends it to `late`, returns the token to put in its place."""
        late.append(self.render_html(template, {**context, "url": links}))
        return _TOKEN.format(len(late) - 1)

    def render_html(self, template: str, context: Mapping[str, Any]) -> str:
        return self._render(self.html_env, template, context)

    def schema_reference(self, links: Links) -> str:
        """The record schema's reference as Markdown, for the `<!-- incidentkb/schema -->` placeholder.

        Markdown, not HTML: its headings belong in the contributing page's table of contents.
        """
        return self._render(self.markdown_env, "schema.md", {"models": describe_schema(), "url": links})

    def outcome_words(self, links: Links) -> str:
        """The table of outcome words as Markdown, for the `<!-- incidentkb/outcomes -->` placeholder."""
        return self._render(self.markdown_env, "outcomes.md", {"outcomes": describe_outcomes(), "url": links})

    def asset(self, name: str) -> str:
        """A file copied into the site as it is (the stylesheet, a script), overridable like a template."""
        try:
            source, _, _ = self.html_env.loader.get_source(self.html_env, name)  # type: ignore[union-attr]
        except TemplateError as exc:
            raise RenderError(f"template {name}: {exc}") from None
        return source

    @staticmethod
    def _render(env: Environment, template: str, context: Mapping[str, Any]) -> str:
        try:
            return env.get_template(template).render(context)
        except TemplateError as exc:
            where = f"{exc.filename}:{exc.lineno}" if getattr(exc, "lineno", None) else template
            raise RenderError(f"template {where}: {exc.message or exc}") from None
