"""A candidate upgrade, or the user's own environment, as a cell: every incident run against the versions they give.

`nox -s candidate -- transformers==5.25.0 trl==1.17.0 [--torch T] [--gpus N]` or `-- --requirements FILE`, where
FILE is a `requirements.txt`, a `pylock.toml` (PEP 751) or a `uv.lock`. Only the packages the matrix's stacks are
made of (and torch) are read from a file: a project's other pins (its web framework, its linters) say nothing
about the incidents and could not install beside the regressions' own tools, so they are left out and counted in
a note. Whatever of transformers, trl, accelerate and datasets (and on GPUs peft and liger-kernel) is not pinned
is resolved to the newest that fits, as the `latest` stack does. The cell's stack is `candidate-<hash of the
pins>`, so the same pins make the same cell (and reuse its environment) and its results file reads like any
other.
"""

from __future__ import annotations

import hashlib
from argparse import SUPPRESS
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incidentkb.host.versions import canonical_name
from incidentkb.matrix.axes import Cell, Matrix, Stack, version_key
from incidentkb.results.runs import Run
from incidentkb.matrix.session_args import SessionArgsError, SessionParser
from incidentkb.verdict.outcomes import Outcome

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["CandidateError", "Pins", "Options", "parse_args", "read_pins", "candidate_stack", "candidate_torch",
           "summary", "closest_stack", "closest", "RESOLVED_CORE", "RESOLVED_GPU"]

#: What a candidate leaves unpinned is resolved: these in every cell, as the `latest` stack does ...
RESOLVED_CORE = ("transformers", "trl", "accelerate", "datasets")
#: ... and these in cells with GPUs.
RESOLVED_GPU = ("liger-kernel", "peft")


class CandidateError(ValueError):
    """A candidate the matrix cannot run; the message is one line, naming the file and line where there is one."""


