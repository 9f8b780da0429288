"""`incidentkb check` on what records claim about the matrix: the libraries they depend on, the results they state.

- `regression.depends_on` names libraries the matrix varies (or that the record `requires`); a typo (`pytorch`) would make the incident run in
  one cell only (every other cell counted as covered by it), so an unknown name is refused with a did-you-mean.
- Every case states a result: its role's word (a symptom *reproduces*, a failed attempt *still fails*, a fix
  *holds*) unless `regression.cases[].expected` says otherwise, with why. The newest runs of the case in the
  cells closest to the record's original environment (same torch, same transformers stack, same GPU count: as
  many of those as any cell has) must show it, judged by today's rules (`incidentkb.verdict.judge`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from incidentkb.host.versions import canonical_name
from incidentkb.matrix.axes import Matrix
from incidentkb.results.runs import Case, Run, newest_cases
from incidentkb.records.reader import Problem, RecordFile
from incidentkb.records.schema import Incident
from incidentkb.records.wording import did_you_mean
from incidentkb.verdict.outcomes import DECISIONS, Observed, Outcome, parse_role

__all__ = ["known_libraries", "depends_on_problems", "stated_result_problems"]


def known_libraries(matrix: Matrix) -> set[str]:
    """The libraries whose versions the matrix varies: torch and every package a stack pins."""
    names = {"torch"}
    for stack in matrix.stacks:
        names.update(stack.versions(gpus=1))
    return {canonical_name(name) for name in names}


def _required(record: RecordFile) -> set[str]:
    """The packages the record's `regression.requires` names: their versions are axes of this incident."""
    from incidentkb.records.schema import requirement_name

    names = set()
    for text in record.get("regression", "requires") or ():
        try:
            names.add(requirement_name(str(text)))
        except ValueError:
            continue  # the schema reports it at its line
    return names


def depends_on_problems(records: Iterable[RecordFile], known: set[str]) -> list[Problem]:
    """A problem for each `regression.depends_on` entry that names no library of the matrix nor of `requires`."""
    problems = []
    for record in records:
        names = record.get("regression", "depends_on")
        mine = known | _required(record)
        for index, name in enumerate(names if isinstance(names, list) else ()):
            if not isinstance(name, str) or canonical_name(name) in mine:
                continue
            guess = did_you_mean(canonical_name(name), sorted(mine))
            hint = f"did you mean '{guess}'? " if guess else ""
            problems.append(record.problem(("regression", "depends_on", index), (
                f"'{name}' in regression.depends_on is no library the matrix varies; {hint}"
                f"choose from {', '.join(sorted(mine))} (an unknown name makes the incident run in one cell only); "
                "a package to install goes in regression.requires")))
    return problems


def _closeness(incident: Incident, run: Run) -> int:
    """How many of torch, transformers and GPU count the run shares with the original environment: versions as
    the run resolved them (a `latest` or candidate cell's stack id names no version), GPUs as its cell had them."""
    libraries = {canonical_name(k): v.split("+", 1)[0] for k, v in incident.environment.libraries.items()}
    environment = incident.environment
    gpus = environment.gpu.count if environment.gpu is not None else None if environment.gpu_unknown else 0
    installed = lambda name, axis: (run.versions.get(name) or axis).split("+", 1)[0]  # noqa: E731
    return sum((
        libraries.get("torch") is not None and installed("torch", run.cell.torch) == libraries["torch"],
        libraries.get("transformers") is not None and installed("transformers", run.cell.stack) == libraries["transformers"],
        gpus is not None and gpus == run.cell.gpus,  # an unknown GPU count is close to no cell
    ))


def _expected(role_text: str, stated: str | None) -> Outcome:
    return Outcome(stated) if stated else DECISIONS[parse_role(role_text)[0], Observed.as_recorded]


def _newest_runs(results: Sequence[Run], records: Mapping[str, Incident]) -> dict[tuple[str, str], list[tuple[Run, Case]]]:
    """(incident, case function) -> every variant of it in the newest judged run of each cell that ran it
    (`incidentkb.results.runs.newest_cases`: `[cpu]` and `[cuda]` are compared each, neither hides the other)."""
    runs: dict[tuple[str, str], list[tuple[Run, Case]]] = {}
    for pairs in newest_cases(r.judged(records) for r in results).values():
        for run, case in pairs:
            if case.outcome.info.ran:
                runs.setdefault((case.incident, case.function), []).append((run, case))
    return runs


def stated_result_problems(records: Sequence[RecordFile], results: Sequence[Run], root: Path) -> list[Problem]:
    """A problem for each case whose newest runs closest to the original environment disagree with its record."""
    valid = {r.incident.id: r for r in records if r.incident is not None}
    runs = _newest_runs(results, {i: r.incident for i, r in valid.items() if r.incident is not None})
    problems = []
    for incident_id, record in valid.items():
        incident = record.incident
        assert incident is not None
        for index, entry in enumerate(incident.regression.cases):
            found = runs.get((incident_id, entry.name), [])
            if not found:
                continue
            best = max(_closeness(incident, run) for run, _ in found)
            expected = _expected(entry.role, entry.expected.outcome if entry.expected else None)
            for run, case in found:
                if _closeness(incident, run) == best and case.outcome is not expected:
                    path = run.path
                    where = path.relative_to(root).as_posix() if path is not None and path.is_relative_to(root) else path
                    problems.append(record.problem(("regression", "cases", index), (
                        f"{case.name} '{case.outcome.value}' in cell {run.cell} ({where}), one of the cells closest to the "
                        f"original environment, but the record says '{expected.value}'; correct the record "
                        "(regression.cases[].expected, with why) or the regression")))
    return problems
