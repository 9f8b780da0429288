"""A pytest plugin that tells, under a failing test, which known incidents its error matches.

Any project can turn it on with `--incidentkb-known[=RECORDS_DIR]` (or the ini key `incidentkb_known`); it does
nothing otherwise, not even read the records. When on, each failed test's report gets a section
"known incidents" with the title, the fix and the link of every incident whose signatures match the error
(and the errors it was raised from), as a known-issue annotation. Records are read once, at the first failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Generator

import pytest

if TYPE_CHECKING:  # loaded in every pytest run: pydantic and the records are imported only once needed
    from incidentkb.match.matcher import IncidentMatch, Matcher
    from incidentkb.match.signatures import ErrorInfo

__all__ = ["SECTION", "errors_of"]

SECTION = "known incidents"
HELP_KNOWN = (
    "annotate each failing test with the known incidents its error matches, from the incident records in "
    "RECORDS_DIR (default: incidents/ under the rootdir)"
)
HELP_SITE = "the URL of the incidentkb site, to link each known incident's page (default: the page's path only)"

_STATE = pytest.StashKey["_Known"]()


class _Known:
    """Where the records are and, once a test has failed, the matcher built from them."""

    def __init__(self, directory: Path, root: Path, site_url: str) -> None:
        self.directory = directory
        self.root = root
        self.site_url = site_url
        self._matcher: Matcher | None = None

    @property
    def matcher(self) -> Matcher:
        if self._matcher is None:
            from incidentkb.match.matcher import Matcher

            inside = self.directory.resolve().is_relative_to(self.root.resolve())
            self._matcher = Matcher.from_directory(self.directory.resolve(), relative_to=self.root.resolve() if inside else None)
        return self._matcher

    def link(self, found: IncidentMatch) -> str:
        page = f"{self.site_url.rstrip('/')}/{found.page}" if self.site_url else found.page
        return f"{page} (record: {found.known.path})"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("incidentkb")
    group.addoption("--incidentkb-known", nargs="?", const="", default=None, metavar="RECORDS_DIR", help=HELP_KNOWN)
    parser.addini("incidentkb_known", HELP_KNOWN, default="")
    parser.addini("incidentkb_site_url", HELP_SITE, default="")


def pytest_configure(config: pytest.Config) -> None:
    option = config.getoption("incidentkb_known")
    ini = str(config.getini("incidentkb_known") or "").strip()
    if option is None and not ini:
        return
    if option is not None:
        where, base, given = "from --incidentkb-known", config.invocation_params.dir, option
    else:
        where, base, given = "from the ini key incidentkb_known", config.rootpath, ini
    directory = (base / given) if given else config.rootpath / "incidents"
    if not directory.is_dir():
        raise pytest.UsageError(
            f"no incident records directory at {directory} ({where}); pass the folder that holds the incidents' "
            "YAML files, e.g. --incidentkb-known=path/to/incidents")
    config.stash[_STATE] = _Known(directory, config.rootpath, str(config.getini("incidentkb_site_url") or ""))


def errors_of(exc: BaseException) -> list[ErrorInfo]:
    """The exception and those it was raised from or during, earliest first, the exception itself last."""
    from incidentkb.match.signatures import ErrorInfo

    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return [ErrorInfo.from_exception(e) for e in reversed(chain)]


def _section(known: _Known, matches: list[IncidentMatch]) -> str:
    count = f"{len(matches)} known incident{'s' if len(matches) > 1 else ''}"
    lines = [f"this error matches {count}:"]
    for found in matches:
        lines += [
            f"- {found.title} [{found.incident_id}]",
            f"  fix: {found.fix}",
            f"  link: {known.link(found)}",
            f"  why: {found.why}",
        ]
    return "\n".join(lines)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    known = item.config.stash.get(_STATE, None)
    if known is None or not report.failed or call.excinfo is None:
        return report
    matches = known.matcher.match_errors(errors_of(call.excinfo.value))
    if matches:
        report.sections.append((SECTION, _section(known, matches)))
    return report
