"""`incidentkb check`: every record valid on its own, and records and regression cases naming each other.

A record lists its cases (`regression.cases`, and the `case` of its symptom, fix, failed attempts and
alternative fixes); each case names its record back with ``@pytest.mark.incident(id, role)``. Either side can
drift when someone renames a test or an attempt, so both directions are checked, from the syntax tree of the
regression files (never imported). Problems are attributed to the file a person would edit to fix them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from incidentkb.check.agreement import depends_on_problems, known_libraries, stated_result_problems
from incidentkb.check.reach import offer_of, reach_problems
from incidentkb.host.gpu_conditions import NOT_YET, NOWHERE
from incidentkb.check.regression_scan import (
    Case,
    RegressionFile,
    regression_files,
    scan_regression,
)
from incidentkb.check.results_wordings import check_results_wordings, read_results_files
from incidentkb.matrix.axes import MATRIX_FILE, Matrix, MatrixError, load_matrix
from incidentkb.results.files import RESULTS_DIR
from incidentkb.results.runs import Run
from incidentkb.records.bulk import collector_paused
from incidentkb.records.json_schema import SCHEMA_FILE
from incidentkb.records.reader import Problem, RecordFile, read_record, record_files
from incidentkb.records.schema import CASE_ROLE_PATTERN
from incidentkb.records.wording import did_you_mean
from incidentkb.verdict.outcomes import parse_role

__all__ = ["CheckError", "Report", "find_root", "check"]



class CheckError(Exception):
    """`check` cannot start: no repository found, or a path to check does not exist."""


def find_root(start: Path) -> Path:
    """The repository root: the nearest folder, from `start` upward, holding `incidents/` or `pyproject.toml`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "incidents").is_dir() or (folder / "pyproject.toml").is_file():
            return folder
    raise CheckError(f"no incidentkb repository at or above {start} (a folder with incidents/ or pyproject.toml); "
                     "run from inside one or pass --root")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Report:
    """What `check` found in the files it was asked about."""

    problems: tuple[Problem, ...]
    records: tuple[Path, ...]
    regressions: tuple[Path, ...]
    results: tuple[Path, ...] = ()
    """Results files whose observed symptom errors were checked against the signatures."""
    helpers: tuple[Path, ...] = ()
    """Python files under regressions/ that hold no case (helper modules): checked, but not regression files."""
    notes: tuple[Problem, ...] = ()
    """Not problems: cases whose record states hardware that no GPU the matrix has is known to meet ("verifiable on
    no cell of this matrix: needs ...", or "not yet run on a GPU that meets its conditions: needs ..."), listed so
    that a fix verified nowhere is never silent."""

    def adding(self, problems: Iterable[Problem]) -> "Report":
        """This report with more problems (each once, in order)."""
        return replace(self, problems=tuple(sorted({*self.problems, *problems})))

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """The last line `check` prints: ``checked 3 records and 3 regression files: all good``."""
        if self.ok:
            parts = [_plural(len(self.records), "record")]
            if self.regressions:
                parts.append(_plural(len(self.regressions), "regression file"))
            if self.helpers:
                parts.append(_plural(len(self.helpers), "helper module"))
            checked = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
            return f"checked {checked}: all good{self._notes_counted()}"
        paths = {p.path for p in self.problems}
        bad_records = sum(str(p) in paths for p in self.records)
        bad_regressions = sum(str(p) in paths for p in (*self.regressions, *self.helpers))
        bad_results = sum(str(p) in paths for p in self.results)
        where = [_plural(n, w) for n, w in ((bad_records, "record"), (bad_regressions, "regression file"),
                                            (bad_results, "results file")) if n]
        return f"{_plural(len(self.problems), 'problem')} in {' and '.join(where)}"

    def _notes_counted(self) -> str:
        """` (1 case verifiable on no cell of this matrix, 1 case not yet run on a GPU that meets its conditions)`."""
        counts = [(sum(NOWHERE in n.message for n in self.notes), "verifiable on no cell of this matrix"),
                  (sum(NOT_YET in n.message for n in self.notes), "not yet run on a GPU that meets its conditions")]
        said = [f"{_plural(n, 'case')} {words}" for n, words in counts if n]
        return f" ({', '.join(said)})" if said else ""


