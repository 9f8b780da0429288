"""Record text as page content: escaped HTML for the generated pages, inert Markdown for hand-written ones.

A record is data written by many people: a symptom may quote `<script>`, a traceback may hold a run of
backticks, a lesson may start with `#`. The generated pages are HTML templates with autoescape, so record text
only ever needs HTML escaping (`html_prose`, `code_block`). Text that goes into a hand-written Markdown page
(the schema reference in the contributing page) is made `inert`: every character Markdown or HTML could act
on becomes a character reference, so it cannot open a fence, a heading or a tag.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

__all__ = ["inert", "prose", "html_prose", "code_block", "plain_title", "first_sentence", "error_line", "split_note",
           "plain_text", "unified_diff"]

# Characters that start Markdown or extension syntax (emphasis, links, tables, admonitions, tabs, attr lists,
# headings, lists, code spans), plus those HTML gives a meaning to.
_ACTIVE = re.compile(r"""[\\`*_{}\[\]()#+\-.!|~=^:<>&"'$%@]""")
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)


def _lines(text: str) -> str:
    """Line breaks normalised, outer blank lines dropped, indentation cut to one space (four make code)."""
    text = str(text).replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return _INDENT.sub(" ", text)


def _inert_escape(text: str) -> str:
    return _ACTIVE.sub(lambda m: f"&#{ord(m.group())};", text).replace("\n", "<br>")


#: `**words**`, Markdown's strong emphasis, which records quote from logs written in Markdown.
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


def _html_escape(text: str) -> str:
    return _STRONG.sub(r"<strong>\1</strong>", html.escape(text)).replace("\n", "<br>")


def _with_code_spans(text: str, escape: Callable[[str], str]) -> str:
    out: list[str] = []
    position = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(escape(text[position : match.start()]))
        out.append(f"<code>{escape(match.group(2))}</code>")
        position = match.end()
    out.append(escape(text[position:]))
    return "".join(out)


def inert(text: str) -> str:
    """`text` as inline HTML with no Markdown or HTML meaning; line breaks become `<br>`."""
    return _inert_escape(_lines(text))


def prose(text: str) -> str:
    """Like `inert`, but a `code span` in the record's text is shown as code, as authors expect."""
    return _with_code_spans(_lines(text), _inert_escape)


def html_prose(text: str) -> str:
    """Record prose as HTML: escaped, line breaks kept, `code spans` shown as code, nothing else interpreted."""
    return _with_code_spans(_lines(text), _html_escape)


def plain_title(text: str) -> str:
    """A title for places themes print unescaped (`<title>`, the header): HTML-escaped once, on one line."""
    return html.escape(" ".join(str(text).split()), quote=False)


@functools.lru_cache(maxsize=None)
def _lexer(language: str) -> Lexer | None:
    if language in ("", "text", "plain", "none"):
        return None
    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        return None


_FORMATTER = HtmlFormatter(nowrap=True)


def code_block(text: str, language: str = "text") -> str:
    """A code block as pymdownx.highlight writes it (so the theme styles it and adds its copy button).

    The text is kept verbatim; Pygments colours it where it knows the language, else it is only escaped.
    One formatter serves every block: creating one per block (what Markdown does) costs a stylesheet each time.
    """
    body = str(text).replace("\r\n", "\n").replace("\r", "\n").rstrip("\n") + "\n"
    language = re.sub(r"[^\w+-]", "", language) or "text"
    lexer = _lexer(language)
    code = highlight(body, lexer, _FORMATTER) if lexer is not None else html.escape(body, quote=False)
    return f'<div class="language-{language} highlight"><pre><span></span><code>{code}</code></pre></div>'


#: The end of a sentence: a stop and a space before a capital or a digit, not after a common abbreviation.
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\betc)[.!?](?=\s+[A-Z0-9\"'(`])")


def first_sentence(text: str) -> str:
    """The first sentence of record prose (outside code spans), for the answer at the top of an incident page."""
    text = " ".join(str(text).split())
    spans = [(m.start(), m.end()) for m in _CODE_SPAN.finditer(text)]
    for match in _SENTENCE_END.finditer(text):
        if not any(start <= match.start() < end for start, end in spans):
            return text[: match.end()]
    return text


def split_note(text: str) -> tuple[str, str]:
    """A note as (its first sentence, the rest): the first sentence is the note's heading."""
    head = first_sentence(text)
    return head, " ".join(str(text).split())[len(head):].strip()


def error_line(text: str) -> str:
    """The line of a traceback that names the error: the last line that starts with an exception name, else the
    last line."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[\w.]*(Error|Exception|Warning|Interrupt)\b.*:", line):
            return line
    return lines[-1] if lines else ""


_FRAME = re.compile(r'^\s*File "(?:[^"]*[\\/])?([^"\\/]+)"(, line \d+(?:, in \S+)?)?\s*$')


def error_words(text: str) -> str:
    """A traceback as search should hold it: the error's own lines, each frame as `file.py, line 490, in function`.

    A result card shows the start of what was indexed; `File "C:\\Users\\...", line 490` there says nothing a
    reader searched for, and the paths of someone's machine match no one's query.
    """
    out = []
    for line in str(text).splitlines():
        if line.strip() == "Traceback (most recent call last):":
            continue
        frame = _FRAME.match(line)
        out.append(frame.group(1) + (frame.group(2) or "") if frame else line)
    return "\n".join(out).strip("\n")


def plain_text(text: str) -> str:
    """Record prose for search: code spans and emphasis as plain words (no backticks, no asterisks)."""
    return _STRONG.sub(r"\1", _CODE_SPAN.sub(lambda m: m.group(2), " ".join(str(text).split())))


def unified_diff(before: str, after: str) -> str:
    """The fix as a diff of its code, without the file header lines."""
    import difflib

    lines = difflib.unified_diff(str(before).splitlines(), str(after).splitlines(), lineterm="", n=2)
    return "\n".join(line for line in lines if not line.startswith(("---", "+++")))
