"""What the site knows about one case in one cell: the value objects the results files are read into.

The site reads results files, never logs. A results file is one run of the regressions in one matrix cell;
each case in it becomes a `CaseRun`, which carries what a reader wants beside the outcome: the observed
message or numbers, when it ran, on what machine and with which versions. A case may run in several variants
(`test_fix[cpu]`, `test_fix[cuda]`); the `Entry` of a case in a cell holds them all and says what they add up to.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import NamedTuple

from incidentkb.matrix.axes import Cell, cell_key, version_key
from incidentkb.verdict.outcomes import LEVEL_RANK, Outcome

__all__ = ["Cell", "CaseRun", "Coverage", "Entry", "cell_key", "axis_words", "version_key"]


def axis_words(cell: Cell, axis: str) -> str:
    """The value of one axis as a reader sees it: `torch 2.6.0`, `stack 4.51.3`, `2 GPUs`."""
    if axis == "gpus":
        return f"{cell.gpus} GPU" if cell.gpus == 1 else f"{cell.gpus} GPUs"
    return f"{axis} {getattr(cell, axis)}"


@functools.lru_cache(maxsize=256)
def _date(finished: dt.datetime) -> str:
    return finished.strftime("%Y-%m-%d")


@functools.lru_cache(maxsize=256)
def _stamp(finished: dt.datetime, machine: str, versions: str, source: str) -> str:
    return f"{_date(finished)} on {machine}; {versions} ({source})"


class CaseRun(NamedTuple):
    """One case (one variant of it) of one incident, as one run in one cell saw it.

    There is one for every case of every incident in every results file (60,000 at 1,000 incidents), so it
    is a named tuple (a third of the time a frozen dataclass takes to make) and holds what the site shows and
    no more: what was measured is kept as the text the matrix prints, and what the runs of one results file
    share (the machine, the versions, the file) is one string for all.
    """

    incident: str
    role: str
    """`symptom`, `fix`, `fix:<id>` or `attempt:<id>`, as in the record."""
    cell: Cell
    outcome: Outcome
    finished: dt.datetime
    """When the run that produced it finished; the newest run of an incident in a cell is its standing."""
    machine: str
    """The host in a few words, e.g. `Linux x86_64, 16 CPUs, 2 x NVIDIA H100 80GB HBM3`."""
    source: str
    """The results file it was read from, for a reader who wants the whole report."""
    variant: str = ""
    """The test's parameters, e.g. `cpu` for `test_fix[cpu]`; empty for a case without parameters."""
    versions: str = ""
    """The versions that matter, as installed in the cell, e.g. `torch 2.6.0, transformers 4.51.3, trl 0.15.2`."""
    error: str | None = None
    """`Type: message` of the error the case observed, if any."""
    observed: str = ""
    """The values it measured (`name = value`, one a line) and its notes."""
    detail: str | None = None
    """The short failure text or the skip reason."""
    memory: tuple[tuple[str, float], ...] = ()
    """Measured memory figures (values named `*_mb` or `*_mib`), which the incident page plots."""

    @property
    def date(self) -> str:
        return _date(self.finished)

    @property
    def level(self) -> str:
        return self.outcome.level

    @property
    def evidence(self) -> str:
        """What the run observed, as plain text: the error, then each measured value, note and skip reason."""
        lines = [self.error] if self.error else []
        if self.observed:
            lines.append(self.observed)
        if self.detail:
            lines.append(self.detail)
        return "\n".join(lines)

    @property
    def stamp(self) -> str:
        """When, where and with what it ran: `2025-06-01 on <machine>; torch 2.6.0, ... (<results file>)`."""
        return _stamp(self.finished, self.machine, self.versions, self.source)


@dataclass(frozen=True)
class Coverage:
    """A cell that did not run an incident because another cell of the same dependency versions did."""

    incident: str
    cell: Cell
    by: Cell
    finished: dt.datetime


class Entry(NamedTuple):
    """One case of one incident in one cell: the variants the newest run had, and what they add up to.

    There is one for every case of every incident in every cell (60,000 at 1,000 incidents), so it is a named
    tuple like `CaseRun`; most have one variant, and each property answers those without working anything out.
    """

    role: str
    cell: Cell
    runs: tuple[CaseRun, ...]
    covered_by: Cell | None = None
    """Set when the runs are those of another cell with the same versions of what the incident depends on."""

    @property
    def outcome(self) -> Outcome:
        """The most telling outcome of the variants: a broken fix over drift over as-recorded over not run."""
        if len(self.runs) == 1:
            return self.runs[0].outcome
        return max((r.outcome for r in self.runs), key=lambda o: LEVEL_RANK[o.level])

    @property
    def level(self) -> str:
        return self.outcome.level

    @property
    def label(self) -> str:
        """`reproduces`, or `reproduces (cpu) / no longer reproduces (cuda)` when variants that ran disagree."""
        if len(self.runs) == 1:
            return self.runs[0].outcome.value
        ran = [r for r in self.runs if r.outcome is not Outcome.not_run]
        if len({r.outcome for r in ran}) > 1:
            return " / ".join(f"{r.outcome.value} ({r.variant or 'default'})" for r in ran)
        return self.outcome.value

    @property
    def first(self) -> CaseRun:
        """The run that decided the outcome, for a one-line tooltip."""
        if len(self.runs) == 1:
            return self.runs[0]
        outcome = self.outcome
        return next(r for r in self.runs if r.outcome is outcome)

    @property
    def date(self) -> str:
        return _date(max(r.finished for r in self.runs))
