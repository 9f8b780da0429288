"""`incidentkb check` on results files: no error a symptom case observed may match another incident's signatures.

This turns `incidentkb match` around: an error a symptom case observed, in any committed results file, that a
signature of another incident also matches would make `match` name the wrong incident, so the signature to narrow
is named. An error that matches no signature of its own incident is not a problem of the record: the verdict
calls it *changed* (`incidentkb.verdict.judge`), which is news to read, not a signature to widen.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from incidentkb.match.matcher import KnownIncident, Matcher
from incidentkb.match.signatures import collapse_whitespace
from incidentkb.records.reader import Problem, RecordFile
from incidentkb.records.yamlload import clip
from incidentkb.results.runs import ResultsFile
from incidentkb.results.runs import read_files as read_results_files

__all__ = ["read_results_files", "check_results_wordings"]


def _line_of(text: str, needle: str, after: str = "") -> int:
    """The line of `needle` in `text`, looked for from where `after` is (the case it belongs to); else line 1."""
    start = max(text.find(after), 0) if after else 0
    at = text.find(needle, start)
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def _signatures_place(record: RecordFile, root: Path | None) -> str:
    """`incidents/x.yaml:LINE`, the line of `symptom.signatures` (or of `symptom` when it has none)."""
    line = 1
    if record.doc is not None:
        for place in (("symptom", "signatures"), ("symptom",)):
            if record.get(*place) is not None:
                line = record.doc.mark(place, key=True)[0]
                break
    path = record.path
    if root is not None and path.is_absolute():
        try:
            path = path.relative_to(root)
        except ValueError:
            pass
    return f"{path.as_posix()}:{line}"


def check_results_wordings(
    records: Sequence[RecordFile],
    results: Iterable[ResultsFile],
    root: Path | None = None,
) -> list[Problem]:
    """No error observed by a symptom case may match another incident's signatures.

    `results` are the results files as `incidentkb.results.runs.read_files` reads them; a file's text only places
    each problem on the line of the message it is about. Record places in messages are shown relative to `root`.
    """
    valid = [r for r in records if r.incident is not None]
    by_id = {r.incident.id: r for r in valid if r.incident is not None}
    matcher = Matcher(KnownIncident(r.incident, r.path.as_posix()) for r in valid if r.incident is not None)
    problems: list[Problem] = []
    for file in results:
        for case in file.cases:
            error = case.error
            if case.role != "symptom" or error is None:
                continue
            seen = (f"the error observed by {case.function} in cell {file.cell} "
                    f"({clip(collapse_whitespace(error.message), 100)!r})")
            # Searched as `results.write` wrote it (JSON, non-ASCII kept), from the case's own entry on.
            nodeid = json.dumps(case.nodeid, ensure_ascii=False)
            line = _line_of(file.text, json.dumps(error.message, ensure_ascii=False)[1:-1][:80], after=nodeid)
            for other, found in {m.incident_id: m for m in matcher.match(error)}.items():
                if other == case.incident:
                    continue
                pattern = found.match.signature.message
                problems.append(Problem(str(file.path), line, 1, (
                    f"{seen} also matches {other} (signature {found.signature_index + 1} /{pattern}/, "
                    f"{_signatures_place(by_id[other], root)}); narrow that signature so it names only its own error")))
    return problems
