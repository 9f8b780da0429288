"""`incidentkb check` on cases verified nowhere: a symptom or fix case that no cell of the matrix can run.

A case that no cell can run is *not run* everywhere, the matrix says success, and its fix is verified nowhere.
Nothing may pass that quietly, so each such case is an error at its record's `regression.cases` entry, saying
why: a package no environment installs (the record should `requires` it), more GPUs than any cell has, a version
no stack pins. One exception is written down in the record itself: a case whose `applies_when` names hardware
(`compute_capability`, `gpu_memory_gb`) with its `why`. The matrix declares no GPU models; the GPUs it has are
those its committed results files recorded. Whether one of them can show the case is decided by one function,
`host.gpu_conditions.hardware_note`, which the incident's page calls with the same GPUs: where every one is known
to fall outside, `check` lists the case as "verifiable on no cell of this matrix: needs ..."; where that is not
known (no GPU recorded, or not the fact the case needs), as "not yet run on a GPU that meets its conditions:
needs ..." (notes, not errors).

`unmet_reach` is a pure function of the case's conditions and what the matrix offers (`Offer`), table-tested.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incidentkb.host import gpu_conditions
from incidentkb.host.gpu_conditions import GpuFacts
from incidentkb.host.versions import canonical_name, version_satisfies
from incidentkb.matrix.axes import MATRIX_FILE, Matrix, pinned_version
from incidentkb.records.reader import Problem, RecordFile
from incidentkb.records.schema import Applicability, requirement_name
from incidentkb.results.runs import Run

__all__ = ["Needs", "Offer", "Reach", "offer_of", "needs_in", "unmet_reach", "unverifiable_note", "reach_problems"]

#: The roles whose claim must be verified somewhere: the bug and its fixes (a failed attempt or a smoke case may
#: be left unverified without hiding whether the fix holds).
VERIFIED_ROLES = ("symptom", "fix")


@dataclass(frozen=True)
class Needs:
    """A case's `needs` markers, as written (literals only), merged."""

    gpus: int = 0
    packages: tuple[str, ...] = ()
    versions: Mapping[str, str] = field(default_factory=dict)
    cuda: bool = False
    compute_capability: str | None = None
    gpu_memory_gb: str | None = None


@dataclass(frozen=True)
class Offer:
    """What the cells of the matrix offer a case: GPU counts, installed packages, pinned versions, GPUs seen."""

    max_gpus: int
    packages: frozenset[str]
    """Canonical names some environment installs: the stacks', torch's, the project's and those results recorded."""
    pins: Mapping[str, frozenset[str]]
    """Versions the stacks pin, by canonical name; a package some stack resolves when it runs is left out."""
    gpus_seen: tuple[GpuFacts, ...] = ()
    """Every GPU a committed results file recorded: the hardware the matrix has run on."""


@dataclass(frozen=True)
class Reach:
    """Why no cell can run a case (errors), and the note on stated hardware no GPU the matrix has is known to meet
    (`gpu_conditions.hardware_note`'s words)."""

    errors: tuple[str, ...] = ()
    unverifiable: str | None = None


def unmet_reach(needs: Needs, applies: Applicability | None, offer: Offer, required: Iterable[str] = ()) -> Reach:
    """Why no cell of the matrix can run (or show) a case, each reason worded with its remedy.

    >>> unmet_reach(Needs(gpus=4), None, Offer(2, frozenset({"torch"}), {})).errors
    ('4 GPUs, and no cell of regressions/matrix.toml has more than 2 (add a [[gpus]] entry)',)
    """
    errors: list[str] = []
    required = {canonical_name(r) for r in required}
    hardware = bool(needs.compute_capability or needs.gpu_memory_gb or (applies and applies.hardware))
    gpus = max(needs.gpus, applies.gpus if applies else 0, 1 if needs.cuda or hardware else 0)
    if gpus > offer.max_gpus:
        errors.append(f"{gpus} GPU{'s' if gpus != 1 else ''}, and no cell of {MATRIX_FILE} has more than "
                      f"{offer.max_gpus} (add a [[gpus]] entry)")
    for name in dict.fromkeys((*needs.packages, *needs.versions)):
        key = canonical_name(name)
        if key not in offer.packages and key not in required:
            errors.append(f"package {name}, which no environment of the matrix installs (add it to the record's "
                          "regression.requires)")
        elif name in needs.versions and key in offer.pins and key not in required and not any(
                version_satisfies(v, needs.versions[name]) for v in offer.pins[key]):
            errors.append(f"{name}{needs.versions[name]}, which no stack pins (they pin "
                          f"{', '.join(sorted(offer.pins[key]))})")
    shown = gpu_conditions.shown_on(offer.gpus_seen, needs.compute_capability, needs.gpu_memory_gb)
    if (needs.compute_capability or needs.gpu_memory_gb) and not shown and not (applies and applies.hardware):
        words = gpu_conditions.condition_words(needs.compute_capability, needs.gpu_memory_gb)
        has = "has" if shown is False else "is known to have"
        errors.append(f"{words} (its needs marker), which no GPU of the committed results {has}; say so in the "
                      "record's applies_when, with why")
    note = None
    if applies is not None and applies.hardware:
        note = gpu_conditions.hardware_note(offer.gpus_seen, applies.compute_capability, applies.gpu_memory_gb,
                                            applies.why)
    return Reach(tuple(errors), note)


