"""Starting the training of one case in fresh processes, and collecting what each process reported.

A fresh interpreter per case is the point: which GPUs a process sees is fixed when CUDA initialises, and the
training arguments are built when `sft_batch.common` is first imported, so neither can be redone in the test
process. This module imports neither torch (until it counts GPUs) nor trl.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sft_batch import report

__all__ = ["REGRESSIONS_DIR", "Launch", "LAUNCHES", "LaunchError", "TIMEOUT_S"]

REGRESSIONS_DIR = Path(__file__).resolve().parent.parent
#: Seconds one training may take; the CPU runs take seconds, the margin is for CUDA and NCCL start-up.
TIMEOUT_S = 240.0


class LaunchError(RuntimeError):
    """The training processes ended without reporting (an import failed, a rank died): a crash, not an outcome."""


@dataclass(frozen=True)
class Launch:
    """How one case starts its training: a module of `sft_batch`, its options, and how many processes."""

    module: str
    options: tuple[str, ...] = ()
    processes: int = 1
    """More than 1: started by torchrun (`torch.distributed.run`), one process per GPU."""
    gpus: int | None = None
    """Show the training at most this many of the visible GPUs (the first ones); None: leave them as they are."""

    def command(self) -> list[str]:
        if self.processes == 1:
            return [sys.executable, "-m", self.module, *self.options]
        return [
            sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={self.processes}",
            "-m", self.module, *self.options,
        ]  # fmt: skip

    def __str__(self) -> str:
        return shlex.join(["python", *self.command()[1:]])

    def run(self, workdir: Path, *, timeout: float = TIMEOUT_S) -> list[dict[str, Any]]:
        """Train in fresh processes; each process's observation dict, by rank."""
        reports = workdir / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        env = _environment(workdir, reports)
        if self.gpus is not None:
            visible = _first_gpus(env.get("CUDA_VISIBLE_DEVICES"), self.gpus)
            if visible is not None:
                env["CUDA_VISIBLE_DEVICES"] = visible
        done = subprocess.run(
            self.command(), cwd=REGRESSIONS_DIR, env=env, capture_output=True, text=True, timeout=timeout
        )
        observations = report.read_dir(reports)
        if len(observations) != self.processes:
            tail = "\n".join((done.stderr or done.stdout).splitlines()[-15:])
            raise LaunchError(
                f"`{self}` exited with {done.returncode} and reported {len(observations)} of {self.processes} "
                f"observation(s); the last lines it printed:\n{tail}"
            )
        for observation in observations:  # what the process started with, beside what it trained with
            observation["values"]["cuda_visible_devices_given"] = env.get("CUDA_VISIBLE_DEVICES")
        return observations


#: The training of each case, by the role it serves in the record. The incident is about exactly two visible GPUs
#: (train batch 2 x 2 = 4), so a bigger host shows the failing runs its first two; the fix sets its own variable,
#: and torchrun's two ranks take GPUs 0 and 1 by their local rank.
LAUNCHES: dict[str, Launch] = {
    "symptom": Launch("sft_batch.train", gpus=2),
    "attempt:visible-devices-after-import": Launch("sft_batch.train", ("--visible-devices-after-import",), gpus=2),
    "attempt:use-liger": Launch("sft_batch.train", ("--liger",), gpus=2),
    "fix": Launch("sft_batch.train_fixed"),
    "fix:torchrun": Launch("sft_batch.train", processes=2),
}


def _environment(workdir: Path, reports: Path) -> dict[str, str]:
    """The test's environment (device hosts' NCCL settings included) plus what the training needs."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REGRESSIONS_DIR), env.get("PYTHONPATH")]))
    env[report.ENV_REPORT_DIR] = str(reports)
    env["SFT_BATCH_OUTPUT_DIR"] = str(workdir / "output")
    env.setdefault("HF_HUB_OFFLINE", "1")  # everything is built in code: a download attempt would be a bug
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("OMP_NUM_THREADS", "1")  # tiny model, shared cores: threads only add spin-waits
    return env


def _first_gpus(current: str | None, wanted: int) -> str | None:
    """`CUDA_VISIBLE_DEVICES` that keeps the first `wanted` of the GPUs visible now; None when there are no more."""
    import torch  # counts through NVML: no CUDA context in the test process

    count = torch.cuda.device_count()
    if count <= wanted:
        return None
    ids = [part.strip() for part in current.split(",")] if current else [str(index) for index in range(count)]
    return ",".join(ids[:wanted])
