"""A wheelhouse: every wheel some matrix cells need, downloaded on a machine with internet for one without.

`nox -s wheelhouse -- --python 3.12 --platform manylinux_2_28_x86_64 --torch installed --stack 4.51.3 --dest DIR`
resolves each chosen torch x stack pair for the target Python and platform with `uv pip compile` (the project's
own dependencies, setuptools to build it and nox to drive it included), then downloads exactly those pins with
`pip download --no-deps`. With `--torch installed`, packages the host brings (`host_provides` in the matrix file:
torch and its CUDA wheels, numpy, pyarrow, ...) are left out, which keeps one stack under the 64 MiB a device
call may carry. On the offline host, `INCIDENTKB_WHEELHOUSE=DIR nox -s regressions` installs from the folder only.

`--stack latest` (or `--torch latest`, or a candidate's `--pin NAME==VERSION` / `--requirements FILE`) is resolved
here, on the day the folder is built, for the target's Python and platform, and what the resolver chose is frozen
beside its pins (`frozen`): the offline host runs the cell `stack=latest` (or `stack=candidate-<hash>`, as
`nox -s candidate` with the same pins names it) with exactly those versions, and its results file says what was
resolved, on which day, and that a wheelhouse carried it.

A host whose Python has only torch has neither nox nor the project's dependencies, so the folder also carries
what starts the matrix there (`bootstrap_commands`): nox and the project's dependencies, resolved for the target
in full (`host_provides` is not applied to them: such a host has none), a wheel of the project itself, and
`bootstrap.sh` (src/incidentkb/templates/offline/), which makes a virtual environment that sees the host's
packages (its torch) and installs the rest from the folder alone. Two commands on the host:

    sh DIR/bootstrap.sh /opt/torch/.venv/bin/python3                                  # .venv-offline/
    .venv-offline/bin/incidentkb-nox -s "regressions(torch=installed stack=4.51.3 gpus=1)"
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from incidentkb.matrix import frozen
from incidentkb.matrix.axes import Matrix, MatrixError
from incidentkb.matrix.resolve import parse_compiled
from incidentkb.matrix.session_args import SessionParser

__all__ = ["Options", "parser", "parse_args", "with_candidate", "freeze_resolutions", "platform_tags", "requirement_sets", "project_requirements", "commands",
           "bootstrap_commands", "BOOTSTRAP_SCRIPT", "size_report"]

#: The extra things an offline host needs besides a cell's own packages: the build backend of the project, and nox.
TOOLS = ("setuptools>=69", "nox")


@dataclass(frozen=True)
class Options:
    dest: Path
    python: str | None = None
    platform: str | None = None
    torch: tuple[str, ...] = ()
    stacks: tuple[str, ...] = ()
    with_uv: bool = False
    host_python: str | None = None
    """The target host's Python, when it is at hand: leave out only the `host_provides` it really has."""
    cpu_only: bool = False
    """Only what the CPU cells need: no `gpu_packages` (liger-kernel brings triton, 270 MB without a host torch)."""
    pins: tuple[str, ...] = ()
    """A candidate's pins (`transformers==4.46.3`), frozen as the cell `nox -s candidate` with the same pins runs."""
    requirements: Path | None = None
    """A candidate's requirements.txt, pylock.toml or uv.lock (as `nox -s candidate -- --requirements FILE`)."""


def parser() -> argparse.ArgumentParser:
    """The session's options (`nox -s wheelhouse -- --help` prints them)."""
    parser = SessionParser(prog="nox -s wheelhouse --", description=__doc__.splitlines()[0])
    parser.add_argument("--dest", default="wheelhouse", help="the folder to fill (default: ./wheelhouse)")
    parser.add_argument("--python", help="the target host's Python, e.g. 3.12 (default: this one)")
    parser.add_argument("--platform", help="the target platform tag, e.g. manylinux_2_28_x86_64 (default: this one)")
    # nargs="+" with action="extend": `--stack A B` and `--stack A --stack B` mean the same, as users expect.
    parser.add_argument("--torch", nargs="+", action="extend", default=[], metavar="TORCH",
                        help="torch axis values to include, one or more: --torch A B, or --torch A --torch B "
                             "(default: all)")
    parser.add_argument("--stack", nargs="+", action="extend", default=[], metavar="STACK",
                        help="stack ids to include, one or more: --stack A B, or --stack A --stack B (default: all)")
    parser.add_argument("--with-uv", action="store_true", help="also carry uv (about 18 MB); without it the host uses venv + pip")
    parser.add_argument("--host-python", metavar="PYTHON",
                        help="with --torch installed: the host's Python, when it is this machine's (e.g. a venv holding "
                             "only torch): only the host_provides packages it has are left out, the others are carried")
    parser.add_argument("--cpu-only", action="store_true", help="only the CPU cells' packages (no gpu_packages)")
    parser.add_argument("--pin", action="append", default=[], metavar="NAME==VERSION",
                        help="freeze a candidate: its pins, as `nox -s candidate -- NAME==VERSION ...` takes them; "
                             "what they leave open is resolved now, as for `latest`")
    parser.add_argument("--requirements", type=Path, metavar="FILE",
                        help="freeze a candidate from a requirements.txt, pylock.toml or uv.lock")
    return parser


