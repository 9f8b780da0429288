"""What a host can give the matrix's cells: GPUs, its own Python and torch, a wheelhouse; and what it cannot.

The facts are gathered once per `nox` invocation (`gather`), in the Python that runs nox, before any cell's
environment exists; `unavailable` is a pure function of them, so every reason a cell is not run is unit-tested
without a GPU.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from incidentkb.host import probe
from incidentkb.host.versions import canonical_name, version_satisfies
from incidentkb.matrix import fingerprint
from incidentkb.matrix.axes import Cell, Matrix

__all__ = ["HostFacts", "gather", "host_interpreter", "host_torch_version", "host_site_dirs", "unavailable",
           "visible_devices", "wheelhouse_pairs", "wheelhouse_has"]


def host_interpreter() -> str:
    """The Python whose torch `torch=installed` means: INCIDENTKB_HOST_PYTHON, else the one running nox.

    Run nox with the machine's own python3 (the device machines': /opt/torch/.venv/bin/python3) to test its torch.
    """
    return os.environ.get("INCIDENTKB_HOST_PYTHON") or sys.executable


def host_torch_version(python: str) -> str | None:
    """The torch version installed for `python` (read from metadata: importing torch would take seconds)."""
    code = "import importlib.metadata as m\ntry: print(m.version('torch'))\nexcept m.PackageNotFoundError: pass"
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip() or None


def host_site_dirs(python: str) -> tuple[str, ...]:
    """The folders of installed packages on the host Python's path (site-packages, dist-packages)."""
    code = "import os, sys\nfor p in sys.path:\n    if p.endswith(('site-packages', 'dist-packages')) and os.path.isdir(p): print(p)"
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(line for line in out.splitlines() if line.strip())


@dataclass(frozen=True)
class HostFacts:
    """What a host can provide to cells."""

    gpu_names: tuple[str, ...]
    host_python: str
    host_torch: str | None
    host_site: tuple[str, ...] = ()
    """Where the host Python's packages are (a torch=installed environment sees them)."""
    wheelhouse: tuple[str, ...] = ()
    """Folders an offline install draws on; empty when the host installs from the package index."""
    built_for: frozenset[str] = frozenset()
    """The `<torch>-<stack>` pairs the wheelhouse folders were built for (their `requirements/*.txt`)."""
    cpu: str = ""
    cpu_count: int | None = None
    arch: str = ""
    driver: str | None = None
    """The NVIDIA driver's version and the CUDA version it offers (nvidia-smi), for the host's class."""
    cuda: str | None = None

    def host_class(self, gpus: int) -> str:
        """The host's class as a cell of `gpus` GPUs sees it: the `host` part of its runs' fingerprints."""
        return fingerprint.host_class(gpus, gpu_names=self.gpu_names, driver=self.driver, cuda=self.cuda,
                                      cpu=self.cpu, cpu_count=self.cpu_count, arch=self.arch)

    @property
    def gpu_count(self) -> int:
        return len(self.gpu_names)


def wheelhouse_pairs(folders: Iterable[str]) -> frozenset[str]:
    """The `<torch>-<stack>` pairs that `nox -s wheelhouse` resolved into these folders."""
    return frozenset(p.stem for folder in folders for p in Path(folder, "requirements").glob("*.txt"))


def unavailable(matrix: Matrix, cell: Cell, host: HostFacts) -> str | None:
    """Why this host cannot run the cell (every unmet condition, joined), or None. Pure: host facts are given."""
    excluded = matrix.excluded(cell)
    if excluded:
        return f"excluded: {excluded}"
    reasons = []
    if cell.gpus > host.gpu_count:
        reasons.append(f"needs {cell.gpus} GPU{'s' if cell.gpus != 1 else ''}, host has {host.gpu_count}")
    option, stack = matrix.torch_option(cell), matrix.stack(cell)
    if option.is_host:
        if host.host_torch is None:
            reasons.append(f"torch=installed needs torch in the host Python ({host.host_python} has none)")
        elif stack.requires_torch and not version_satisfies(host.host_torch, stack.requires_torch):
            reasons.append(f"stack {stack.id} needs torch{stack.requires_torch}, host has {host.host_torch}")
    pair_built = f"{option.id}-{stack.id}" in host.built_for
    if host.wheelhouse and (stack.is_resolved or option.is_resolved) and not pair_built:
        reasons.append(f"{'stack ' + stack.id if stack.is_resolved else 'torch=' + option.id} needs the package index, "
                       f"or a wheelhouse that froze it (nox -s wheelhouse -- --torch {option.id} --stack {stack.id} ...)")
    elif host.wheelhouse and not pair_built:
        reasons.append(
            f"the wheelhouse was not built for torch={option.id} stack={stack.id}"
            f" (nox -s wheelhouse -- --torch {option.id} --stack {stack.id} ...)"
        )
    if host.wheelhouse:
        reasons += [f"the wheelhouse has no {name} {version} wheel (it carries the stacks, not what incidents require)"
                    for name, version in cell.requires if not wheelhouse_has(host.wheelhouse, name, version)]
    return "; ".join(reasons) or None


def wheelhouse_has(folders: Iterable[str], name: str, version: str) -> bool:
    """Whether a wheel of `name` (at `version`; any version for `any`, see `required.ANY`) lies in the folders."""
    for folder in folders:
        for wheel in Path(folder).glob("*.whl"):
            dist, _, rest = wheel.name.partition("-")
            if canonical_name(dist) == canonical_name(name) and (version == "any" or rest.split("-", 1)[0] == version):
                return True
    return False


def visible_devices(gpus: int, current: str | None) -> str:
    """CUDA_VISIBLE_DEVICES for a cell: '' for CPU, else the first `gpus` of those the host already shows."""
    if gpus == 0:
        return ""
    shown = [d.strip() for d in current.split(",") if d.strip()] if current else []
    return ",".join(shown[:gpus] if shown else [str(i) for i in range(gpus)])


def gather(wheelhouse: str = "") -> HostFacts:
    """This host's facts; `wheelhouse` is INCIDENTKB_WHEELHOUSE's value (folders joined with os.pathsep)."""
    folders = tuple(f for f in wheelhouse.split(os.pathsep) if f)
    python = host_interpreter()
    gpus = probe.gpu_names()
    driver, cuda = probe.driver_and_cuda() if gpus else (None, None)
    return HostFacts(
        gpu_names=gpus, host_python=python, host_torch=host_torch_version(python),
        host_site=host_site_dirs(python), wheelhouse=tuple(str(Path(f).resolve()) for f in folders),
        built_for=wheelhouse_pairs(folders), cpu=probe.cpu_name(), cpu_count=os.cpu_count(),
        arch=platform.machine(), driver=driver, cuda=cuda,
    )
