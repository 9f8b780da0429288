"""What a run observed, cleaned for a reader: no pytest assertion dumps, no paths of the machine it ran on.

Results files keep what pytest and the runner printed, verbatim, for whoever debugs the harness. A reader of the
site wants the error and the check's own words: `AssertionError: the option no longer avoids the error`, not the
`assert not True + where True = any_matches([Signature(...` that pytest appends, and `torch/nn/modules/module.py`,
not `/work/x/.nox/regressions-torch-2-6-0/lib/python3.11/site-packages/torch/nn/modules/module.py`. The text is
cleaned when results are read (`incidentkb.site.sources`), so every page and tooltip shows the same words.
"""

from __future__ import annotations

import functools
import re

__all__ = ["clean", "first_line"]

#: Everything up to and including a packages folder: `/opt/torch/.venv/lib/python3.12/site-packages/`.
_PACKAGES = re.compile(r"""(?:[A-Za-z]:)?[^\s"'(]*?[/\\](?:site|dist)-packages[/\\]""")
#: A nox or virtual environment's folder that is not a packages folder: `/work/x/.nox/regressions-.../bin/`.
_ENV = re.compile(r"""(?:[A-Za-z]:)?[^\s"'(]*?[/\\]\.(?:nox|venv|tox)[/\\][^\s"'/\\]+[/\\]""")
#: An absolute path into the repository's regressions or sources: keep it from that folder on.
_REPO = re.compile(r"""(?:[A-Za-z]:)?(?<![\w.])[/\\][^\s"'(]*?[/\\](?=(?:regressions|src|tests)[/\\])""")
#: The start of what pytest appends to a failed `assert`: the statement, then `+  where ...` lines.
_ASSERT_DUMP = re.compile(r"^(?:assert\b|\s*\+\s+where\b|\s*\+\s)")


@functools.lru_cache(maxsize=4096)  # the same text comes back in every cell where a case saw it
def clean(text: str) -> str:
    """`text` without pytest's assertion dump and with runner paths cut to what follows the packages folder."""
    if not text:
        return text
    lines = text.splitlines()
    kept: list[str] = []
    for line in lines:
        if _ASSERT_DUMP.match(line):
            break  # pytest's rewrite of the failed statement: everything after it is its explanation
        kept.append(line)
    if kept and kept[-1].strip() in ("AssertionError: None", "AssertionError"):
        kept[-1] = "AssertionError: the regression's check failed"
    if not kept and lines:
        kept = ["the regression's check failed"]
    out = "\n".join(kept)
    if "/" in out or "\\" in out:
        out = _REPO.sub("", _ENV.sub("", _PACKAGES.sub("", out)))
    return out


def first_line(text: str | None, limit: int = 240) -> str:
    """The first non-empty line of `text`, cut to `limit` characters, for a one-line summary."""
    for line in (text or "").splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""
