"""The plugin's markers and options: `@pytest.mark.incident(id, role)` and `@pytest.mark.needs(...)`."""

from __future__ import annotations

import pytest

from incidentkb.verdict.outcomes import parse_role

__all__ = ["INCIDENT_MARKER", "NEEDS_MARKER", "incident_of", "call_text"]

INCIDENT_MARKER = (
    "incident(incident_id, role): this case is the regression of incidents/<incident_id>.yaml in the given role: "
    "'symptom', 'fix', 'fix:<alternative-fix-id>' or 'attempt:<failed-attempt-id>'; its result is reported "
    "as an outcome worded for that role."
)
NEEDS_MARKER = (
    "needs(gpus=0, packages=(), versions=None, cuda=False, compute_capability=None, gpu_memory_gb=None): skip "
    "this case unless the host has `gpus` CUDA GPUs visible to torch, every package in `packages` installed, each "
    "`versions` entry ({name: specifier}) satisfied, with cuda=True a CUDA build of torch, and GPUs whose compute "
    "capability (e.g. '<8.0') and memory in GiB (e.g. '>=12') are in range; the skip reason lists every unmet "
    "condition."
)
REPORT_HELP = "write the incident cases' outcomes, observations, versions and hardware as JSON to PATH."
STRICT_HELP = "fail the run when a symptom or failed attempt no longer behaves as its record says (drift)."
ANY_VERSION_HELP = (
    "run cases whatever version of this package is installed: the package's `versions` conditions of `needs` "
    "are lifted (others still apply). For a bisection, which runs a case's code on every candidate release of "
    "one package; repeat for several packages."
)
INCIDENTS_HELP = "folder of the incident records, relative to the rootdir (default: incidents)."


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("incidentkb", "incident regressions")
    group.addoption("--incidentkb-report", metavar="PATH", default=None, help=REPORT_HELP)
    group.addoption("--incidentkb-strict", action="store_true", default=False, help=STRICT_HELP)
    group.addoption("--incidentkb-any-version", action="append", default=[], metavar="PACKAGE", help=ANY_VERSION_HELP)
    parser.addini("incidentkb_incidents", INCIDENTS_HELP, default="incidents")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", INCIDENT_MARKER)
    config.addinivalue_line("markers", NEEDS_MARKER)


def incident_of(item: pytest.Item) -> tuple[str, str] | None:
    """The (incident id, role) the item's marker names, checked; None for a test that is no incident case."""
    marker = item.get_closest_marker("incident")
    if marker is None:
        return None
    try:
        incident_id, role = _incident_args(*marker.args, **marker.kwargs)
        if not isinstance(incident_id, str) or not isinstance(role, str):
            raise TypeError("incident_id and role are strings")
        parse_role(role)
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.incident{call_text(marker)} (from marker): {exc}; "
            "write @pytest.mark.incident('<incident-id>', 'symptom'|'fix'|'fix:<id>'|'attempt:<id>')"
        ) from None
    return incident_id, role


def _incident_args(incident_id: str, role: str) -> tuple[str, str]:
    return incident_id, role


def call_text(marker: pytest.Mark) -> str:
    """The marker's arguments as they were written, for an error message."""
    args = [repr(a) for a in marker.args] + [f"{k}={v!r}" for k, v in marker.kwargs.items()]
    return f"({', '.join(args)})"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        incident_of(item)  # a malformed marker stops the run before anything runs
