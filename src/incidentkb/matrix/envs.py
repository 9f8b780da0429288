"""The Python environment of a matrix cell: what goes into it, the commands that build it, and when to reuse it.

Built with uv where uv is found (fast, and its cache makes a rebuild cheap), else with `python -m venv` and pip,
which is what an offline GPU host without uv has. Cells that differ only in GPU count share one environment
(GPU cells add liger-kernel). A torch=installed environment sees the host Python's site-packages and never
installs torch: uv is told to leave the host's packages out of its resolution (`--excludes`), pip sees them itself
and a constraint pins the host's torch. The host's folders are appended to the environment's `sys.path` by a
`.pth` file rather than with `--system-site-packages`, because the host's python3 may itself be a virtual
environment (the device machines' is /opt/torch/.venv), whose packages `--system-site-packages` would not see. An environment whose recorded spec equals the wanted one is reused untouched,
so a warm re-run costs no installer call at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from incidentkb.host.versions import canonical_name
from incidentkb.matrix.axes import Cell, Matrix

__all__ = ["BYTECODE_MODES", "bytecode_mode", "EnvSpec", "spec_for", "env_dir", "python_in", "create_commands", "install_commands", "is_current", "mark_current", "SPEC_FILE"]

#: How a cell's environment gets its bytecode (INCIDENTKB_BYTECODE), and why `lazy` is the default. Measured on a
#: cold CPU cell (docs/performance.md, "Cold environments"): compiling every module at install (`install`, uv's
#: --compile-bytecode, pip's default) spent about a minute per environment on 10,000 files, most of which no case
#: imports; never writing bytecode (`none`) recompiles in memory what each of the many fresh processes a case
#: starts imports; `lazy` lets Python write the .pyc of the modules the cases do import, on first import, into
#: the environment, so a warm run reads them.
BYTECODE_MODES = ("lazy", "install", "none")


def bytecode_mode(value: str | None) -> str:
    """INCIDENTKB_BYTECODE's value checked (empty: `lazy`); a wrong one is a one-line `ValueError`."""
    mode = (value or "lazy").strip().lower()
    if mode not in BYTECODE_MODES:
        raise ValueError(f"INCIDENTKB_BYTECODE={value!r}: choose one of {', '.join(BYTECODE_MODES)} (default lazy)")
    return mode


#: Written into an environment once it is complete; its content is the spec the environment was built from.
SPEC_FILE = "incidentkb-env.json"


@dataclass(frozen=True)
class EnvSpec:
    """Everything that decides an environment's content; equal specs mean an environment can be reused."""

    name: str
    backend: str
    """`uv` or `pip`."""
    interpreter: str
    """The Python the environment is made from."""
    installer: str
    """With pip: the Python whose pip installs into the environment (`pip --python`), so the environment needs no
    pip of its own and its base needs no `ensurepip`, which Debian's system Pythons lack."""
    host_site: tuple[str, ...]
    """The host Python's site-packages folders, appended to the environment's path (torch=installed only)."""
    requirements: tuple[str, ...]
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    excludes: tuple[str, ...] = ()
    """Packages uv must leave to the host (torch=installed)."""
    constraints: tuple[str, ...] = ()
    """Lines of a constraints file for pip (torch=installed: the host's torch, exactly)."""
    project_hash: str = ""
    """A hash of pyproject.toml: a change of the project's dependencies rebuilds the environment."""
    compile_bytecode: bool = False
    """Compile every installed module at install time (INCIDENTKB_BYTECODE=install); see `BYTECODE_MODES`."""
    lock: tuple[str, ...] = ()
    """The cell's lock (`matrix.locks`) as `name==version` constraints: the environment holds exactly what its
    runs' fingerprints say, and a new resolution rebuilds it."""

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def env_dir(root: Path, spec: EnvSpec) -> Path:
    return root / ".nox" / f"regressions-{spec.name}"


