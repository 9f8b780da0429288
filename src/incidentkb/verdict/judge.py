"""The verdict on one case in one cell, derived from what its results file stores and what its record says now.

A results file keeps what a run *observed* (the outcome pytest gave the case, the error it caught, the numbers it
measured) and never changes. The verdict a reader sees is derived here, every time, from that observation, the
case's role, the cell, and the record as it is today, so correcting a record or these rules re-judges every
committed results file without re-running it:

- a case whose record says where its claim can be shown (`applies_when`: at least 2 visible GPUs) is *not
  applicable* in any other cell, whatever it observed there: a fix that could not have failed did not hold;
- a case that caught an import failing (`env_fault`: an ImportError, or an error raised while a library was being
  imported) met an *environment fault*, unless that error is the record's own symptom;
- a symptom *reproduces* only when the error it observed is the recorded one (it matches `symptom.signatures`), and
  a silent one only when the value it recorded under `symptom.measured.name` is past the record's threshold;
  another error is *changed*, and when it matches one of the record's `symptom.successors` (the library now
  refuses the setup up front) the verdict says so in the successor's words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from incidentkb.host import gpu_conditions
from incidentkb.host.gpu_conditions import GpuFacts
from incidentkb.host.versions import canonical_name, version_satisfies
from incidentkb.match.signatures import ErrorInfo, any_matches
from incidentkb.verdict import env_fault
from incidentkb.verdict.outcomes import Outcome, Role, parse_role

if TYPE_CHECKING:
    from incidentkb.records.schema import Applicability, Incident, RegressionCase

__all__ = ["CellFacts", "StoredCase", "Verdict", "judge", "unmet_applicability"]


@dataclass(frozen=True)
class CellFacts:
    """What a cell offered its cases: the GPUs its pytest saw and the versions installed."""

    gpus: int
    versions: Mapping[str, str | None]
    hardware: tuple[GpuFacts, ...] = ()
    """The GPUs the cell's pytest saw (compute capability, memory), for `applies_when`'s hardware conditions."""


class StoredCase(Protocol):
    """What judging reads of a case as a run stored it (`incidentkb.results.runs.Case` is one)."""

    @property
    def as_stored(self) -> Outcome: ...
    @property
    def role(self) -> str: ...
    @property
    def function(self) -> str: ...
    @property
    def error(self) -> ErrorInfo | None: ...
    @property
    def values(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Verdict:
    """A case's outcome in a cell, and when the rules changed what the run said, why."""

    outcome: Outcome
    note: str | None = None


def unmet_applicability(applies: Applicability, gpus: int, versions: Mapping[str, str | None],
                        hardware: Sequence[GpuFacts] = ()) -> list[str]:
    """Every condition of `applies_when` this cell leaves unmet (empty: the claim can be shown here).

    `hardware`: the GPUs the cell saw, for `compute_capability` and `gpu_memory_gb` (none: no GPU meets them).
    """
    missing = []
    if applies.gpus and gpus < applies.gpus:
        missing.append(f"{applies.gpus} visible GPU{'s' if applies.gpus != 1 else ''} (the cell has {gpus})")
    by_name = {canonical_name(n): v for n, v in versions.items()}  # `liger_kernel` is PyPI's `liger-kernel`
    for name, specifier in applies.versions.items():
        found = by_name.get(canonical_name(name))
        if found is None or not version_satisfies(found, specifier):
            missing.append(f"{name}{specifier} (the cell has {found or 'none'})")
    missing += gpu_conditions.unmet(hardware[:gpus] if gpus else (), compute_capability=applies.compute_capability,
                                    gpu_memory_gb=applies.gpu_memory_gb)
    return missing


def _entry(record: Incident, name: str) -> RegressionCase | None:
    return next((case for case in record.regression.cases if case.name == name), None)


def _measured_value(case: StoredCase, name: str) -> float | None:
    value = case.values.get(name)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _symptom(stored: Outcome, case: StoredCase, record: Incident) -> Verdict:
    """A symptom that saw an error reproduces only if the error is the recorded one; a measured one only past
    today's threshold (a stored run that passed an older, looser threshold no longer reproduces), and only with
    the value it is measured by. Rules only ever say less than the run did: a run whose own checks failed
    (stored `changed`) is never made `reproduces` because its error matches a signature."""
    measured = record.symptom.measured
    if measured is not None and stored is Outcome.reproduces:
        value = _measured_value(case, measured.name)
        if value is None:
            return Verdict(Outcome.harness_error, f"the run stored no value of {measured.name}, by which the record's "
                                                  "symptom is measured: it cannot be shown to reproduce")
        if not measured.shows_symptom(value):
            return Verdict(Outcome.no_longer_reproduces,
                           f"measured {value:g} {measured.unit}; the record's symptom is {measured.sentence()}")
    error = case.error
    if stored not in (Outcome.reproduces, Outcome.changed) or error is None:
        return Verdict(stored)
    if stored is Outcome.reproduces and any_matches(record.symptom.signatures, error):
        return Verdict(Outcome.reproduces)
    for successor in record.symptom.successors:
        if any_matches([successor.signature], error):
            return Verdict(Outcome.changed, successor.note)
    note = "a different error than the recorded one" if stored is Outcome.reproduces else None
    return Verdict(Outcome.changed, note)


#: Stored outcomes that saw an error, which may have been an import the environment could not do.
_SAW_AN_ERROR = (Outcome.reproduces, Outcome.changed, Outcome.broken, Outcome.behaves_differently, Outcome.does_not_work)


def _import_fault(stored: Outcome, case: StoredCase, record: Incident | None) -> Verdict | None:
    """An error the case caught that was an import failing (`env_fault`), unless it is the record's own symptom."""
    error = case.error if stored in _SAW_AN_ERROR else None
    fault = env_fault.from_error(error.type, error.message, error.frames) if error is not None else None
    if fault is None or (record is not None and any_matches(record.symptom.signatures, error)):
        return None
    return Verdict(Outcome.env_fault, fault.sentence())


def judge(case: StoredCase, record: Incident | None, cell: CellFacts) -> Verdict:
    """The verdict on one case of a run (as its results file stores it) in the cell `cell`."""
    stored = case.as_stored
    if (fault := _import_fault(stored, case, record)) is not None:
        return fault
    if record is None or stored.fails_run or stored in (Outcome.not_run, Outcome.not_applicable):
        return Verdict(stored)
    entry = _entry(record, case.function)
    if entry is not None and entry.applies_when is not None:
        missing = unmet_applicability(entry.applies_when, cell.gpus, cell.versions, cell.hardware)
        if missing:
            return Verdict(Outcome.not_applicable, f"{entry.applies_when.why} (needs {'; '.join(missing)})")
    try:
        role, _ = parse_role(case.role)
    except ValueError:
        return Verdict(stored)
    if role is Role.symptom:
        return _symptom(stored, case, record)
    return Verdict(stored)
