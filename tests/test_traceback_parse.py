"""Reading pasted tracebacks: frames as `module:function`, final and chained errors, multi-line messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentkb.match.tracebacks import module_for_path, parse_traceback

TRACEBACKS = Path(__file__).parent / "tracebacks"


def body(name: str) -> str:
    """A traceback file without its header of `#` lines."""
    lines = (TRACEBACKS / name).read_text(encoding="utf-8").splitlines()
    while lines and (lines[0].startswith("#") or not lines[0].strip()):
        lines.pop(0)
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("path", "roots", "module"),
    [
        (r"C:\Users\20151\venv\lib\site-packages\trl\trainer\sft_trainer.py", (), "trl.trainer.sft_trainer"),
        ("/usr/local/lib/python3.10/dist-packages/torch/nn/modules/module.py", (), "torch.nn.modules.module"),
        ("/work/.venv/lib/python3.11/site-packages/torch/cuda/__init__.py", (), "torch.cuda"),
        ("/usr/lib/python3.11/json/decoder.py", (), "json.decoder"),
        ("/home/me/proj/src/app/train.py", ("/home/me/proj/src",), "app.train"),
        (r"D:\gan\stylegan_generator.py", (), "gan.stylegan_generator"),
        ("<frozen runpy>", (), "<frozen runpy>"),
    ],
)
def test_module_for_path(path: str, roots: tuple[str, ...], module: str) -> None:
    assert module_for_path(path, roots) == module


def test_seed_traceback_gives_library_frames_and_the_final_error() -> None:
    final = parse_traceback(body("batch-size-seed-torch2.6-2gpu-windows.txt")).final
    assert final is not None
    assert final.type == "RuntimeError"
    assert final.message == "The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0"
    assert [f.key for f in final.frames][1:] == [
        "transformers.trainer:train",
        "transformers.trainer:_inner_training_loop",
        "transformers.trainer:training_step",
        "trl.trainer.sft_trainer:compute_loss",
    ]
    assert final.frames[-1].line == 490


def test_fragment_without_header() -> None:
    (error,) = parse_traceback(body("dtype-seed-torch2.6-cuda-windows.txt")).errors
    assert (error.type, [f.key for f in error.frames]) == (
        "RuntimeError",
        ["Users.20151.Documents.AI_Projects.2025_04_08_OhLoRA.stylegan_and_segmentation.stylegan_modified.stylegan_generator:forward"],
    )


def test_chained_exceptions_in_printed_order() -> None:
    errors = parse_traceback(body("unrelated-tokenizer-ragged-tensors.txt")).errors
    assert [(e.type, e.message[:30]) for e in errors] == [
        ("ValueError", "expected sequence of length 1 "),
        ("ValueError", "Unable to create tensor, you s"),
    ]
    assert errors[0].frames[-1].key == "transformers.tokenization_utils_base:as_tensor"


def test_dataloader_worker_original_traceback_is_a_cause() -> None:
    errors = parse_traceback(body("unrelated-dataloader-keyerror.txt")).errors
    assert [(e.type, e.message) for e in errors] == [
        ("KeyError", "'hair_length'"),
        ("KeyError", "Caught KeyError in DataLoader worker process 0."),
    ]
    assert errors[0].frames[-1].function == "<dictcomp>"


def test_multi_line_message_and_trailing_noise() -> None:
    final = parse_traceback(body("unrelated-trainingarguments-strategies.txt")).final
    assert final is not None and final.message.splitlines()[1:] == [
        "- Evaluation strategy: IntervalStrategy.STEPS",
        "- Save strategy: SaveStrategy.EPOCH",
    ]
    batch = parse_traceback(body("batch-size-8gpu-shapes-torch2.13-cpu.txt")).final
    assert batch is not None and batch.message.endswith("(16) at non-singleton dimension 0")


def test_torchrun_prefixed_workers_and_launcher_error() -> None:
    errors = parse_traceback(body("dtype-torchrun-tee-torch2.13-cpu.txt")).errors
    assert [e.type for e in errors] == [
        "RuntimeError",
        "RuntimeError",
        "torch.distributed.elastic.multiprocessing.errors.ChildFailedError",
    ]
    assert errors[0].frames[-1].key.endswith("generator:forward")


def test_jupyter_cell() -> None:
    (error,) = parse_traceback(body("dtype-torch1.2-jupyter.txt")).errors
    assert error.type == "RuntimeError"
    assert error.message.startswith("Expected object of scalar type Double")
    assert [f.key for f in error.frames] == ["<ipython-input-12-3f5c2a1b9d0e>:<module>"]


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("RuntimeError: expected scalar type Double but found Float", "RuntimeError", "expected scalar type Double but found Float"),
        ("INFO starting\ntorch.OutOfMemoryError: CUDA out of memory.\nTried to allocate 20.00 MiB\n\n$ ",
         "torch.OutOfMemoryError", "CUDA out of memory.\nTried to allocate 20.00 MiB"),
        ("E       RuntimeError: mat1 and mat2 must have the same dtype\n\ntest_x.py:12: RuntimeError",
         "RuntimeError", "mat1 and mat2 must have the same dtype"),
        ("[rank0]: Traceback (most recent call last):\n[rank0]:   File \"/x/site-packages/a/b.py\", line 3, in f\n"
         "[rank0]:     g()\n[rank0]: KeyError: 'labels'", "KeyError", "'labels'"),
        ("expected mat1 and mat2 to have the same dtype", "", "expected mat1 and mat2 to have the same dtype"),
    ],
)
def test_short_pastes(text: str, kind: str, message: str) -> None:
    final = parse_traceback(text).final
    assert final is not None and (final.type, final.message) == (kind, message)


def test_empty_paste_has_no_error() -> None:
    assert parse_traceback("  \n").errors == ()