@dataclass
class _Checker:
    root: Path
    records: list[RecordFile]
    scans: dict[Path, RegressionFile] = field(default_factory=dict)
    by_id: dict[str, RecordFile] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    regression_paths: dict[Path, Path | None] = field(default_factory=dict)
    reported_roles: set[tuple[Path, str]] = field(default_factory=set)
    """Cases whose role names nothing: already reported, so the case fields that point at them are not."""

    def report(self, record: RecordFile, place: tuple[str | int, ...], message: str) -> None:
        """A problem of `record`, at the value written at `place`."""
        self.problems.append(record.problem(place, message))

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def scan(self, path: Path) -> RegressionFile:
        if path not in self.scans:
            self.scans[path] = scan_regression(path)
        return self.scans[path]

    def regression_of(self, record: RecordFile) -> Path | None:
        if record.path not in self.regression_paths:
            rpath = record.get("regression", "path")
            # normpath, not resolve: no file-system calls for a thousand records.
            path = Path(os.path.normpath(self.root / rpath)) if isinstance(rpath, str) else None
            if path is not None and not path.is_relative_to(self.root / "regressions"):
                path = None  # `regressions/../..` must not make check read files elsewhere; `cases` reports it
            self.regression_paths[record.path] = path
        return self.regression_paths[record.path]

    # --- one record ---------------------------------------------------------------------------------------

    def record(self, record: RecordFile) -> None:
        self.problems.extend(record.problems)
        if record.doc is None:
            return
        self.schema_ref(record)
        rid = record.get("id")
        if isinstance(rid, str):
            if rid != record.path.stem:
                self.report(record, ("id",), f"id '{rid}' does not match the file name '{record.path.name}'; "
                                             f"rename the file to {rid}.yaml or set the id to '{record.path.stem}'")
            first = self.by_id.get(rid, record)
            if first is not record:
                self.report(record, ("id",), f"duplicate id '{rid}': {self.rel(first.path)} already has it; "
                                             "give each incident its own id")
        self.cases(record, rid if isinstance(rid, str) else None)
        self.case_fields(record)

    def schema_ref(self, record: RecordFile) -> None:
        expected = os.path.relpath(self.root / SCHEMA_FILE, record.path.parent).replace(os.sep, "/")
        ref = record.schema_ref
        if ref is None:
            self.problems.append(Problem(str(record.path), 1, 1, (
                "the record does not name its JSON Schema, so editors cannot check it; add "
                f"'# yaml-language-server: $schema={expected}' as its first line")))
        elif "://" not in ref.target and not (record.path.parent / ref.target).is_file():
            self.problems.append(Problem(str(record.path), ref.line, ref.col,
                                         f"the JSON Schema '{ref.target}' does not exist; write $schema={expected}"))

    @staticmethod
    def case_entries(record: RecordFile) -> list[tuple[int, Any, Any]]:
        """Index, name and role of each entry of `regression.cases`; None for a name or role with a problem."""
        cases = record.raw("regression", "cases")
        return [
            (index, record.get("regression", "cases", index, "name"), record.get("regression", "cases", index, "role"))
            for index in range(len(cases) if isinstance(cases, list) else 0)
        ]

    @classmethod
    def listed(cls, record: RecordFile) -> list[tuple[int, str, str]]:
        """Index, name and role of each readable entry of `regression.cases` (an entry with a problem is left out)."""
        return [(i, n, r) for i, n, r in cls.case_entries(record) if isinstance(n, str) and isinstance(r, str)]

    @staticmethod
    def _ids(record: RecordFile, *where: str | int) -> list[str] | None:
        """The ids of the failed attempts or alternative fixes, or None when the list itself is unreadable."""
        items = record.raw(*where)
        if items is None:
            return [] if record.usable(tuple(where)) else None
        if not isinstance(items, list):
            return None
        ids = [record.get(*where, n, "id") for n in range(len(items))]
        return ids if all(isinstance(i, str) for i in ids) else None

    def _role_names_something(self, record: RecordFile, index: int, role: str) -> bool:
        """False (and a problem) when an `attempt:<id>`, `fix:<id>` or `fix` role names nothing in the record."""
        kind, name = parse_role(role)
        if kind.value == "fix" and record.raw("fix") is None and record.usable(("fix",)):
            self.report(record, ("regression", "cases", index, "role"), f"role '{role}' but the record has no fix "
                        "(`fix` is left out: no fix known); add the fix, or list the case as a `smoke` or an attempt")
            return False
        if name is None:
            return True
        if kind.value == "attempt":
            what, ids = "failed attempt", self._ids(record, "failed_attempts")
        else:
            what, ids = "alternative fix", self._ids(record, "fix", "alternatives")
        if ids is None or name in ids:
            return True
        guess = did_you_mean(name, ids)
        known = f"the record's {what}s are {', '.join(ids)}" if ids else f"the record has no {what}s"
        hint = f"did you mean '{kind.value}:{guess}'?" if guess else known
        self.report(record, ("regression", "cases", index, "role"), f"role '{role}' names no {what} '{name}'; {hint}")
        return False

    def cases(self, record: RecordFile, rid: str | None) -> None:
        """Each listed case exists in the regression file, is marked for this record, with the same role."""
        listed = self.listed(record)
        seen: set[str] = set()
        for index, name, role in listed:
            if not self._role_names_something(record, index, role):
                self.reported_roles.add((record.path, name))
            if name in seen:
                self.report(record, ("regression", "cases", index, "name"),
                            f"case '{name}' is listed twice in regression.cases; keep one")
            seen.add(name)
        file = self.regression_of(record)
        if file is None:
            rpath = record.get("regression", "path")
            if isinstance(rpath, str):
                self.report(record, ("regression", "path"), f"regression file '{rpath}' is outside regressions/; "
                                                            "write its path under regressions/, without '..'")
            return
        if not file.is_file():
            self.report(record, ("regression", "path"), f"regression file '{self.rel(file)}' does not exist; correct "
                                                        "the path, or create the file (`incidentkb new` writes a stub)")
            return
        scan = self.scan(file)
        if scan.parsed:
            for index, name, role in listed:
                self.case_in_file(record, rid, scan, (index, name, role))

    def case_in_file(self, record: RecordFile, rid: str | None, scan: RegressionFile, entry: tuple[int, str, str]
                     ) -> None:
        index, name, role = entry
        where = ("regression", "cases", index)
        case = scan.functions.get(name)
        if case is None:
            guess = did_you_mean(name, [n for n in scan.functions if n.startswith("test")])
            hint = f"did you mean '{guess}'?" if guess else "define it there or correct the name"
            self.report(record, (*where, "name"), f"case '{name}' is not defined in {self.rel(scan.path)}; {hint}")
            return
        if rid is None or any(m.incident is None or m.role is None for m in case.markers):
            return  # the id or the marker is unreadable, and that is reported where it is written
        at = f"{self.rel(scan.path)}:{case.line}"
        mine = [m for m in case.markers if m.incident == rid]
        if not case.markers:
            self.report(record, (*where, "name"), f"case '{name}' ({at}) has no incident marker; "
                                                  f"add @pytest.mark.incident(\"{rid}\", \"{role}\") above it")
        elif not mine:
            self.report(record, (*where, "name"), f"case '{name}' ({at}) is marked for incident "
                                                  f"'{case.markers[0].incident}', not for '{rid}'")
        elif all(m.role != role for m in mine) and (record.path, name) not in self.reported_roles:
            self.report(record, (*where, "role"), f"case '{name}' has role '{role}' here but '{mine[0].role}' in its "
                                                  f"marker at {self.rel(scan.path)}:{mine[0].line}; make them agree")

    def case_fields(self, record: RecordFile) -> None:
        """The `case` of the symptom, the fix, each attempt and alternative is listed with the matching role."""
        roles: dict[str, str | None] = {}  # None: a role with a problem of its own
        for _, name, role in self.case_entries(record):
            if isinstance(name, str):
                roles.setdefault(name, role if isinstance(role, str) else None)
        fields: list[tuple[tuple[str | int, ...], str]] = [(("symptom", "case"), "symptom"), (("fix", "case"), "fix")]
        for where, kind in ((("failed_attempts",), "attempt"), (("fix", "alternatives"), "fix")):
            items = record.raw(*where)
            for n in range(len(items) if isinstance(items, list) else 0):
                item_id = record.get(*where, n, "id")
                if isinstance(item_id, str):
                    fields.append(((*where, n, "case"), f"{kind}:{item_id}"))
        for place, expected in fields:
            name = record.get(*place)
            if not isinstance(name, str) or (record.path, name) in self.reported_roles or not roles:
                continue
            if name not in roles:
                self.report(record, place, f"case '{name}' is not listed in regression.cases; add "
                                           f"{{name: {name}, role: {expected}}} there")
            elif roles[name] not in (None, expected):
                self.report(record, place, f"case '{name}' is listed in regression.cases with role '{roles[name]}', "
                                           f"but as the case of this part of the record its role is '{expected}'")
        related = record.raw("symptom", "related_errors")
        for n in range(len(related) if isinstance(related, list) else 0):
            # A related error may be observed by a case of any role (often the fix's): it must only be listed.
            name = record.get("symptom", "related_errors", n, "case")
            if isinstance(name, str) and roles and name not in roles:
                self.report(record, ("symptom", "related_errors", n, "case"),
                            f"case '{name}' is not listed in regression.cases; list it there with its role")

    # --- one regression file ------------------------------------------------------------------------------

    def regression(self, scan: RegressionFile) -> None:
        name = str(scan.path)
        self.problems.extend(Problem(name, i.line, i.col, i.message) for i in scan.issues)
        for case in scan.marked:
            if len(case.markers) > 1:
                m = case.markers[1]
                self.problems.append(Problem(name, m.line, m.col, (
                    f"case '{case.name}' has {len(case.markers)} incident markers; "
                    "a case checks one role of one incident")))
            for marker in case.markers:
                if marker.incident is not None and marker.role is not None:
                    self.marked_case(scan, case, marker.incident, marker.role, (marker.line, marker.col))

    def marked_case(self, scan: RegressionFile, case: Case, incident: str, role: str, at: tuple[int, int]) -> None:
        def report(message: str) -> None:
            self.problems.append(Problem(str(scan.path), at[0], at[1], message))

        if not re.match(CASE_ROLE_PATTERN, role):
            report(f"case '{case.name}' has role '{role}' in its marker, which is not a role; write 'symptom', "
                   "'fix', 'fix:<alternative fix id>' or 'attempt:<failed attempt id>'")
        record = self.by_id.get(incident)
        if record is None:
            guess = did_you_mean(incident, self.by_id)
            hint = f"; did you mean '{guess}'?" if guess else f"; create incidents/{incident}.yaml or correct the id"
            report(f"case '{case.name}' is marked for incident '{incident}', which does not exist{hint}")
            return
        file = self.regression_of(record)
        if file is not None and file != scan.path:
            report(f"case '{case.name}' is marked for incident '{incident}', but {self.rel(record.path)} names "
                   f"{self.rel(file)} as its regression file")
            return
        names = [name for _, name, _ in self.case_entries(record)]
        # With a name unreadable the record's list is not known: its own problem is reported instead.
        if names and all(isinstance(n, str) for n in names) and case.name not in names:
            report(f"case '{case.name}' is marked for incident '{incident}', but {self.rel(record.path)} does not list "
                   f"it; add {{name: {case.name}, role: {role}}} to its regression.cases")


