"""Running one cell's regressions: the host facts a cell needs, the GPU setting, and pytest in a subprocess.

pytest runs in its own process group under a wall-clock limit, so a case that hangs where pytest-timeout cannot
reach it, or a crash of the whole interpreter, costs that cell only: its cases are reported 'timed out' or
'crashed' with the tail of pytest's output, and the other cells run on. Every cell of regressions/matrix.toml
runs its cases in pytest-xdist workers (the GPU cells in one), so a case that kills its worker (a segfault in a
CUDA kernel) costs that case only: xdist starts a new worker for the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incidentkb.matrix import Cell, Matrix, Target, version_in

__all__ = [
    "HostFacts",
    "PytestRun",
    "host_gpus",
    "parse_gpu_list",
    "host_torch_version",
    "host_site_dirs",
    "host_interpreter",
    "visible_devices",
    "unavailable",
    "wheelhouse_pairs",
    "pytest_command",
    "run_pytest",
    "cases_for",
    "probe_environment",
]


def host_gpus() -> tuple[str, ...]:
    """The GPUs cells may use, by name: those `nvidia-smi -L` lists (no torch needed), and of those only the ones
    CUDA_VISIBLE_DEVICES shows when it is set, so that a GPU the user hid is neither counted nor given to a cell."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return ()
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(parse_gpu_list(out, os.environ.get("CUDA_VISIBLE_DEVICES")))


def parse_gpu_list(text: str, visible: str | None = None) -> list[str]:
    """`GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)` lines -> [`NVIDIA H100 80GB HBM3`].

    With `visible` (a CUDA_VISIBLE_DEVICES value), the GPUs it names, by index or UUID, in its order; as CUDA
    does, the list ends at the first entry that names no GPU.
    """
    lines = [line for line in text.splitlines() if line.startswith("GPU ")]
    if visible is not None:
        chosen = []
        for entry in (e.strip() for e in visible.split(",")):
            found = [line for i, line in enumerate(lines) if entry and (entry == str(i) or f"UUID: {entry}" in line)]
            if not found:
                break
            chosen.append(found[0])
        lines = chosen
    return [(line.split(":", 1)[1] if ":" in line else "").split("(UUID", 1)[0].strip() for line in lines]


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
        elif stack.requires_torch and not version_in(host.host_torch, stack.requires_torch):
            reasons.append(f"stack {stack.id} needs torch{stack.requires_torch}, host has {host.host_torch}")
    if host.wheelhouse and f"{option.id}-{stack.id}" not in host.built_for:
        reasons.append(
            f"the wheelhouse was not built for torch={option.id} stack={stack.id}"
            f" (nox -s wheelhouse -- --torch {option.id} --stack {stack.id} ...)"
        )
    return "; ".join(reasons) or None


def visible_devices(gpus: int, current: str | None) -> str:
    """CUDA_VISIBLE_DEVICES for a cell: '' for CPU, else the first `gpus` of those the host already shows."""
    if gpus == 0:
        return ""
    shown = [d.strip() for d in current.split(",") if d.strip()] if current else []
    return ",".join(shown[:gpus] if shown else [str(i) for i in range(gpus)])


def pytest_command(
    python: Path | str,
    files: Sequence[str],
    *,
    report: Path,
    case_timeout_s: int,
    workers: str,
    strict: bool,
    posargs: Sequence[str] = (),
) -> list[str]:
    """The pytest command line of one cell; the user's own arguments come last so they can override ours."""
    command = [str(python), "-m", "pytest", *files, f"--incidentkb-report={report}", f"--timeout={case_timeout_s}"]
    command += ["-p", "no:cacheprovider", "-q", "-rA"]
    if workers not in ("", "0"):
        command += ["-n", workers, "--dist", "loadfile"]
    if strict:
        command.append("--incidentkb-strict")
    return command + list(posargs)


@dataclass(frozen=True)
class PytestRun:
    """How the pytest process of a cell ended."""

    command: tuple[str, ...]
    exit_code: int | None
    """None when the process was killed at the cell's time limit."""
    seconds: float
    output_tail: str

    @property
    def timed_out(self) -> bool:
        return self.exit_code is None

    @property
    def crashed(self) -> bool:
        """pytest itself did not finish normally (exit codes 0-5 are its own verdicts)."""
        return self.exit_code is not None and not 0 <= self.exit_code <= 5


def run_pytest(command: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout_s: float, tail_lines: int = 60) -> PytestRun:
    """Run pytest, echoing its output as it comes, and stop its whole process group at the time limit."""
    start = time.monotonic()
    tail: deque[str] = deque(maxlen=tail_lines)
    proc = subprocess.Popen(
        list(command), cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, errors="replace", start_new_session=True,
    )
    timed_out = False

    def _kill() -> None:
        nonlocal timed_out
        timed_out = True
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=20)
                return
            except subprocess.TimeoutExpired:
                continue

    import threading

    timer = threading.Timer(timeout_s, _kill)
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            tail.append(line.rstrip("\n"))
        proc.wait()
    finally:
        timer.cancel()
    code = None if timed_out else proc.returncode
    return PytestRun(tuple(command), code, round(time.monotonic() - start, 1), "\n".join(tail))


def cases_for(targets: Iterable[Target], report: Mapping[str, Any] | None, run: PytestRun | None, *, failure: str | None = None) -> list[dict[str, Any]]:
    """The per-case entries of a cell: the report's own, or, when pytest never wrote one, one per expected case.

    `failure` names a failure before pytest (e.g. the environment could not be installed).
    """
    if report is not None and not failure:
        return [dict(case) for case in report.get("cases", [])]
    if failure is None and run is not None and run.timed_out:
        outcome, detail = "timed out", f"the cell's pytest passed its time limit and was killed\n{run.output_tail}"
    else:
        code = None if run is None else run.exit_code
        outcome = "crashed"
        detail = failure or f"pytest ended with exit code {code} and wrote no report\n{run.output_tail if run else ''}"
    return [
        {
            "nodeid": f"{target.path}::{name}", "incident": target.incident, "role": role, "outcome": outcome,
            "observation": None, "duration_s": None, "detail": detail[-4000:],
        }
        for target in targets
        for name, role in target.cases
    ]


_PROBE = """
import importlib.metadata as m, json, platform, sys
packages = {}
for dist in m.distributions():
    name = dist.metadata["Name"]
    if name and name not in packages:
        packages[name] = dist.version
facts = {"python": platform.python_version(), "executable": sys.executable, "packages": dict(sorted(packages.items(), key=lambda kv: kv[0].lower()))}
if "--hardware" in sys.argv:
    try:
        from incidentkb import hostinfo
        facts["environment"] = hostinfo.environment()
        facts["hardware"] = hostinfo.hardware()
    except Exception as exc:
        facts["probe_error"] = repr(exc)
print(json.dumps(facts))
"""


def probe_environment(python: Path | str, *, env: Mapping[str, str], cwd: Path, hardware: bool = False) -> dict[str, Any]:
    """Exact versions of everything installed in the cell's environment (read from metadata, a fraction of a
    second), and with `hardware` the host as the environment sees it (imports torch: seconds; needed only when
    pytest wrote no report, whose own `hardware` is otherwise used)."""
    command = [str(python), "-c", _PROBE] + (["--hardware"] if hardware else [])
    try:
        out = subprocess.run(command, capture_output=True, text=True, env=dict(env), cwd=cwd, timeout=300, check=False)
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        return {"probe_error": repr(exc)}