@dataclass(frozen=True)
class Pins:
    """The versions a candidate pins, by canonical name, and what was left out of its source."""

    versions: Mapping[str, str]
    source: str = "the command line"
    ignored: tuple[str, ...] = ()
    """Names of the source's pins the regressions do not use (left out)."""

    @property
    def digest(self) -> str:
        """Eight hex digits of the pins: the same pins, the same cell id."""
        text = " ".join(f"{name}=={version}" for name, version in sorted(self.versions.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    def record(self) -> dict[str, Any]:
        """As the results file records it (`candidate`)."""
        return {"pins": dict(sorted(self.versions.items())), "source": self.source, "ignored": list(self.ignored)}


_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;#\\]+)")


def _requirements_txt(path: Path) -> list[tuple[str, str | None, int]]:
    """(name, version or None, line) of each requirement line; options (`-r`, `--hash`) and comments skipped."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.split(" #", 1)[0].strip()
        if not text or text.startswith(("#", "-", "--")):
            continue
        match = _REQUIREMENT.match(text)
        name = match.group(1) if match else re.split(r"[\s<>=!~;\[@]", text, maxsplit=1)[0]
        out.append((name, match.group(2) if match else None, number))
    return out


def _lock_packages(path: Path, table: str) -> list[tuple[str, str | None, int]]:
    """(name, version, 0) of each `[[packages]]` (pylock.toml) or `[[package]]` (uv.lock) entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CandidateError(f"{path}: not TOML ({exc})") from None
    entries = data.get(table, [])
    if not isinstance(entries, list):
        raise CandidateError(f"{path}: [[{table}]] must be a list of tables")
    return [(str(e["name"]), str(e["version"]) if e.get("version") else None, 0)
            for e in entries if isinstance(e, dict) and "name" in e]


def read_pins(path: Path, wanted: Sequence[str]) -> Pins:
    """The pins of `wanted` packages in a requirements.txt, pylock.toml or uv.lock; the rest counted as ignored.

    A `wanted` package the file names without an exact version is an error at its line: the candidate would
    not say what it tests. (A uv.lock of a workspace may list a package twice, once per fork of the
    resolution; the highest version is taken.)
    """
    if not path.is_file():
        raise CandidateError(f"{path}: no such file; give a requirements.txt, pylock.toml or uv.lock")
    if path.name == "uv.lock":
        entries = _lock_packages(path, "package")
    elif path.suffix == ".toml" and path.name.startswith("pylock"):
        entries = _lock_packages(path, "packages")
    else:
        entries = _requirements_txt(path)
    wanted_names = {canonical_name(n) for n in wanted}
    versions: dict[str, str] = {}
    ignored: list[str] = []
    for name, version, line in entries:
        key = canonical_name(name)
        if key not in wanted_names:
            ignored.append(key)
        elif version is None:
            where = f"{path}:{line}:1" if line else str(path)
            raise CandidateError(f"{where}: {name} is not pinned with '=='; the candidate must say which version it tests")
        elif key not in versions or version_key(version) > version_key(versions[key]):
            versions[key] = version
    return Pins(versions, source=str(path), ignored=tuple(sorted(set(ignored))))


def command_line_pins(arguments: Sequence[str], wanted: Sequence[str]) -> Pins:
    """`transformers==5.25.0 trl==1.17.0` as pins; a package the regressions do not use, or no `==`, is an error."""
    versions: dict[str, str] = {}
    for argument in arguments:
        match = _REQUIREMENT.fullmatch(argument.strip())
        if match is None:
            raise CandidateError(f"candidate: {argument!r}: write a pin as 'name==version', e.g. 'transformers==5.25.0'")
        name = canonical_name(match.group(1))
        if name not in wanted:
            raise CandidateError(f"candidate: {name!r} is not a package the regressions use; choose from {', '.join(wanted)}")
        versions[name] = match.group(2)
    return Pins(versions)


@dataclass(frozen=True)
class Options:
    """The candidate session's arguments."""

    pins: Pins
    torch: str | None = None
    gpus: int = 0
    pytest_args: tuple[str, ...] = field(default_factory=tuple)


def parse_args(argv: Sequence[str], matrix: Matrix, *, pins: bool = True, required: Sequence[str] = ()) -> Options:
    """`[name==version ...] [--requirements FILE] [--torch T] [--gpus N] [-- pytest args]`; errors are one line.

    `pins=False` reads the `latest` session's arguments, `[--torch T] [--gpus N] [-- pytest args]`. `required`:
    the packages records require beyond the stacks (`regression.requires`), which a candidate may pin too.
    """
    argv = list(argv)
    pytest_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, pytest_args = argv[:cut], argv[cut + 1:]
    session = "candidate" if pins else "latest"
    parser = SessionParser(prog=f"nox -s {session} --", description=(__doc__ or "").split("\n\n")[0] if pins else
                           "Every incident on the newest releases, resolved now (or as a wheelhouse froze them).",
                           epilog="Arguments after a second `--` go to pytest in the cell.")
    # `latest` reads pins too, only to say where they belong
    parser.add_argument("pins", nargs="*", metavar="NAME==VERSION", help="the versions to test" if pins else SUPPRESS)
    parser.add_argument("--requirements", "-r", type=Path, metavar="FILE",
                        help="pins from a requirements.txt, pylock.toml or uv.lock" if pins else SUPPRESS)
    parser.add_argument("--torch", help="the torch: a matrix id (2.13.0, installed, latest) or a version")
    parser.add_argument("--gpus", type=int, default=0, help="the GPUs the cell sees (default 0)")
    try:
        args = parser.parse_args(argv)
    except SessionArgsError as exc:
        raise CandidateError(f"{session}: {exc}") from None
    if not pins:
        if args.pins or args.requirements:
            raise CandidateError("latest: it takes only --torch T and --gpus N; pins belong to `nox -s candidate`")
        return Options(Pins({}), args.torch, args.gpus, tuple(pytest_args))
    wanted = tuple(sorted(set(matrix.packages()) | set(required)))
    pins = command_line_pins(args.pins, wanted)
    if args.requirements is not None:
        from_file = read_pins(args.requirements, wanted)
        pins = Pins({**from_file.versions, **pins.versions}, from_file.source
                    + (" and the command line" if pins.versions else ""), from_file.ignored)
    if not pins.versions:
        raise CandidateError("candidate: nothing to test; give pins (transformers==5.25.0 ...) or --requirements FILE"
                             " (`nox -s latest` tests the newest releases)")
    return Options(pins, args.torch, args.gpus, tuple(pytest_args))


def candidate_torch(matrix: Matrix, pins: Pins, asked: str | None) -> str:
    """The cell's torch: `--torch`, else the pinned torch (an axis value where one pins it), else the newest pinned axis value."""
    if asked:
        return asked
    version = pins.versions.get("torch")
    if version:
        for option in matrix.torch:
            if option.requirement and option.requirement.replace(" ", "") == f"torch=={version}":
                return option.id
        return version.split("+")[0]
    pinned = [o for o in matrix.torch if not o.is_host and not o.is_resolved and not o.on_request]
    return max(pinned, key=lambda o: version_key(o.id)).id


def candidate_stack(pins: Pins) -> Stack:
    """The stack of the pins (torch aside), leaving the core packages they do not pin to the resolver."""
    packages = tuple(f"{name}=={version}" for name, version in sorted(pins.versions.items()) if name != "torch")
    return Stack(
        id=f"candidate-{pins.digest}", why=f"a candidate from {pins.source}", packages=packages,
        resolve=tuple(n for n in RESOLVED_CORE if n not in pins.versions),
        gpu_resolve=tuple(n for n in RESOLVED_GPU if n not in pins.versions),
    )


def cell_for(matrix: Matrix, options: Options) -> tuple[Matrix, Cell]:
    """The matrix with the candidate's stack added, and the candidate's cell."""
    stack = candidate_stack(options.pins)
    return matrix.with_stack(stack), Cell(candidate_torch(matrix, options.pins, options.torch), stack.id, options.gpus)


#: How each role's outcomes answer "do the recorded fixes hold, and do the recorded bugs happen?".
_QUESTION = {"symptom": "the bug", "fix": "the fix", "attempt": "a failed attempt", "smoke": "the setup"}


def summary(result: Run) -> str:
    """One screen: a line per incident, its cases' outcomes by role, then the verdict on fixes and bugs.

    `result` should be judged (`Run.judged(records)`), as everything shown to a user is. A case that met an
    environment fault is no outcome of the bug: it is said as such, with the import that failed.
    """
    by_incident: dict[str, list[str]] = {}
    broken = reproduces = faults = 0
    for case in result.cases:
        if case.outcome is Outcome.not_run:
            continue
        role = case.role.split(":", 1)[0]
        said = f"{_QUESTION.get(role, role)} {case.outcome.value}"
        if case.outcome is Outcome.env_fault:
            said = (case.detail or "environment fault").splitlines()[0]
        by_incident.setdefault(case.incident, []).append(said)
        faults += case.outcome is Outcome.env_fault
        broken += case.outcome.fails_run and case.outcome is not Outcome.env_fault
        reproduces += case.outcome is Outcome.reproduces
    lines = [f"{result.cell}" + (f"  ({result.path.name})" if result.path else "")]
    for incident, parts in by_incident.items():
        lines.append(f"  {incident}: " + "; ".join(dict.fromkeys(parts)))
    lines.append("")
    if faults:
        lines.append(f"{faults} case(s) not tested: this environment cannot import what they test (an environment "
                     "fault, not an outcome of the bug)")
    lines.append("every recorded fix holds" if not broken else f"{broken} case(s) failed (a fix BROKEN, a crash or a timeout)")
    lines.append(f"{reproduces} recorded bug(s) still reproduce in this environment" if reproduces
                 else "no recorded bug reproduces in this environment")
    return "\n".join(lines) + "\n"


def closest_stack(matrix: Matrix, pins: Pins, *, gpus: int = 1) -> Stack | None:
    """The pinned stack of the matrix nearest the pins: most versions equal, then most equal to the minor release
    (`4.46.x`), then the order of the matrix file; None when no pinned stack shares a pinned package."""
    def score(stack: Stack) -> tuple[int, int]:
        versions = stack.versions(gpus=gpus)
        same = sum(versions.get(name) == version for name, version in pins.versions.items())
        minor = sum(version_key(versions.get(name) or "")[:2] == version_key(version)[:2]
                    for name, version in pins.versions.items() if versions.get(name))
        return same, minor
    stacks = [s for s in matrix.stacks if not s.is_resolved and not s.id.startswith("candidate-")]
    best = max(stacks, key=score, default=None)  # max keeps the first of equals: the matrix file's order
    return best if best is not None and score(best) != (0, 0) else None


def _newest_run(runs: Sequence[Run], stack: str, cell: Cell) -> Run | None:
    """The stack's newest run, preferring the candidate's torch and GPU count, then its GPU count."""
    mine = [r for r in runs if r.cell.stack == stack]
    for keep in (lambda c: c.torch == cell.torch and c.gpus == cell.gpus, lambda c: c.gpus == cell.gpus, lambda c: True):
        chosen = [r for r in mine if keep(r.cell)]
        if chosen:
            return max(chosen, key=lambda r: r.finished)
    return None


def closest(matrix: Matrix, pins: Pins, result: Run, runs: Sequence[Run]) -> str:
    """What the nearest pinned stack shows (its newest judged run in `runs`), and for each case of `result` that met
    an environment fault, the pins that run imported it with: the pins that would fix it."""
    stack = closest_stack(matrix, pins, gpus=result.cell.gpus)
    if stack is None:
        return "no pinned stack of the matrix shares a version with these pins\n"
    versions = stack.versions(gpus=result.cell.gpus)
    same = [f"{n} {v}" for n, v in pins.versions.items() if versions.get(n) == v]
    lines = [f"closest pinned stack: {stack.id} ({', '.join(same) or 'no pin equal'} as pinned here; "
             f"{', '.join(f'{n} {v}' for n, v in versions.items() if n not in pins.versions)})"]
    run = _newest_run(runs, stack.id, result.cell)
    if run is None:
        return "\n".join([*lines, "  it has no results yet: nox -s \"regressions(torch=... stack=" + stack.id + " gpus=...)\""]) + "\n"
    lines.append(f"  its newest run, {run.cell} ({run.finished[:10]}):")
    for incident, outcomes in _by_incident(run).items():
        lines.append(f"    {incident}: {'; '.join(outcomes)}")
    lines += _fixing_pins(matrix, result, run)
    return "\n".join(lines) + "\n"


def _by_incident(run: Run) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for case in run.cases:
        if case.outcome not in (Outcome.not_run, Outcome.not_applicable):
            role = case.role.split(":", 1)[0]
            out.setdefault(case.incident, []).append(f"{_QUESTION.get(role, role)} {case.outcome.value}")
    return {incident: list(dict.fromkeys(parts)) for incident, parts in out.items()}


def _fixing_pins(matrix: Matrix, result: Run, run: Run) -> list[str]:
    """For each environment fault of `result`: the versions `run` had of the packages the fault names, where
    they differ, as pins (those a candidate takes) and as notes (the others)."""
    from incidentkb.verdict.env_fault import parse_installed

    packages = {canonical_name(n): str(v) for n, v in run.packages.items()}
    imported = {c.nodeid for c in run.cases if c.outcome not in (Outcome.env_fault, Outcome.not_run, Outcome.crashed)}
    lines = []
    for case in (c for c in result.cases if c.outcome is Outcome.env_fault and c.nodeid in imported):
        first = (case.detail or "").splitlines()[0] if case.detail else ""
        here = {canonical_name(n): v for n, v in parse_installed(first).items()}
        here.update({canonical_name(m.split(".")[0]): "not installed" for m in re.findall(r"No module named '([\w.]+)'", first)})
        there = {n: packages[n] for n in here if n in packages and packages[n] != here[n]}
        pins = [f"{n}=={v}" for n, v in there.items() if n in matrix.packages()]
        others = [f"{n} {v} (here {here[n]})" for n, v in there.items() if n not in matrix.packages()]
        if pins or others:
            lines.append(f"  {case.name}: that run imported it with {', '.join(f'{n} {v}' for n, v in there.items())}"
                         + (f"; the pin that would fix it: {' '.join(pins)}" if pins else f"; {', '.join(others)}"))
    return lines
