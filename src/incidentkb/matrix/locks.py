"""A cell's lock: the exact version of every package its environment holds, known before the environment exists.

`uv pip compile` of what the cell installs (the project's own dependencies, the torch option, the stack; the
names a `latest` stack leaves open, bare) answers in about a second from uv's cache, without downloading a wheel
(it reads their metadata), so a cell whose every incident has a stored run with the same lock needs no
environment at all: on a fresh clone that is what keeps the torch 2.6.0 cells' 3 GB of CUDA wheels from being
downloaded. The environment is then installed with the lock as its constraints (`envs.EnvSpec.lock`), so what
a run records as its lock is what it ran on, and a new resolution (a release of a package the stacks leave
loose, a new `latest`) rebuilds the environment. torch=installed cells leave the host's packages out of the
resolution, as their environment does, and add the host's versions of them.

Locks of all cells are asked for at once (`locks_for`), and each is kept for a while (`cached`): a compile
costs about a second of CPU and a round trip to the index per package, so 18 of them took 14 s on this 2-core
machine under load, most of a warm main job's 20 s. A kept lock is used while its input is the same (the
requirements, the interpreter, the folders' wheels, the host's packages) and it is younger than
INCIDENTKB_LOCK_TTL seconds (default 12 hours; 0 asks the index every time). Within that time a new release on
the index is not seen, which is also what the environment would hold: it is installed from the same lock.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incidentkb.host.versions import canonical_name
from incidentkb.matrix import fingerprint, resolve
from incidentkb.matrix.axes import Cell, Matrix

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Lock", "LockRequest", "project_requirements", "lock_input", "host_versions", "python_version",
           "compute", "kept", "cached", "lock_ttl", "locks_for"]

#: How long a computed lock is used before the index is asked again, unless INCIDENTKB_LOCK_TTL says otherwise.
DEFAULT_TTL_S = 12 * 3600


@dataclass(frozen=True)
class Lock:
    """Every package of a cell's environment at its exact version, and the interpreter's version."""

    pins: Mapping[str, str]
    python: str

    @property
    def torch(self) -> str | None:
        return self.pins.get("torch")

    @property
    def digest(self) -> str:
        """The `lock` part of a fingerprint."""
        return fingerprint.lock_hash({**self.pins, "python": self.python})

    def constraints(self) -> tuple[str, ...]:
        """The lock as constraint lines for the installer."""
        return tuple(f"{name}=={version}" for name, version in sorted(self.pins.items()))


@dataclass(frozen=True)
class LockRequest:
    """What `compute` needs for one cell: set up by the caller, which knows the host."""

    cell: Cell
    python: str
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    excludes: tuple[str, ...] = ()
    """Packages left to the host (torch=installed); their host versions join the lock."""
    host_site: tuple[str, ...] = ()


def project_requirements(pyproject: Path, extra: str = "regressions") -> list[str]:
    """The project's own dependencies and those of its `extra`, as an environment installs them with it."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    return [*data.get("dependencies", []), *data.get("optional-dependencies", {}).get(extra, [])]


def lock_input(matrix: Matrix, cell: Cell, project: Path) -> list[str]:
    """The requirements a cell's environment installs (`envs.spec_for`'s), the project replaced by its dependencies
    and the versions of what an incident requires beyond the stacks (`matrix.required`) added."""
    required = [name if version == "any" else f"{name}=={version}" for name, version in cell.requires]
    return project_requirements(project / "pyproject.toml") + resolve.compile_input(matrix, cell, required)


def host_versions(names: Iterable[str], host_site: Sequence[str]) -> dict[str, str]:
    """The versions of `names` installed in the host's site-packages folders (read from their dist-info)."""
    wanted = {canonical_name(n) for n in names}
    found: dict[str, str] = {}
    for folder in host_site:
        for info in sorted(Path(folder).glob("*.dist-info")) if Path(folder).is_dir() else ():
            name, _, version = info.name[: -len(".dist-info")].rpartition("-")
            if canonical_name(name) in wanted:
                found.setdefault(canonical_name(name), version)
    return found


@functools.lru_cache(maxsize=16)
def python_version(python: str) -> str:
    """The full version of an interpreter (`3.11.7`): part of the lock, since wheels and behaviour follow it."""
    try:
        done = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                              capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return "?"
    return done.stdout.strip() or "?"