def unverifiable_note(reach: Reach) -> str | None:
    """The words `check` and the incident's page use for a case no GPU the matrix has is known to show."""
    return reach.unverifiable


def offer_of(matrix: Matrix, project: Mapping[str, Any], results: Iterable[Run]) -> Offer:
    """What the matrix offers, from its axes, the project's `pyproject.toml` data and the committed results."""
    packages = {"torch"}
    pins: dict[str, set[str]] = {}
    resolved: set[str] = set()
    for option in matrix.torch:
        packages.update(pinned_version(r)[0] for r in option.also_install + option.host_provides)
    for stack in matrix.stacks:
        for requirement in stack.packages + stack.gpu_packages:
            name, version = pinned_version(requirement)
            packages.add(name)
            pins.setdefault(name, set()).add(str(version))
        resolved.update(canonical_name(n) for n in stack.resolve + stack.gpu_resolve)
    packages |= resolved
    wanted = (project.get("project") or {}).get("optional-dependencies", {}).get("regressions", [])
    packages.update(requirement_name(text) for text in wanted)
    gpus: list[GpuFacts] = []
    for run in results:
        packages.update(canonical_name(name) for name in run.packages)
        gpus.extend(run.host.gpus)
    return Offer(max((g.count for g in matrix.gpus), default=0), frozenset(packages),
                 {name: frozenset(v) for name, v in pins.items() if name not in resolved}, tuple(dict.fromkeys(gpus)))


def _needs_call(node: ast.expr) -> ast.Call | None:
    """`pytest.mark.needs(...)` (or `mark.needs(...)`), else None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "needs":
        return node
    return None


def _merge(needs: Needs, call: ast.Call) -> Needs:
    """`needs` with one more marker's literal arguments (others, e.g. a helper's call, are left out)."""
    found: dict[str, Any] = {}
    for keyword in call.keywords:
        try:
            found[str(keyword.arg)] = ast.literal_eval(keyword.value)
        except ValueError:
            continue
    return Needs(
        gpus=max(needs.gpus, int(found.get("gpus") or 0)),
        packages=needs.packages + tuple(found.get("packages") or ()),
        versions={**needs.versions, **(found.get("versions") or {})},
        cuda=needs.cuda or bool(found.get("cuda")),
        compute_capability=found.get("compute_capability") or needs.compute_capability,
        gpu_memory_gb=found.get("gpu_memory_gb") or needs.gpu_memory_gb,
    )


def needs_in(path: Path) -> dict[str, Needs]:
    """Each function's `needs`, from its decorators, its class's and the module's `pytestmark` (never imported)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    module = Needs()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            for value in node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]:
                module = _merge(module, call) if (call := _needs_call(value)) else module
    found: dict[str, Needs] = {}

    def walk(body: list[ast.stmt], inherited: Needs) -> None:
        for node in body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                needs = inherited
                for decorator in node.decorator_list:
                    needs = _merge(needs, call) if (call := _needs_call(decorator)) else needs
                if isinstance(node, ast.ClassDef):
                    walk(node.body, needs)
                else:
                    found[node.name] = needs

    walk(tree.body, module)
    return found


def reach_problems(records: Iterable[RecordFile], root: Path, offer: Offer) -> tuple[list[Problem], list[Problem]]:
    """The errors (cases no cell can run) and the notes (cases verifiable on no cell) of the records, each at its
    `regression.cases` entry."""
    from incidentkb.verdict.outcomes import parse_role

    errors: list[Problem] = []
    notes: list[Problem] = []
    for record in records:
        incident = record.incident
        if incident is None:
            continue
        regression = incident.regression
        needs = needs_in(root / regression.path)
        for index, case in enumerate(regression.cases):
            if parse_role(case.role)[0].value not in VERIFIED_ROLES:
                continue
            required = map(requirement_name, regression.requires)
            reach = unmet_reach(needs.get(case.name, Needs()), case.applies_when, offer, required)
            place = ("regression", "cases", index)
            errors += [record.problem(place, f"case '{case.name}' can run in no cell of the matrix: it needs {why}")
                       for why in reach.errors]
            if (note := unverifiable_note(reach)) is not None:
                notes.append(record.problem(place, f"case '{case.name}' is {note}"))
    return errors, notes