def parse_args(argv: Sequence[str]) -> Options:
    """Read the session's arguments; a wrong one is a one-line `SessionArgsError`, `--help` a `HelpRequested`."""
    args = parser().parse_args(list(argv))
    return Options(Path(args.dest), args.python, args.platform, tuple(args.torch), tuple(args.stack), args.with_uv,
                   args.host_python, args.cpu_only, tuple(args.pin), args.requirements)


def with_candidate(matrix: Matrix, options: Options) -> tuple[Matrix, Options]:
    """With `--pin`/`--requirements`: the matrix with the candidate's stack (`candidate-<hash>`, the id `nox -s
    candidate` gives the same pins) and the options choosing that stack alone."""
    if not options.pins and options.requirements is None:
        return matrix, options
    if options.stacks:
        raise MatrixError("--stack and --pin/--requirements: a candidate is its own stack; give one or the other")
    from incidentkb.matrix import candidate

    try:
        pins = candidate.command_line_pins(options.pins, matrix.packages())
        if options.requirements is not None:
            from_file = candidate.read_pins(options.requirements, matrix.packages())
            pins = candidate.Pins({**from_file.versions, **pins.versions}, from_file.source, from_file.ignored)
    except candidate.CandidateError as exc:
        raise MatrixError(str(exc).removeprefix("candidate: ")) from None
    stack = candidate.candidate_stack(pins)
    return matrix.with_stack(stack), replace(options, stacks=(stack.id,))


