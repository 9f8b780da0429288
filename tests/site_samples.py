"""Synthetic records and results for the site's tests: the seed log's three incidents and a hostile one.

The tests build the site from these in a temporary directory, so they do not depend on the real records or on
results from a GPU machine; the hostile record carries the text that must not break a page.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

__all__ = ["REPO", "HOSTILE_ID", "HOSTILE_TEXT", "records", "results", "result_file", "make_project", "mkdocs_build"]

REPO = Path(__file__).resolve().parents[1]
HOSTILE_ID = "2025-05-01-hostile-text"

_ENV = {
    "os": "Windows 10",
    "python": "3.10.11",
    "gpu": {"model": "NVIDIA Quadro M6000", "count": 2, "memory_gb": 12, "architecture": "Maxwell",
            "compute_capability": "5.2"},
    "cuda": "12.4",
    "libraries": {"torch": "2.6.0+cu124", "transformers": "4.51.3", "trl": "0.15.2"},
}

_DTYPE = {
    "id": "2025-04-12-stylegan-label-dtype-mismatch",
    "title": "Tensor dtype mismatch during StyleGAN fine-tuning",
    "title_original": "Fine-tuning 시 Tensor 자료형 불일치",
    "original_language": "ko",
    "date": "2025-04-12",
    "category": "StyleGAN",
    "tags": ["dtype", "stylegan"],
    "severity": "critical",
    "severity_original": "심각",
    "status": "resolved",
    "environment": _ENV,
    "symptom": {
        "summary": "The matmul of the property-score vector with the label weight matrix failed.",
        "error_text": (
            '  File "stylegan_generator.py", line 287, in forward\n'
            "    embedding = torch.matmul(label, self.label_weight)\n"
            "RuntimeError: expected mat1 and mat2 to have the same dtype, but got: double != float"
        ),
        "observations": [
            {"label": "label (the property-score vector)",
             "text": "[-1.7069, -0.7809,  0.5124, -0.4403,  0.0337]], device='cuda:0', dtype=torch.float64)"},
        ],
        "signatures": [{"exception": "RuntimeError", "message": "expected mat1 and mat2 to have the same dtype"}],
        "case": "test_symptom_float64_labels_fail_matmul",
    },
    "cause": "PyTorch's default collation turns Python floats into `float64` tensors.",
    "failed_attempts": [{
        "id": "cast-to-double",
        "tried": "Cast `concatenated_labels` to Double.",
        "why_failed": "It already was Float64, which is Double.",
        "case": "test_attempt_cast_to_double_still_fails",
    }],
    "fix": {
        "summary": "Cast the property-score vector to Float32.",
        "code": {"before": "labels = labels.cuda()", "after": "labels = labels.to(torch.float32).cuda()",
                 "file": "stylegan_modified/fine_tuning.py"},
        "case": "test_fix_cast_to_float32",
    },
    "lessons": ["Be sure that Float64 = Double."],
    "regression": {
        "path": "regressions/test_stylegan_label_dtype.py",
        "depends_on": ["torch"],
        "cases": [
            {"name": "test_symptom_float64_labels_fail_matmul", "role": "symptom"},
            {"name": "test_attempt_cast_to_double_still_fails", "role": "attempt:cast-to-double"},
            {"name": "test_fix_cast_to_float32", "role": "fix"},
        ],
    },
}

_LEAK = {
    "id": "2025-04-15-stylegan-test-image-memory-leak",
    "title": "Memory leak when generating test images in StyleGAN-FineTune-v2",
    "date": "2025-04-15",
    "category": "StyleGAN",
    "tags": ["memory", "stylegan"],
    "severity": "moderate",
    "status": "resolved",
    "environment": _ENV,
    "symptom": {"summary": "Memory grew at every image-generation test.",
                "case": "test_symptom_memory_grows_without_no_grad"},
    "cause": "Images were generated from CUDA tensors without `with torch.no_grad()`.",
    "fix": {
        "summary": "Wrap the generation in `with torch.no_grad()`.",
        "commit": "https://github.com/WannaBeSuperteur/AI_Projects/commit/d063afb17016a1b08b15b68102e679b8c302d109",
        "case": "test_fix_no_grad_keeps_memory_flat",
    },
    "regression": {
        "path": "regressions/test_stylegan_generation_leak.py",
        "cases": [
            {"name": "test_symptom_memory_grows_without_no_grad", "role": "symptom"},
            {"name": "test_fix_no_grad_keeps_memory_flat", "role": "fix"},
        ],
    },
}

_BATCH = {
    "id": "2025-04-21-llm-sft-batch-size-multi-gpu",
    "title": "Batch-size error during LLM fine-tuning",
    "date": "2025-04-21",
    "category": "LLM",
    "tags": ["multi-gpu", "trl"],
    "severity": "critical",
    "status": "resolved",
    "environment": _ENV,
    "symptom": {
        "summary": "The train batch size and the batch size of the predictions did not match.",
        "error_text": (
            '  File "trl/trainer/sft_trainer.py", line 490, in compute_loss\n'
            "    correct_predictions = (predictions == shift_labels) & mask\n"
            "RuntimeError: The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0"
        ),
        "case": "test_symptom_two_visible_gpus_double_the_batch",
    },
    "cause": "With 2 visible GPUs the Trainer's batch size is 2 x the per-device batch size.",
    "failed_attempts": [
        {"id": "visible-devices-after-import", "tried": 'Set `os.environ["CUDA_VISIBLE_DEVICES"] = "0"` in the script.',
         "why_failed": "The training arguments were already built when it ran.",
         "case": "test_attempt_visible_devices_set_after_import"},
        {"id": "use-liger", "tried": "Force `use_liger=True`.", "why_failed": "It led to CUDA OOM.",
         "error_text": "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB.",
         "case": "test_attempt_use_liger"},
    ],
    "fix": {
        "summary": "Set `CUDA_VISIBLE_DEVICES` before the training arguments are built.",
        "code": {"before": "from test_unsloth_common import *\nos.environ['CUDA_VISIBLE_DEVICES'] = '0'",
                 "after": "os.environ['CUDA_VISIBLE_DEVICES'] = '0'\nfrom test_unsloth_common import *"},
        "case": "test_fix_visible_devices_before_training_args",
        "alternatives": [{"id": "torchrun", "summary": "Launch one process per GPU with torchrun.",
                          "case": "test_fix_torchrun_one_process_per_gpu"}],
    },
    "regression": {
        "path": "regressions/test_sft_batch_size.py",
        "depends_on": ["torch", "transformers", "trl"],
        "cases": [
            {"name": "test_symptom_two_visible_gpus_double_the_batch", "role": "symptom"},
            {"name": "test_attempt_visible_devices_set_after_import", "role": "attempt:visible-devices-after-import"},
            {"name": "test_attempt_use_liger", "role": "attempt:use-liger"},
            {"name": "test_fix_visible_devices_before_training_args", "role": "fix"},
            {"name": "test_fix_torchrun_one_process_per_gpu", "role": "fix:torchrun"},
        ],
    },
}

#: Text that would break a page if it were pasted into Markdown or HTML as it is.
HOSTILE_TEXT = (
    "<script>alert('pwned')</script> </div></table> ``` **not bold** # not a heading\n"
    "```\n=== \"not a tab\"\n!!! note \"not an admonition\"\n    not code\n| not | a table |\n&amp; {: .attr }"
)

_HOSTILE = {
    "id": HOSTILE_ID,
    "title": "Hostile <script>alert('title')</script> & `ticks`",
    "date": "2025-05-01",
    "category": "Robustness <b>",
    "tags": ["hostile"],
    "severity": "low",
    "status": "open",
    "environment": {"os": "<i>os</i>", "python": "3.12", "notes": [HOSTILE_TEXT]},
    "symptom": {
        "summary": HOSTILE_TEXT,
        "error_text": "Error ```` with a run of four backticks\n</code></pre><script>alert('pre')</script>\n```",
        "observations": [{"label": "<b>label</b>", "text": "````\n<script>alert('obs')</script>"}],
        "case": "test_symptom_hostile",
    },
    "cause": HOSTILE_TEXT,
    "failed_attempts": [{"id": "hostile-attempt", "tried": HOSTILE_TEXT, "why_failed": HOSTILE_TEXT,
                         "code": {"before": "```\n</div>", "after": "````\n<script>alert('after')</script>"}}],
    "fix": {"summary": "Sentinel fix summary", "explanation": HOSTILE_TEXT, "case": "test_fix_hostile"},
    "lessons": [HOSTILE_TEXT],
    "references": [{"title": "<script>alert('ref')</script>", "url": "https://example.org/a?b=1&c=<2>",
                    "note": HOSTILE_TEXT}],
    "regression": {
        "path": "regressions/test_hostile.py",
        "cases": [{"name": "test_symptom_hostile", "role": "symptom"}, {"name": "test_fix_hostile", "role": "fix"}],
    },
}


def records() -> list[dict[str, Any]]:
    return [copy.deepcopy(r) for r in (_DTYPE, _LEAK, _BATCH, _HOSTILE)]


def _case(incident: str, role: str, outcome: str, error: tuple[str, str] | None = None,
          values: dict[str, Any] | None = None, detail: str | None = None, variant: str = "") -> dict[str, Any]:
    return {
        "nodeid": f"regressions/test_x.py::test_{role.replace(':', '_').replace('-', '_')}{f'[{variant}]' if variant else ''}",
        "incident": incident,
        "role": role,
        "outcome": outcome,
        "observation": {"error": {"type": f"builtins.{error[0]}", "message": error[1], "frames": []} if error else None,
                        "values": values or {}, "notes": []},
        "duration_s": 0.5,
        "detail": detail,
    }


MAT = ("RuntimeError", "expected mat1 and mat2 to have the same dtype, but got: double != float")
BATCH_ERROR = ("RuntimeError", "The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0")


def _cases(torch_version: str, gpus: int) -> list[dict[str, Any]]:
    """What each incident did in one cell (made up): the dtype symptom no longer reproduces with torch 2.13.0."""
    dtype, leak, batch = _DTYPE["id"], _LEAK["id"], _BATCH["id"]
    old = torch_version == "2.6.0"
    no_gpu = "needs: 1 CUDA GPU (found 0)"
    cases = [
        _case(dtype, "symptom", "reproduces" if old else "no longer reproduces", MAT if old else None, variant="cpu"),
        _case(dtype, "symptom", "not run" if not gpus else "reproduces" if old else "no longer reproduces",
              MAT if gpus and old else None, detail=None if gpus else no_gpu, variant="cuda"),
        _case(dtype, "attempt:cast-to-double", "still fails", MAT, variant="cpu"),
        _case(dtype, "fix", "holds", values={"label_dtype": "torch.float32"}, variant="cpu"),
        _case(leak, "symptom", "reproduces", values={"growth_per_call_mb": 41.5}),
        _case(leak, "fix", "holds", values={"growth_per_call_mb": 0.0}),
        _case(HOSTILE_ID, "symptom", "reproduces", ("RuntimeError", HOSTILE_TEXT)),
        _case(HOSTILE_ID, "fix", "BROKEN", detail=HOSTILE_TEXT),
    ]
    two = gpus >= 2
    skip = None if two else "needs: 2 CUDA GPUs (found 0)"
    cases += [
        _case(batch, "symptom", "reproduces" if two else "not run", BATCH_ERROR if two else None, detail=skip),
        _case(batch, "attempt:visible-devices-after-import", "still fails" if two else "not run", detail=skip),
        _case(batch, "attempt:use-liger", "not run", detail="needs: package liger_kernel (not installed)"),
        _case(batch, "fix", "holds" if two else "not run", values={"train_batch_size": 2}, detail=skip),
        _case(batch, "fix:torchrun", "holds" if two else "not run", detail=skip),
    ]
    return cases


def result_file(torch_version: str, stack: str, gpus: int, finished: str, cases: list[dict[str, Any]],
                covered_by: dict[str, str] | None = None) -> dict[str, Any]:
    """A results file in the shape `incidentkb.matrix.results_files.write` gives it."""
    cell = f"torch={torch_version} stack={stack} gpus={gpus}"
    host = {"platform": "Linux 6.8 (linux, x86_64)", "cpu": "x86_64", "cpu_count": 16, "memory_gb": 128,
            "gpus": [{"name": "NVIDIA H100 80GB HBM3", "memory_gb": 80}] * gpus, "gpu_count": gpus,
            "driver": "570.1" if gpus else None, "cuda": "12.8"}
    return {
        "schema": 1, "cell": cell, "axes": {"torch": torch_version, "stack": stack, "gpus": gpus},
        "started": finished, "finished": finished, "python": "3.11.9",
        "versions": {"python": "3.11.9", "torch": torch_version, "transformers": stack, "trl": "0.15.2"},
        "host": host,
        "incidents": {"ran": sorted({c["incident"] for c in cases}), "covered_by": covered_by or {}},
        "cases": cases,
        "report": {"schema": 1, "started": finished, "finished": finished, "environment": {}, "hardware": host},
    }


def results() -> dict[str, dict[str, Any]]:
    """Results files by name: four cells that ran everything, and one that left three incidents to another."""
    files: dict[str, dict[str, Any]] = {}
    for torch_version in ("2.6.0", "2.13.0"):
        for gpus in (0, 2):
            finished = f"2025-06-0{1 + gpus}T12:00:00+00:00"
            name = f"2025060{1 + gpus}T120000Z_torch-{torch_version}_stack-4.51.3_gpus-{gpus}.json"
            files[name] = result_file(torch_version, "4.51.3", gpus, finished, _cases(torch_version, gpus))
    only_batch = [c for c in _cases("2.6.0", 0) if c["incident"] == _BATCH["id"]]
    covered = {i: "torch=2.6.0 stack=4.51.3 gpus=0" for i in (_DTYPE["id"], _LEAK["id"], HOSTILE_ID)}
    files["20250604T120000Z_torch-2.6.0_stack-4.57.6_gpus-0.json"] = result_file(
        "2.6.0", "4.57.6", 0, "2025-06-04T12:00:00+00:00", only_batch, covered)
    return files


def make_project(root: Path, *, incidents: list[dict[str, Any]] | None = None,
                 result_files: dict[str, dict[str, Any]] | None = None) -> Path:
    """A copy of the site's sources (mkdocs.yml, docs/) with the given records and results; returns `root`."""
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(REPO / "docs", root / "docs")
    (root / "incidents").mkdir()
    for record in records() if incidents is None else incidents:
        text = yaml.safe_dump(record, allow_unicode=True, sort_keys=False)
        (root / "incidents" / f"{record['id']}.yaml").write_text(text, encoding="utf-8")
    out = root / "regressions" / "results"
    out.mkdir(parents=True)
    for name, data in (results() if result_files is None else result_files).items():
        (out / name).write_text(json.dumps(data, indent=1), encoding="utf-8")
    return root


def mkdocs_build(project: Path, *args: str, strict: bool = True) -> subprocess.CompletedProcess[str]:
    """`mkdocs build` of `project` (strict unless told otherwise), as a user runs it; its output is captured."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    mode = "--strict" if strict else "--no-strict"
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", mode, "-f", str(project / "mkdocs.yml"), *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )
