"""The MkDocs page of a generated page: its content comes from a template, never from Markdown.

MkDocs turns every page's Markdown into HTML with a Markdown instance of its own, built anew with every
extension of `mkdocs.yml`; for a thousand incident pages whose Markdown is empty that was a tenth of the build.
A `GeneratedPage` skips it: when MkDocs reads the pages it has nothing to read, and the plugin `fill`s it just
before MkDocs builds it (from the page worker, or rendering its template through the callable the plugin
gives it); the page keeps the headings for the table of contents and the short text search indexes. Filled
then, nothing is held long, and the worker, when there is one, renders the pages while MkDocs builds others.
"""

from __future__ import annotations

from collections.abc import Callable

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.structure.toc import TableOfContents

from incidentkb.site.pages import PageSpec
from incidentkb.site.render import RenderedPage, table_of_contents

__all__ = ["GeneratedPage"]


class GeneratedPage(Page):
    """A page of the knowledge base that the plugin generates; `render_spec` fills its template."""

    def __init__(self, file: File, config: MkDocsConfig, spec: PageSpec,
                 render_spec: Callable[[PageSpec, str], RenderedPage], *, title: str | None = None,
                 edit_url: str | None = None) -> None:
        super().__init__(title, file, config)  # a title from `nav:`, as MkDocs would give its own page
        # MkDocs would point the edit link at docs/<uri>, which does not exist: an incident page edits its record.
        self.edit_url = edit_url
        self.spec = spec
        self._render_spec = render_spec
        self.search_html: str | None = None
        """What search indexes instead of the whole content (None: nothing; the page is excluded from search)."""
        self._aside: str | None = None
        self.late: list[str] = []
        """Fragments for reading that the plugin puts into the finished page (their tokens are in `content`)."""

    def read_source(self, config: MkDocsConfig) -> None:
        # Nothing to read and no front matter to parse: the spec holds the page's meta.
        self.markdown = ""
        self.meta = dict(self.spec.meta)

    def render(self, config: MkDocsConfig, files: Files) -> None:
        self.content = ""  # for plugins that look at it now; `fill` gives the page its own
        self.toc = TableOfContents([])  # likewise (mkdocstrings' autorefs reads `toc.items` of every page)

    def fill(self) -> None:
        """Give the page its content, headings, search text and late fragments (when MkDocs is about to build it)."""
        rendered = self._render_spec(self.spec, self.file.url)
        self.content = rendered.html
        self.toc = table_of_contents(rendered.headings)  # type: ignore[assignment]
        self.present_anchor_ids = {anchor for _, anchor, _ in rendered.headings}
        self.search_html = rendered.search
        self.late = rendered.late

    def show_search_text(self) -> None:
        """Make the content the search text (or nothing), while the search plugin reads the page.

        The search plugin parses the content of a page it indexes, and rewrites the content of every page, even
        one excluded from search (the matrix page is 4 MB at 1,000 incidents).
        """
        self._aside, self.content = self.content, self.search_html or ""

    def show_content(self) -> None:
        """Give the page its content back."""
        if self._aside is not None:
            self.content, self._aside = self._aside, None
