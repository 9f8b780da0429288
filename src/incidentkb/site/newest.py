"""The answer to the upgrade question in one sentence: what the newest versions that ran say about the incident.

"After I upgrade transformers, trl or torch, does this bug come back, and does its fix still hold?" The incident
page and the home page both open with this sentence, worked out here from the newest stack on which the
incident's claim could be shown (a cell where the symptom or the fix was judged, not one where the case was not
applicable or not run), its newest torch and largest GPU count, and the date of the newest run behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from incidentkb.site.layout import UNDECIDED, Slot, decisive, layout, per_incident, stack_order
from incidentkb.site.marks import tone_of
from incidentkb.site.standing import IncidentStanding, KnowledgeBase
from incidentkb.site.case_runs import Entry, version_key
from incidentkb.site.own_axes import own_axes, unverifiable

__all__ = ["Answer", "newest_answer", "unbisected", "Gap", "QUESTION_WORDS"]

#: An outcome as the answer to the visitor's question, by the case's role and the outcome's name.
QUESTION_WORDS: dict[tuple[str, str], str] = {
    ("symptom", "reproduces"): "the bug is still there",
    ("symptom", "no_longer_reproduces"): "the bug is gone",
    ("symptom", "changed"): "it fails with a different error than the recorded one",
    ("fix", "holds"): "the fix holds",
    ("fix", "broken"): "the fix is BROKEN",
    ("fix", "not_needed"): "the fix is not needed",
    ("smoke", "works"): "the setup runs",
    ("smoke", "does_not_work"): "the setup fails",
}
#: Tones from the least to the most urgent, for the tone of a whole sentence.
_URGENCY = {"neutral": 0, "reassure": 1, "fault": 2, "changed": 3, "warn": 4}


@dataclass(frozen=True)
class Answer:
    """The sentence, the versions it is about, the date of the newest run behind it, and its tone."""

    text: str
    versions: str
    date: str
    tone: str


def _words(role: str, entry: Entry) -> str:
    return QUESTION_WORDS.get((role, entry.outcome.name), f"the {role} {entry.outcome.verb}")


def _versions(kb: KnowledgeBase, slot: Slot, item: IncidentStanding) -> str:
    """`transformers 5.24.0 / trl 1.16.0, torch 2.11.0, 2 GPUs`: what a reader would install (`any stack` for
    an incident whose outcome depends on no stack's libraries)."""
    cells = layout(kb).cells_at.get(slot, [])
    note = next((kb.stack_notes[c] for c in cells if c in kb.stack_notes), "")
    words = kb.stack_versions.get(slot.stack, "") or note
    libraries = " / ".join(part.strip() for part in words.split(",")[:2]) if words else f"stack {slot.stack}"
    if not own_axes(item.incident).stacks:
        libraries = "any stack"
    gpus = "CPU" if slot.gpus == 0 else ("1 GPU" if slot.gpus == 1 else f"{slot.gpus} GPUs")
    own = "".join(f", {name} {version}" for name, version in slot.requires)
    return f"{libraries}{own}, torch {slot.torch}, {gpus}"


def _best_slot(item: IncidentStanding, kb: KnowledgeBase, roles: tuple[str, ...]) -> Slot | None:
    """The slot of the newest stack where a case of `roles` was judged; newest torch, most GPUs within it."""
    plan = layout(kb)
    judged = [s for s in plan.cells_at if any(decisive(plan.entry(item, s, role)) for role in roles)]
    if not judged:
        return None
    newest_torch_first = sorted(judged, key=lambda s: (version_key(s.torch), s.gpus,
                                                       tuple(version_key(v) for _, v in s.requires)), reverse=True)
    if not own_axes(item.incident).stacks:  # any stack gives the same outcome: the newest torch decides
        return newest_torch_first[0]
    return min(newest_torch_first, key=lambda s: stack_order(s.stack))  # min keeps the first of equals


def newest_answer(item: IncidentStanding, kb: KnowledgeBase) -> Answer:
    """What the newest versions that ran say, in one sentence (once per incident for the build)."""
    return per_incident(kb, "newest", item, lambda: _answer(item, kb))


def _since(item: IncidentStanding, kb: KnowledgeBase, slot: Slot, role: str, entry: Entry) -> str:
    """` since transformers 4.57.6 / trl 0.27.0`: the oldest stack from which a fix has been *not needed* in
    every newer stack of the same column (empty for another outcome, or when only the newest stack says so)."""
    if entry.outcome.name != "not_needed":
        return ""
    plan = layout(kb)
    older = [Slot(slot.torch, stack, slot.gpus, slot.requires) for stack in plan.stacks
             if stack_order(stack) > stack_order(slot.stack)]  # newest first, after the slot's own stack
    first = slot
    for other in older:
        found = plan.entry(item, other, role)
        if found is None or found.outcome not in (entry.outcome, *UNDECIDED):
            break
        if decisive(found):
            first = other
    if first == slot:
        return ""
    return f" since {_versions(kb, first, item).split(', torch ')[0]}"


def _unjudged(item: IncidentStanding, kb: KnowledgeBase) -> str:
    """Why no cell answers: nothing ran yet, or the hardware a case needs has not been shown (`own_axes.unverifiable`)."""
    if not item.entries:
        return "not run yet in any cell of the matrix"
    nowhere = unverifiable(item.incident, item.outcomes_by_role(), kb.gpus_seen)
    if nowhere:  # its words end with the record's reason in parentheses: the page says it below the grid
        return f"not judged: {nowhere[0][1].split(' (', 1)[0]}"
    return "not judged yet: no cell that ran it could show its claim (not applicable or not run everywhere)"


def _answer(item: IncidentStanding, kb: KnowledgeBase) -> Answer:
    dates = [max(r.finished for r in e.runs) for e in item.entries.values() if e.covered_by is None]
    date = max(dates).strftime("%Y-%m-%d") if dates else ""
    slot = _best_slot(item, kb, ("symptom", "fix")) or _best_slot(item, kb, ("smoke",))
    if slot is None:
        return Answer(_unjudged(item, kb), "", date, "neutral")
    plan = layout(kb)
    clauses, tones, ran = [], [], []
    for role in ("symptom", "fix", "smoke"):
        entry = plan.entry(item, slot, role)
        if decisive(entry):
            assert entry is not None
            clauses.append(_words(role, entry) + _since(item, kb, slot, role, entry))
            tones.append(tone_of(entry.outcome))
            ran += [r.finished for r in entry.runs]
        if role == "fix" and clauses:
            break  # the smoke case speaks only where neither the symptom nor the fix could
    tone = max(tones, key=lambda t: _URGENCY.get(t, 0)) if tones else "neutral"
    versions = _versions(kb, slot, item)
    # The sentence's own cell may have run long before the incident's newest run (a GPU cell, say): say when.
    when = max(ran).strftime("%Y-%m-%d") if ran else date
    text = f"On {versions}: {'; '.join(clauses)}{f' (run {when})' if when != date else ''}."
    windows = kb.windows.get(item.id) or []
    if windows:  # newer releases than the stacks that ran it, found by a bisection: the upgrade's answer
        text += f" Bisection: {windows[0].text[0].lower()}{windows[0].text[1:]}."
    return Answer(text, versions, date, tone)


class Gap(NamedTuple):
    """A change between two stacks that no bisection narrowed down, and the command that would."""

    text: str
    command: str


def unbisected(item: IncidentStanding, kb: KnowledgeBase) -> Gap | None:
    """Where the symptom's outcome changes between two neighbouring stacks and no bisection narrowed it down.

    The matrix has a few stacks, months of releases apart; a change between two of them is a window a
    bisection (`nox -s bisect`) narrows to one release. None when there is no such change, or a window exists.
    """
    if kb.windows.get(item.id):
        return None
    plan = layout(kb)
    stacks = [s for s in plan.stacks if version_key(s) and version_key(s)[0][0] == 0]  # versions, not `latest`
    for torch, gpus in sorted(plan.columns, key=lambda c: -c[1]):
        judged = [(s, e) for s in stacks if decisive(e := plan.entry(item, Slot(torch, s, gpus), "symptom"))]
        for (newer, after), (older, before) in zip(judged, judged[1:]):
            assert after is not None and before is not None
            if after.outcome is before.outcome:
                continue
            cell = after.cell
            command = (f"nox -s bisect -- {item.id} --package transformers --torch {cell.torch} --stack {newer}"
                       f" --gpus {gpus}")
            return Gap(f"The symptom {before.outcome.verb} with stack {older} and {after.outcome.verb} with stack "
                       f"{newer} (torch {torch}, {gpus} GPU{'' if gpus == 1 else 's'}); the release between them "
                       "that changed it has not been narrowed down yet. This would find it:", command)
    return None
