"""Where each cell goes on the site's grids: one order of stacks, and columns named by the torch that ran.

The matrix's torch axis has values that are not versions (`installed`, the host's own torch; `latest`): a cell
with `torch=installed` on a CPU host ran 2.13.0+cpu, on a GPU host 2.11.0. A reader asks about versions, so
the grids place a cell by the torch it really had (local build tag dropped): `torch=installed` on a CPU host
and `torch=2.13.0` are one column, "torch 2.13.0". Such a `Slot` may hold several cells; it shows the newest
entry among them. Stacks run newest first on every page (`latest`, then by version), the question being
"what happens after I upgrade".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from incidentkb.site.case_runs import Cell, Entry, version_key
from incidentkb.site.standing import IncidentStanding, KnowledgeBase
from incidentkb.verdict.outcomes import Outcome

__all__ = ["Slot", "Layout", "layout", "per_incident", "gpu_torch_note", "cell_date", "torch_ran", "decisive", "site_order", "stack_order", "UNDECIDED"]

T = TypeVar("T")

#: Outcomes that answer nothing about the bug: a cell with only these did not show the incident's claim.
UNDECIDED = frozenset({Outcome.not_applicable, Outcome.not_run})


def decisive(entry: Entry | None) -> bool:
    """Whether the entry says something about the bug or the fix (it ran, and its claim could be shown)."""
    return entry is not None and entry.outcome not in UNDECIDED


class Slot(NamedTuple):
    """A place on the grids: the torch that ran, the stack, the GPU count, and the versions of what an incident
    requires beyond the stacks (`(("albumentations", "1.3.1"),)`; a cell of its own)."""

    torch: str
    stack: str
    gpus: int
    requires: tuple[tuple[str, str], ...] = ()

    @property
    def column(self) -> tuple[str, int]:
        return (self.torch, self.gpus)


def torch_ran(kb: KnowledgeBase, cell: Cell) -> str:
    """`2.13.0` for `torch=installed` that ran 2.13.0+cpu; a pinned cell's own version; the axis value when the
    results do not say."""
    real = kb.torch_versions.get(cell)
    if real and (cell.torch in ("installed", "latest") or real.split("+")[0] == cell.torch):
        return real.split("+")[0]
    return cell.torch


def site_order(cell: Cell) -> tuple[object, ...]:
    """The site's order of cells in lists and tables: stacks newest first, then GPUs, torch, what is required."""
    return (stack_order(cell.stack), cell.gpus, version_key(cell.torch), cell.requires)


def stack_order(stack: str) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    """Sort key putting `latest` first, then the stacks by version, newest first (sort ascending)."""
    if stack == "latest":
        return (0, ())
    return (1, tuple((-p, "") if isinstance(p, int) else (0, p) for _, p in version_key(stack)))  # type: ignore[misc]


def _column_key(column: tuple[str, int]) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    return (column[1], version_key(column[0]))


@dataclass
class Layout:
    """The slots of the knowledge base's cells, in the site's order."""

    cells_at: dict[Slot, list[Cell]]
    stacks: list[str]
    """Newest first."""
    columns: list[tuple[str, int]]
    """(torch that ran, GPUs), by GPU count then torch version."""

    @property
    def slots(self) -> list[Slot]:
        """Every slot with cells: by stack (newest first), then GPUs, then torch."""
        order = {stack: index for index, stack in enumerate(self.stacks)}
        return sorted(self.cells_at, key=lambda s: (order[s.stack], _column_key(s.column),
                                                    tuple((n, version_key(v)) for n, v in s.requires)))

    def entry(self, item: IncidentStanding, slot: Slot, role: str) -> Entry | None:
        """The newest entry of `role` among the slot's cells (a run of its own before a copy of another's)."""
        found = [e for cell in self.cells_at.get(slot, ()) if (e := item.entries.get((cell, role))) is not None]
        if len(found) < 2:
            return found[0] if found else None
        return max(found, key=lambda e: (e.covered_by is None, max(r.finished for r in e.runs)))

    def torch_label(self, slot_or_column: Slot | tuple[str, int]) -> str:
        torch = slot_or_column[0]
        return f"torch {torch}" if torch not in ("installed", "latest") else f"torch {torch} (version not recorded)"


def per_incident(kb: KnowledgeBase, name: str, item: IncidentStanding, make: Callable[[], T]) -> T:
    """`make()` for one incident, worked out once per build (kept in `kb.derived[name]`): several pages and
    parts of a page ask for the same thing (the grid and its legend, the incident page and the home table)."""
    cache = kb.derived.setdefault(name, {})
    if item.id not in cache:
        cache[item.id] = make()
    done: T = cache[item.id]
    return done


def layout(kb: KnowledgeBase) -> Layout:
    """The knowledge base's layout, worked out once per build."""
    done = kb.derived.get("layout")
    if done is None:
        cells_at: dict[Slot, list[Cell]] = defaultdict(list)
        for cell in kb.cells:
            cells_at[Slot(torch_ran(kb, cell), cell.stack, cell.gpus, cell.requires)].append(cell)
        stacks = sorted({s.stack for s in cells_at}, key=stack_order)
        columns = sorted({s.column for s in cells_at}, key=_column_key)
        done = kb.derived["layout"] = Layout(dict(cells_at), stacks, columns)
    return done


def cell_date(cell: Cell, kb: KnowledgeBase) -> str:
    """When the newest results file of the cell finished, as a date."""
    return kb.cell_dates[cell].strftime("%Y-%m-%d")


def gpu_torch_note(kb: KnowledgeBase) -> str:
    """Which torch the GPU columns ran, when it is not every torch the CPU columns ran (else empty).

    The GPU cells of the committed results ran on hosts that bring their own torch; a reader who sees no
    torch 2.6.0 on a GPU should be told so, not left to wonder whether it passed there.
    """
    plan = layout(kb)
    gpu = sorted({t for t, g in plan.columns if g > 0}, key=version_key)
    cpu_only = sorted({t for t, g in plan.columns if g == 0} - set(gpu), key=version_key)
    if not gpu or not cpu_only:
        return ""
    return (f"The GPU cells ran torch {', '.join(gpu)} only, the GPU hosts' own torch; torch "
            f"{', '.join(cpu_only)} ran on CPU only, so no GPU cell has {'them' if len(cpu_only) > 1 else 'it'}.")