def compute(matrix: Matrix, request: LockRequest, *, uv: str, project: Path) -> Lock:
    """The cell's lock; `resolve.ResolveError` (one line) when the versions cannot be chosen."""
    with tempfile.TemporaryDirectory(prefix="incidentkb-lock-") as tmp:
        requirements = Path(tmp, "requirements.in")
        requirements.write_text("\n".join(lock_input(matrix, request.cell, project)) + "\n", encoding="utf-8")
        excludes = None
        if request.excludes:
            excludes = Path(tmp, "excludes.txt")
            excludes.write_text("\n".join(request.excludes) + "\n", encoding="utf-8")
        command = resolve.compile_command(uv, requirements, python=request.python, find_links=request.find_links,
                                          excludes=excludes)
        command += ["--no-index"] if request.no_index else []
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        raise resolve.explain_failure(done.stderr, what=f"{request.cell}: its lock")
    pins = resolve.parse_compiled(done.stdout)
    pins.update(host_versions(request.excludes, request.host_site))
    return Lock(pins=pins, python=python_version(request.python))


def lock_ttl(value: str | None) -> float:
    """INCIDENTKB_LOCK_TTL's value in seconds (empty: `DEFAULT_TTL_S`); a wrong one is a one-line `ValueError`."""
    try:
        ttl = float(value) if value not in (None, "") else DEFAULT_TTL_S
    except ValueError:
        raise ValueError(f"INCIDENTKB_LOCK_TTL={value!r}: give seconds, e.g. 0 to ask the index every time") from None
    if ttl < 0:
        raise ValueError(f"INCIDENTKB_LOCK_TTL={value!r}: give seconds, e.g. 0 to ask the index every time")
    return ttl


def _cache_key(matrix: Matrix, request: LockRequest, project: Path) -> str:
    """Everything a compile depends on besides the index itself, hashed."""
    folders = {link: sorted(os.listdir(link)) for link in request.find_links if Path(link).is_dir()}
    return fingerprint.digest_of({
        "input": lock_input(matrix, request.cell, project), "python": os.path.realpath(request.python), "folders": folders,
        "no_index": request.no_index, "excludes": sorted(request.excludes),
        "host": host_versions(request.excludes, request.host_site),
    })


def kept(folder: Path, key: Any, ttl_s: float, compute: Callable[[], dict[str, Any]], *,
         now: float | None = None) -> dict[str, Any]:
    """`compute()`'s answer, kept in `folder` under a hash of `key` and used again while younger than `ttl_s`;
    an empty answer (nothing could be resolved: offline) is never kept."""
    path = folder / f"{fingerprint.digest_of(key)}.json"
    now = time.time() if now is None else now
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if now - float(stored["at"]) < ttl_s:
            return dict(stored["answer"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    answer = compute()
    if answer:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.partial")
        tmp.write_text(json.dumps({"at": now, "key": key, "answer": answer}), encoding="utf-8")
        os.replace(tmp, path)
    return answer


def cached(matrix: Matrix, request: LockRequest, *, uv: str, project: Path, folder: Path, ttl_s: float,
           now: float | None = None) -> Lock:
    """`compute`, unless a lock of the same input computed less than `ttl_s` ago is kept in `folder`."""
    def fresh() -> dict[str, Any]:
        lock = compute(matrix, request, uv=uv, project=project)
        return {"pins": dict(lock.pins), "python": lock.python}

    answer = kept(folder, {"lock": _cache_key(matrix, request, project)}, ttl_s, fresh, now=now)
    return Lock(pins=dict(answer["pins"]), python=str(answer["python"]))


def locks_for(requests: Iterable[LockRequest], compute_one: Callable[[LockRequest], Lock],
              workers: int = 8) -> dict[Cell, Lock | resolve.ResolveError]:
    """Every request's lock, asked for at once (each waits mostly on the index); a failure is kept as its value."""
    def one(request: LockRequest) -> Lock | resolve.ResolveError:
        try:
            return compute_one(request)
        except resolve.ResolveError as exc:
            return exc
        except (OSError, subprocess.SubprocessError) as exc:
            return resolve.ResolveError(f"{request.cell}: its lock: {exc}")

    requests = list(requests)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(requests) or 1))) as pool:
        return dict(zip((r.cell for r in requests), pool.map(one, requests)))
