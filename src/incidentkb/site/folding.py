"""Long hand-written pages fold their long sections, so that none is a 15,000-pixel scroll.

A page opts in with `fold: true` in its front matter. Each `<h2>` section whose body is long stays under its
heading (the table of contents and search still land on the heading) with the body in a
`<details class="ikb-fold">`; the site's script opens the section a link or a search result points into.
Short sections stay open: folding a paragraph only costs a click.
"""

from __future__ import annotations

import html
import re

__all__ = ["fold_sections", "FOLD_OVER"]

#: A section body longer than this much HTML folds (about a screen of prose at 1400 px).
FOLD_OVER = 2500
_H2 = re.compile(r"(?=<h2[\s>])")
_HEADING = re.compile(r"^(<h2[^>]*>.*?</h2>)(.*)$", re.S)
_TAGS = re.compile(r"<[^>]+>")


def fold_sections(page_html: str, over: int = FOLD_OVER) -> str:
    """The page with the body of each long `<h2>` section folded under its heading."""
    parts = _H2.split(page_html)
    out = [parts[0]]
    for part in parts[1:]:
        match = _HEADING.match(part)
        if match is None or len(match.group(2)) <= over:
            out.append(part)
            continue
        heading, body = match.groups()
        title = " ".join(html.unescape(_TAGS.sub("", heading)).replace("¶", "").split())
        out.append(f'{heading}<details class="ikb-fold"><summary>Show “{html.escape(title)}”</summary>\n{body}</details>\n')
    return "".join(out)