def python_in(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def spec_for(
    matrix: Matrix,
    cell: Cell,
    *,
    backend: str,
    interpreter: str,
    project: Path,
    installer: str = sys.executable,
    wheelhouse: tuple[str, ...] = (),
    host_torch: str | None = None,
    host_site: tuple[str, ...] = (),
    bytecode: str = "lazy",
) -> EnvSpec:
    """The environment a cell runs in. `wheelhouse`: install only from these folders (offline)."""
    option, stack = matrix.torch_option(cell), matrix.stack(cell)
    requirements = [f"-e{project}[regressions]"]
    requirements.extend(option.requirements)
    requirements.extend(stack.requirements(gpus=cell.gpus))
    # an incident's own requirements (matrix.required): pinned, or left to the installer where no version is known
    requirements.extend(name if version == "any" else f"{name}=={version}" for name, version in cell.requires)
    find_links = tuple(wheelhouse) + tuple(link for link in option.find_links if Path(link).is_dir())
    excludes: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    if option.is_host:
        if backend == "uv":
            excludes = host_has(option.host_provides, host_site)
        elif host_torch:
            constraints = (f"torch=={host_torch}",)
    pyproject = project / "pyproject.toml"
    project_hash = hashlib.sha256(pyproject.read_bytes()).hexdigest()[:16] if pyproject.exists() else ""
    return EnvSpec(
        name=f"{option.id}-{stack.id}-{'gpu' if cell.gpus else 'cpu'}" + "".join(f"-{n}-{v}" for n, v in cell.requires),
        backend=backend,
        interpreter=interpreter,
        installer=installer if backend == "pip" else "",
        host_site=tuple(host_site) if option.is_host else (),
        requirements=tuple(requirements),
        find_links=find_links,
        no_index=bool(wheelhouse),
        excludes=excludes,
        constraints=constraints,
        project_hash=project_hash,
        compile_bytecode=bytecode == "install",
    )


def host_has(names: tuple[str, ...], host_site: tuple[str, ...]) -> tuple[str, ...]:
    """Those of `names` the host has installed in `host_site` (all of them when its folders are unknown).

    A host torch can come without what the matrix trusts such hosts to bring (a CI venv holding only torch has no
    numpy): uv must install whatever the host lacks rather than exclude it and leave the cell without it.
    """
    if not host_site:
        return names
    present = {
        canonical_name(info.name[: -len(".dist-info")].rsplit("-", 1)[0])
        for folder in host_site if Path(folder).is_dir() for info in Path(folder).glob("*.dist-info")
    }
    return tuple(name for name in names if canonical_name(name) in present)


#: Run by the new environment's Python: appends the host's folders to its path, after its own site-packages.
_LINK_HOST = "import sys, sysconfig; open(sysconfig.get_paths()['purelib'] + '/incidentkb-host.pth', 'w').write(sys.argv[1])"


def create_commands(spec: EnvSpec, venv: Path) -> list[list[str]]:
    """The commands that create the (empty) environment, replacing whatever is in `venv`."""
    if spec.backend == "uv":
        commands = [["uv", "venv", "--quiet", "--clear", "--python", spec.interpreter, str(venv)]]
    else:
        commands = [[spec.interpreter, "-m", "venv", "--clear", "--without-pip", str(venv)]]
    if spec.host_site:
        commands.append([str(python_in(venv)), "-c", _LINK_HOST, "\n".join(spec.host_site) + "\n"])
    return commands


def install_commands(spec: EnvSpec, venv: Path) -> tuple[list[list[str]], dict[Path, str]]:
    """The installer commands, and the small files (excludes, constraints) they read, by path."""
    files: dict[Path, str] = {}
    index = ["--no-index"] if spec.no_index else []
    links = [arg for link in spec.find_links for arg in ("--find-links", link)]
    python = str(python_in(venv))
    if spec.backend == "uv":
        extra: list[str] = []
        if spec.excludes:
            files[venv / "incidentkb-excludes.txt"] = "\n".join(spec.excludes) + "\n"
            extra = ["--excludes", str(venv / "incidentkb-excludes.txt")]
        # No bytecode at install unless asked (BYTECODE_MODES says why): the cases' own imports write it.
        compile_ = ["--compile-bytecode"] if spec.compile_bytecode else []
        extra += _lock_file(spec, venv, files)
        command = ["uv", "pip", "install", *compile_, "--python", python, *index, *links, *extra]
        return [[*command, *spec.requirements]], files
    extra = []
    if spec.constraints:
        files[venv / "incidentkb-constraints.txt"] = "\n".join(spec.constraints) + "\n"
        extra = ["--constraint", str(venv / "incidentkb-constraints.txt")]
    extra += _lock_file(spec, venv, files)
    pip = [spec.installer, "-m", "pip", "--python", python, "--disable-pip-version-check", "install"]
    compile_ = [] if spec.compile_bytecode else ["--no-compile"]  # pip compiles everything unless told not to
    return [[*pip, *compile_, *index, *links, *extra, *spec.requirements]], files


def _lock_file(spec: EnvSpec, venv: Path, files: dict[Path, str]) -> list[str]:
    """The installer's arguments for the lock's constraints file (added to `files`), if the spec has a lock."""
    if not spec.lock:
        return []
    files[venv / "incidentkb-lock.txt"] = "\n".join(spec.lock) + "\n"
    return ["--constraint", str(venv / "incidentkb-lock.txt")]


def is_current(spec: EnvSpec, venv: Path) -> bool:
    """Whether `venv` was completely built from exactly this spec (then nothing needs installing)."""
    try:
        recorded = json.loads((venv / SPEC_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return recorded.get("fingerprint") == spec.fingerprint() and python_in(venv).exists()


def mark_current(spec: EnvSpec, venv: Path) -> None:
    """Record that `venv` is complete; written last, so an interrupted build is rebuilt next time."""
    (venv / SPEC_FILE).write_text(
        json.dumps({"fingerprint": spec.fingerprint(), "spec": asdict(spec), "by": sys.executable}, indent=1),
        encoding="utf-8",
    )