def _expand(root: Path, paths: Iterable[Path]) -> tuple[set[Path], set[Path]]:
    """The record files and regression files named by `paths` (files, or folders searched recursively)."""
    records: set[Path] = set()
    regressions: set[Path] = set()
    for given in paths:
        path = given.resolve()
        if not path.exists():
            raise CheckError(f"{given} does not exist; give record files, regression files or folders holding them")
        if path.is_dir():
            records.update(p.resolve() for p in path.rglob("*.yaml") if p.is_file() and "__pycache__" not in p.parts)
            regressions.update(p.resolve() for p in regression_files(path))
        elif path.suffix in (".yaml", ".yml"):
            records.add(path)
        elif path.suffix == ".py":
            regressions.add(path)
        else:
            raise CheckError(f"cannot check {given}: records are .yaml files and regressions are .py files")
    return records, regressions


def check(root: Path, paths: Sequence[Path] | None = None) -> Report:
    """Check the records and regression files of the repository at `root`, or only those named by `paths`.

    Cross-references are always resolved against every record in `incidents/`, so checking one file still
    knows which incidents exist. A record's regression file, and the records a regression file's markers name,
    are checked along with it.
    """
    root = root.resolve()
    # Found under the resolved root, so already absolute and normal.
    every_record = record_files(root / "incidents")
    whole = not paths or any(p.resolve() == root for p in paths)
    if whole:
        chosen_records, chosen_regressions = set(every_record), set(regression_files(root / "regressions"))
    else:
        chosen_records, chosen_regressions = _expand(root, paths)
    extra = sorted(chosen_records.difference(every_record))
    with collector_paused():
        checker = _Checker(root, [read_record(p) for p in every_record + extra])
        report = _run(checker, chosen_records, chosen_regressions)
    matrix = _matrix(root)
    if matrix is not None:
        chosen = [r for r in checker.records if r.path in chosen_records]
        report = report.adding(depends_on_problems(chosen, known_libraries(matrix)))
        unreachable, notes = reach_problems(chosen, root, offer_of(matrix, _pyproject(root), _committed(root)))
        report = replace(report.adding(unreachable), notes=tuple(sorted(notes)))
    if not whole:
        return report
    # Every wording a symptom case observed must match its own incident's signatures, and no other's.
    results = read_results_files(root / RESULTS_DIR)  # the committed results, whatever INCIDENTKB_RESULTS says
    if not results:
        return report  # no signatures to compile: a fifth of the time at 5,000 records
    with collector_paused():
        wordings = check_results_wordings(checker.records, results, root=root)
        runs = [file.run for file in results if file.run is not None]  # the others: the results reader reports them
        stated = stated_result_problems(checker.records, runs, root)
    problems = tuple(sorted({*report.problems, *wordings, *stated}))
    return replace(report, problems=problems, results=tuple(file.path for file in results))


