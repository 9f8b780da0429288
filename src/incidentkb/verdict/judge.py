"""The verdict on one case in one cell, derived from what its results file stores and what its record says now.

A results file keeps what a run *observed* (the outcome pytest gave the case, the error it caught, the numbers it
measured) and never changes. The verdict a reader sees is derived here, every time, from that observation, the
case's role, the cell, and the record as it is today, so correcting a record or these rules re-judges every
committed results file without re-running it:

- a case whose record says where its claim can be shown (`applies_when`: at least 2 visible GPUs) is *not
  applicable* in any other cell, whatever it observed there: a fix that could not have failed did not hold;
- a symptom *reproduces* only when the error it observed is the recorded one (it matches `symptom.signatures`), and
  a silent one only when the value it recorded under `symptom.measured.name` is past the record's threshold;
  another error is *changed*, and when it matches one of the record's `symptom.successors` (the library now
  refuses the setup up front) the verdict says so in the successor's words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from incidentkb.host import gpu_conditions
from incidentkb.host.gpu_conditions import GpuFacts
from incidentkb.host.versions import version_satisfies
from incidentkb.match.signatures import ErrorInfo, any_matches
from incidentkb.verdict.outcomes import Outcome, Role, parse_role

if TYPE_CHECKING:
    from incidentkb.records.schema import Applicability, Incident, RegressionCase

__all__ = ["CellFacts", "Verdict", "judge", "unmet_applicability"]


@dataclass(frozen=True)
class CellFacts:
    """What a cell offered its cases: the GPUs its pytest saw and the versions installed."""

    gpus: int
    versions: Mapping[str, str | None]
    hardware: tuple[GpuFacts, ...] = ()
    """The GPUs the cell's pytest saw (compute capability, memory), for `applies_when`'s hardware conditions."""

    @classmethod
    def from_results(cls, data: Mapping[str, Any]) -> "CellFacts":
        """From a results file's content: the cell's GPU count, the versions its environment had and its GPUs."""
        axes = data.get("axes") if isinstance(data.get("axes"), Mapping) else {}
        versions = data.get("versions") if isinstance(data.get("versions"), Mapping) else {}
        hardware = gpu_conditions.gpus_from_results(data.get("host")) if int(axes.get("gpus", 0) or 0) else ()
        return cls(gpus=int(axes.get("gpus", 0) or 0), versions=dict(versions), hardware=hardware)


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
    for name, specifier in applies.versions.items():
        found = versions.get(name)
        if found is None or not version_satisfies(found, specifier):
            missing.append(f"{name}{specifier} (the cell has {found or 'none'})")
    missing += gpu_conditions.unmet(hardware[:gpus] if gpus else (), compute_capability=applies.compute_capability,
                                    gpu_memory_gb=applies.gpu_memory_gb)
    return missing


def _entry(record: Incident, name: str) -> RegressionCase | None:
    return next((case for case in record.regression.cases if case.name == name), None)


def _error(case: Mapping[str, Any]) -> ErrorInfo | None:
    observation = case.get("observation")
    error = observation.get("error") if isinstance(observation, Mapping) else None
    if not isinstance(error, Mapping) or not isinstance(error.get("frames", []), list):
        return None
    try:
        return ErrorInfo.from_dict(error)
    except (KeyError, TypeError, ValueError):
        return None


def _measured_value(case: Mapping[str, Any], name: str) -> float | None:
    observation = case.get("observation")
    values = observation.get("values") if isinstance(observation, Mapping) else None
    value = values.get(name) if isinstance(values, Mapping) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _symptom(stored: Outcome, case: Mapping[str, Any], record: Incident) -> Verdict:
    """A symptom that saw an error reproduces only if the error is the recorded one; a measured one only past
    today's threshold (a stored run that passed an older, looser threshold no longer reproduces)."""
    measured = record.symptom.measured
    value = _measured_value(case, measured.name) if measured is not None else None
    if measured is not None and value is not None and stored is Outcome.reproduces \
            and not measured.shows_symptom(value):
        return Verdict(Outcome.no_longer_reproduces,
                       f"measured {value:g} {measured.unit}; the record's symptom is {measured.sentence()}")
    error = _error(case)
    if stored not in (Outcome.reproduces, Outcome.changed) or error is None:
        return Verdict(stored)
    if any_matches(record.symptom.signatures, error):
        return Verdict(Outcome.reproduces)
    for successor in record.symptom.successors:
        if any_matches([successor.signature], error):
            return Verdict(Outcome.changed, successor.note)
    note = "a different error than the recorded one" if stored is Outcome.reproduces else None
    return Verdict(Outcome.changed, note)


def judge(case: Mapping[str, Any], record: Incident | None, cell: CellFacts) -> Verdict:
    """The verdict on one case entry of a results file (as `results_files` stores it) in the cell `cell`."""
    stored = Outcome(case["outcome"])
    if record is None or stored.fails_run or stored in (Outcome.not_run, Outcome.not_applicable):
        return Verdict(stored)
    name = str(case.get("nodeid", "")).rsplit("::", 1)[-1].split("[", 1)[0]
    entry = _entry(record, name)
    if entry is not None and entry.applies_when is not None:
        missing = unmet_applicability(entry.applies_when, cell.gpus, cell.versions, cell.hardware)
        if missing:
            return Verdict(Outcome.not_applicable, f"{entry.applies_when.why} (needs {'; '.join(missing)})")
    try:
        role, _ = parse_role(str(case.get("role", "")))
    except ValueError:
        return Verdict(stored)
    if role is Role.symptom:
        return _symptom(stored, case, record)
    return Verdict(stored)
