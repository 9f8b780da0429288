"""The exact commands that run an incident's cases on a reader's machine, with the pins of a cell where they ran.

"Run this regression locally" used to say `pip install -e ".[regressions]"`, which installs neither torch nor the
stack nor what the incident requires, so following it gave *not run*. Here each case gets a cell of the results
where it really ran (not *not run*, not *not applicable*, not a copy of another cell's run), preferring a cell
whose versions the matrix pins (a fixed torch and stack, not the host's torch or `latest`), then the fewest GPUs,
then the newest versions; the cases that share a cell share its commands: a fresh environment with the cell's
pins (torch, the stack, the versions of what the incident requires), pytest on the cases with the cell's visible
GPUs, and the nox session of that cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from incidentkb.matrix.axes import Cell, Matrix, MatrixError, cell_key
from incidentkb.verdict.outcomes import Outcome

if TYPE_CHECKING:
    from incidentkb.records.schema import Incident
    from incidentkb.site.standing import IncidentStanding

__all__ = ["LocalRun", "local_runs", "requirements", "first_run_lines"]

#: The environment the commands create, beside the checkout.
VENV = ".venv-regression"


@dataclass(frozen=True)
class LocalRun:
    """The commands for the cases that share one chosen cell."""

    cell: Cell
    cases: tuple[str, ...]
    lines: tuple[str, ...]


def requirements(matrix: Matrix, cell: Cell) -> list[str]:
    """What the cell's environment installs besides the project: its torch (none for the host's own), its stack
    (a name the stack resolves when it runs, bare) and the versions of what its incidents require."""
    option, stack = matrix.torch_option(cell), matrix.stack(cell)
    found = [] if option.is_host else list(option.requirements)
    found += [*stack.requirements(gpus=cell.gpus), *stack.to_resolve(gpus=cell.gpus)]
    return found + [name if version == "any" else f"{name}=={version}" for name, version in cell.requires]


def _pinned(matrix: Matrix, cell: Cell) -> bool | None:
    """Whether the matrix pins every version of the cell; None when the cell is none of the matrix's any more."""
    try:
        option, stack = matrix.torch_option(cell), matrix.stack(cell)
    except MatrixError:
        return None
    return not (option.is_host or option.is_resolved or stack.is_resolved)


def _ran(item: IncidentStanding, cell: Cell, role: str) -> bool:
    entry = item.entries.get((cell, role))
    return (entry is not None and entry.covered_by is None
            and entry.outcome not in (Outcome.not_run, Outcome.not_applicable))


def _choose(item: IncidentStanding, matrix: Matrix, role: str) -> Cell | None:
    ran = [cell for cell in item.cells if _ran(item, cell, role) and _pinned(matrix, cell) is not None]
    return max(ran, key=lambda c: (bool(_pinned(matrix, c)), -c.gpus, cell_key(c)), default=None)


def _lines(item: IncidentStanding, matrix: Matrix, cell: Cell, cases: list[str]) -> tuple[str, ...]:
    path = item.incident.regression.path
    pins = " ".join(f'"{r}"' for r in requirements(matrix, cell))
    visible = ",".join(str(i) for i in range(cell.gpus))
    torch = " (your own torch: the cell used the host's)" if matrix.torch_option(cell).is_host else ""
    return (
        f"# {', '.join(cases)}: as in the cell {cell}{torch}",
        f"python3 -m venv --clear {VENV}",
        f'{VENV}/bin/pip install -e ".[regressions]" {pins}',
        f"CUDA_VISIBLE_DEVICES={visible} {VENV}/bin/python -m pytest "
        + " ".join(f'"{path}::{case}"' for case in cases) + " -rA",
        "# the same in the matrix's own environment (results go to regressions/results/):",
        f'nox -s "regressions({cell.base})" -- -k "{" or ".join(cases)}"',
    )


def local_runs(item: IncidentStanding, matrix: Matrix | None) -> list[LocalRun]:
    """The commands for each cell chosen for the incident's cases; empty when no case ran anywhere yet."""
    if matrix is None:
        return []
    chosen: dict[Cell, list[str]] = {}
    for column in item.columns:
        cell = _choose(item, matrix, column.role)
        if cell is not None and column.case not in chosen.get(cell, []):
            chosen.setdefault(cell, []).append(column.case)
    return [LocalRun(cell, tuple(cases), _lines(item, matrix, cell, cases)) for cell, cases in chosen.items()]


def first_run_lines(incident: Incident) -> list[str]:
    """Before any cell has run the incident: what to install beyond an environment with torch and its stack."""
    regression = incident.regression
    required = "".join(f' "{text}"' for text in regression.requires)
    return [f'pip install -e ".[regressions]"{required}', f"python -m pytest {regression.path} -rA"]
