"""Links from the site to the code: each case's test function, the record behind a page, the repository.

A reader who sees "fix holds" wants the code that says so. When the project's URL is configured (`repo_url`
in mkdocs.yml, e.g. from `INCIDENTKB_REPO_URL`), a case links to its line in the repository and each page has
an edit link to its source (an incident page: its record); without one, the site carries each regression file
as a page of its own (`code/<path>.html`, line anchors `#L<n>`), so the links work from disk too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from incidentkb.site.pages import PageSpec

__all__ = ["CodeLinks", "source_uri"]


_DEF = re.compile(r"^\s*(?:async\s+)?def (\w+)\(")


def source_uri(path: str) -> str:
    """The generated page of a regression file: `regressions/test_x.py` -> `code/regressions/test_x.py.md`."""
    return f"code/{path}.md"


class CodeLinks:
    """Where a case's code is: the repository (when configured) or the file's page in the site."""

    def __init__(self, root: Path, repo_url: str | None, edit_uri: str | None) -> None:
        self.root = root
        self.repo = repo_url.rstrip("/") if repo_url else None
        # `edit/main/docs/` -> `edit/main/`: the same branch for files outside docs/ (records, regressions).
        edit = (edit_uri or "").strip("/")
        self._edit_base = f"{self.repo}/{edit[: -len('docs')].strip('/')}" if self.repo and edit.endswith("docs") else None
        self._blob_base = self._edit_base.replace("/edit/", "/blob/", 1) if self._edit_base and "/edit/" in self._edit_base else None

    @functools.lru_cache(maxsize=None)
    def _lines(self, path: str) -> tuple[str, ...]:
        file = self.root / path
        try:
            return tuple(file.read_text(encoding="utf-8").splitlines()) if file.is_file() else ()
        except (OSError, UnicodeDecodeError):
            return ()

    @functools.lru_cache(maxsize=None)
    def _functions(self, path: str) -> dict[str, int]:
        """Each function of the file and its line (read once per file, whoever links to it)."""
        found: dict[str, int] = {}
        for number, line in enumerate(self._lines(path), 1):
            match = _DEF.match(line)
            if match:
                found.setdefault(match.group(1), number)
        return found

    def line_of(self, path: str, case: str) -> int | None:
        """The line of `def <case>(` in the regression file, or None when it is not there."""
        return self._functions(path).get(case)

    def href(self, path: str, case: str, url: Callable[[str, str], str]) -> str:
        """The link to a case's code: its line in the repository, or in the file's page of this site."""
        line = self.line_of(path, case)
        anchor = f"L{line}" if line else ""
        if self._blob_base:
            return f"{self._blob_base}/{path}" + (f"#{anchor}" if anchor else "")
        return str(url(source_uri(path), anchor)) if self._lines(path) else ""

    def edit_url(self, path: str) -> str | None:
        """The repository's edit link of a file of the project (None without a configured URL)."""
        return f"{self._edit_base}/{path}" if self._edit_base else None

    def source_pages(self, paths: Iterable[str]) -> list[PageSpec]:
        """A page per regression file that exists, unless the repository has the code (then links go there)."""
        if self._blob_base:
            return []
        specs = []
        for path in sorted(set(paths)):
            lines = self._lines(path)
            if lines:
                specs.append(PageSpec(source_uri(path), path, "source.html", {"path": path, "lines": lines},
                                      hide=("navigation", "toc")))
        return specs
