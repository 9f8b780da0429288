"""What a training process measures about itself: the GPUs it sees, the batch sizes, and every forward pass.

The forward passes are the ground truth the batch-size numbers are checked against: with `nn.DataParallel` the
trainer's batch is split over replicas, and a hook on the input embedding sees each replica's share, because a
replica is a shallow copy of the module (`Module._replicate_for_data_parallel` copies `__dict__`, so the replica's
`_forward_hooks` is the original's dict). `hooks_shared_with_replicas` re-checks that on the installed torch.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any

__all__ = ["ForwardRecorder", "Measurement", "library_versions", "traceback_sites"]

_LIBRARIES = ("torch", "transformers", "trl", "accelerate", "datasets", "tokenizers", "peft", "liger-kernel")


def library_versions() -> dict[str, str | None]:
    """Installed versions of the libraries that can change this regression's outcome (None: not installed)."""
    from incidentkb.host.versions import installed_versions

    return installed_versions(_LIBRARIES)


def _short_path(filename: str) -> str:
    """A frame's file as `trl/trainer/sft_trainer.py`: the part after site-packages, or the path as given."""
    parts = Path(filename).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            return "/".join(parts[parts.index(marker) + 1 :])
    return filename


def traceback_sites(exc: BaseException) -> list[str]:
    """Each frame of the exception's traceback as `path:line in function`, outermost first.

    `ErrorInfo.frames` has `module:function`, what signatures match; line numbers are kept here so a reader can
    compare with the original traceback (`sft_trainer.py, line 490, in compute_loss`).
    """
    return [
        f"{_short_path(frame.filename)}:{frame.lineno} in {frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)
    ]


class ForwardRecorder:
    """Records the device and the number of rows of every forward pass through a model's input embedding."""

    def __init__(self, model: Any) -> None:
        embedding = model.get_input_embeddings()
        self.calls: list[tuple[str, int]] = []
        self._lock = threading.Lock()  # DataParallel runs replicas in threads
        self._handle = embedding.register_forward_hook(self._hook)
        replicate = getattr(embedding, "_replicate_for_data_parallel", None)  # private: may go in a later torch
        self.hooks_shared_with_replicas = (
            replicate()._forward_hooks is embedding._forward_hooks if replicate is not None else None
        )

    def _hook(self, module: Any, args: tuple[Any, ...], output: Any) -> None:
        input_ids = args[0]
        with self._lock:
            self.calls.append((str(input_ids.device), int(input_ids.shape[0])))

    def rows_by_device(self) -> dict[str, list[int]]:
        """The rows of each forward pass, per device, in order."""
        grouped: dict[str, list[int]] = {}
        for device, rows in self.calls:
            grouped.setdefault(device, []).append(rows)
        return grouped

    def remove(self) -> None:
        self._handle.remove()


class Measurement:
    """The observation dict of one process, filled as the run goes; `to_dict()` is what `report.emit` sends."""

    def __init__(self, variant: str) -> None:
        self.started = time.perf_counter()
        self.error: dict[str, Any] | None = None
        self.notes: list[str] = []
        self.values: dict[str, Any] = {
            "variant": variant,
            "versions": library_versions(),
        }

    def args(self, training_args: Any) -> None:
        """What the training arguments decided: the GPUs they counted and the batch they will feed."""
        import torch

        self.values.update(
            cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
            torch_device_count=torch.cuda.device_count(),
            n_gpu=training_args.n_gpu,
            per_device_train_batch_size=training_args.per_device_train_batch_size,
            train_batch_size=training_args.train_batch_size,
            world_size=training_args.world_size,
            process_index=training_args.process_index,
            device=str(training_args.device),
        )

    def failed(self, exc: BaseException) -> None:
        from incidentkb.match.signatures import ErrorInfo

        self.error = ErrorInfo.from_exception(exc).to_dict()
        sites = traceback_sites(exc)
        self.values["traceback"] = sites
        self.values["error_site"] = sites[-1] if sites else None

    def to_dict(self) -> dict[str, Any]:
        self.values["seconds"] = round(time.perf_counter() - self.started, 2)
        return {"error": self.error, "values": dict(self.values), "notes": list(self.notes)}