def _matrix(root: Path) -> Matrix | None:
    """The repository's matrix, or None where it has none (or one `nox` would refuse, which says why itself)."""
    try:
        return load_matrix(root / MATRIX_FILE) if (root / MATRIX_FILE).is_file() else None
    except MatrixError:
        return None


def _pyproject(root: Path) -> Mapping[str, Any]:
    """The project's pyproject.toml, read (empty when it has none or it does not parse)."""
    from incidentkb.matrix.axes import tomllib  # the standard library's, or tomli on Python 3.10

    try:
        return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _committed(root: Path) -> list[Run]:
    """The committed cell runs (what environments installed, which GPUs they ran on); bisections are not listed."""
    return [file.run for file in read_results_files(root / RESULTS_DIR) if file.run is not None]


def _run(checker: _Checker, chosen_records: set[Path], chosen_regressions: set[Path]) -> Report:
    for record in checker.records:
        # Index by the id as written, even an invalid one (reported on its own), so markers naming it resolve.
        rid = record.raw("id")
        if isinstance(rid, str):
            checker.by_id.setdefault(rid, record)
    # Checking one side of a reference means checking the other side too.
    for record in checker.records:
        if record.path in chosen_records and (file := checker.regression_of(record)) is not None and file.is_file():
            chosen_regressions.add(file)
    for file in sorted(chosen_regressions):
        for case in checker.scan(file).marked:
            for marker in case.markers:
                named = checker.by_id.get(marker.incident or "")
                if named is not None:
                    chosen_records.add(named.path)
    for record in checker.records:
        checker.record(record)
    for file in sorted(chosen_regressions):
        checker.regression(checker.scan(file))
    selected = {str(p) for p in chosen_records | chosen_regressions}
    problems = sorted({p for p in checker.problems if p.path in selected})
    # A regression file holds cases (or a record names it); the other files under regressions/ are its helpers.
    named = {path for record in checker.records if (path := checker.regression_paths.get(record.path)) is not None}
    cases = {file for file in chosen_regressions if checker.scan(file).marked or file in named}
    return Report(tuple(problems), tuple(sorted(chosen_records)), tuple(sorted(cases)),
                  helpers=tuple(sorted(chosen_regressions - cases)))