def platform_tags(platform: str) -> tuple[str, list[str]]:
    """uv's name of a manylinux platform and every tag pip must accept for it (pip matches tags exactly).

    `manylinux_2_28_x86_64` -> (`x86_64-manylinux_2_28`, [`manylinux_2_28_x86_64`, ..., `manylinux2014_x86_64`, ...]).
    """
    match = re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", platform)
    if match is None:
        raise MatrixError(f"--platform {platform}: give a manylinux tag such as manylinux_2_28_x86_64")
    major, minor, arch = int(match.group(1)), int(match.group(2)), match.group(3)
    tags = [f"manylinux_{major}_{m}_{arch}" for m in range(minor, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags += [f"{name}_{arch}" for m, name in legacy.items() if m <= minor]
    return f"{arch}-manylinux_{major}_{minor}", tags


def requirement_sets(matrix: Matrix, options: Options, project: Path) -> dict[str, list[str]]:
    """Requirement lines per torch x stack pair chosen, named `<torch>-<stack>`; GPU packages included."""
    torch_ids, stack_ids = _chosen_ids(matrix, options)
    sets = {}
    for torch_id in torch_ids:
        option = next((t for t in matrix.torch if t.id == torch_id), None)
        if option is None:
            raise MatrixError(f"--torch {torch_id}: not in the matrix; choose from {[t.id for t in matrix.torch]}")
        for stack_id in stack_ids:
            stack = next((s for s in matrix.stacks if s.id == stack_id), None)
            if stack is None:
                raise MatrixError(f"--stack {stack_id}: not in the matrix; choose from {[s.id for s in matrix.stacks]}")
            gpus = 0 if options.cpu_only else 1
            lines = [*project_requirements(project), *TOOLS, *stack.requirements(gpus=gpus), *stack.to_resolve(gpus=gpus)]
            lines.extend(option.requirements)
            if options.with_uv:
                lines.append("uv")
            sets[f"{option.id}-{stack.id}"] = lines
    return sets


def _target_args(options: Options) -> tuple[list[str], list[str]]:
    """uv's and pip's arguments that resolve and download for the target Python and platform, not this one's."""
    target: list[str] = []
    pip_target: list[str] = []
    if options.python:
        target += ["--python-version", options.python]
        pip_target += ["--python-version", options.python, "--implementation", "cp"]
    if options.platform:
        uv_platform, pip_platforms = platform_tags(options.platform)
        target += ["--python-platform", uv_platform]
        pip_target += [arg for tag in pip_platforms for arg in ("--platform", tag)]
    return target, pip_target


def commands(matrix: Matrix, options: Options, project: Path, *, uv: str, python: str = sys.executable) -> tuple[list[list[str]], dict[Path, str]]:
    """The compile and download commands that fill `options.dest`, and the requirement files they read."""
    work = options.dest / "requirements"
    target, pip_target = _target_args(options)
    files: dict[Path, str] = {}
    steps: list[list[str]] = []
    torch_of = {f"{t.id}-{s.id}": t for t in matrix.torch for s in matrix.stacks}  # ids may hold '-' themselves
    for name, lines in requirement_sets(matrix, options, project).items():
        option = torch_of[name]
        links = [arg for link in option.find_links if Path(link).is_dir() for arg in ("--find-links", link)]
        source, pinned = work / f"{name}.in", work / f"{name}.txt"
        files[source] = "\n".join(lines) + "\n"
        compile_ = [uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate", *target, *links, str(source), "-o", str(pinned)]
        if option.is_host:
            excludes = work / f"{name}.excludes"
            files[excludes] = "\n".join(_left_to_host(option.host_provides, options.host_python)) + "\n"
            compile_ += ["--excludes", str(excludes)]
        steps.append(compile_)
        steps.append([
            python, "-m", "pip", "download", "--disable-pip-version-check", "--quiet", "--no-deps",
            "--only-binary=:all:", *pip_target, *links, "-d", str(options.dest), "-r", str(pinned),
        ])
    return steps, files


def freeze_resolutions(matrix: Matrix, options: Options) -> list[Path]:
    """After the compile steps: for each pair whose stack (or torch) is resolved, write what the compile chose
    (`frozen.freeze`), so the offline host runs it as that cell with exactly those versions."""
    written = []
    target_python = options.python or f"{sys.version_info.major}.{sys.version_info.minor}"
    torch_ids, stack_ids = _chosen_ids(matrix, options)
    for option in (t for t in matrix.torch if t.id in torch_ids):
        for stack in (s for s in matrix.stacks if s.id in stack_ids and (s.is_resolved or option.is_resolved)):
            name = f"{option.id}-{stack.id}"
            pinned = options.dest / "requirements" / f"{name}.txt"
            locked = parse_compiled(pinned.read_text(encoding="utf-8"))
            written.append(frozen.freeze(options.dest, name, locked, python=target_python,
                                         platform=options.platform or "this host's"))
    return written


def _chosen_ids(matrix: Matrix, options: Options) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The torch and stack ids the session fills: those asked for, else every one that is not resolved when run
    (`latest` and the newest torch only when asked for: the day the folder is built fixes what they mean)."""
    return (options.torch or tuple(t.id for t in matrix.torch if not t.is_resolved),
            options.stacks or tuple(s.id for s in matrix.stacks if not s.is_resolved))


def _left_to_host(provides: tuple[str, ...], host_python: str | None) -> tuple[str, ...]:
    """What a `--torch installed` wheelhouse leaves out: the matrix's `host_provides`, or of those only what the
    given host Python has installed."""
    if host_python is None:
        return provides
    from incidentkb.matrix.envs import host_has
    from incidentkb.matrix.hosts import host_site_dirs

    site = host_site_dirs(host_python)
    if not site:
        raise MatrixError(f"--host-python {host_python}: cannot run it, or it has no site-packages")
    return host_has(provides, site)


def project_requirements(project: Path) -> list[str]:
    """The project's own dependencies and its `regressions` extra, from pyproject.toml (the project itself is
    installed from the working tree, so it needs no wheel)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [*data.get("dependencies", []), *data.get("optional-dependencies", {}).get("regressions", [])]


def size_report(dest: Path, limit_mib: float = 64) -> str:
    """How much the folder holds, and a warning when it will not fit one device call."""
    wheels = sorted(dest.glob("*.whl"))
    total = sum(w.stat().st_size for w in wheels) / 2**20
    biggest = sorted(wheels, key=lambda w: w.stat().st_size, reverse=True)[:5]
    lines = [f"{dest}: {len(wheels)} wheels, {total:.1f} MiB"]
    lines += [f"  {w.name}: {w.stat().st_size / 2**20:.1f} MiB" for w in biggest]
    if total > limit_mib:
        lines.append(f"  more than {limit_mib:.0f} MiB: build one folder per stack (--stack ID --dest DIR/ID) to carry them in parts")
    return "\n".join(lines)


#: The name of the bootstrap's requirement files under `<dest>/requirements/` (not a `<torch>-<stack>` pair).
BOOTSTRAP_SET = "_bootstrap"
#: The first of the two commands on an offline host, copied into every wheelhouse.
BOOTSTRAP_SCRIPT = Path(__file__).resolve().parents[1] / "templates" / "offline" / "bootstrap.sh"


def bootstrap_commands(options: Options, project: Path, *, uv: str, python: str = sys.executable) -> tuple[list[list[str]], dict[Path, str]]:
    """The commands that add what starts the matrix on a host with only torch (see the module's docstring), and
    the files they read: nox and the project's dependencies, a wheel of the project, bootstrap.sh."""
    work = options.dest / "requirements"
    target, pip_target = _target_args(options)
    source, pinned = work / f"{BOOTSTRAP_SET}.in", work / f"{BOOTSTRAP_SET}.txt"
    files = {
        source: "\n".join([*project_requirements(project), *TOOLS]) + "\n",
        options.dest / "bootstrap.sh": BOOTSTRAP_SCRIPT.read_text(encoding="utf-8"),
    }
    steps = [
        [uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate", *target, str(source), "-o", str(pinned)],
        [python, "-m", "pip", "download", "--disable-pip-version-check", "--quiet", "--no-deps", "--only-binary=:all:",
         *pip_target, "-d", str(options.dest), "-r", str(pinned)],
        [python, "-m", "pip", "wheel", "--disable-pip-version-check", "--quiet", "--no-deps", "-w", str(options.dest), str(project)],
    ]
    return steps, files
