"""`normalise` and signature matching: what counts as "the same error" for regressions and `incidentkb match`."""

from __future__ import annotations

import pytest

from incidentkb.match.signatures import (
    ErrorInfo,
    any_matches,
    normalise,
    signature_matches,
)
from incidentkb.records.schema import Signature


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("The size of tensor a (2) must match the size of tensor b (16) at non-singleton dimension 0",
         "The size of tensor a (<n>) must match the size of tensor b (<n>) at non-singleton dimension <n>"),
        ("Tried to allocate 20.00 MiB. GPU 0 has a total capacity of 12.00 GiB of which 0 bytes is free.",
         "Tried to allocate <mem>. GPU <n> has a total capacity of <mem> of which <mem> is free."),
        ("mat1 and mat2 shapes cannot be multiplied (16x5 and 4x512)",
         "mat1 and mat2 shapes cannot be multiplied (<n>x<n> and <n>x<n>)"),
        ("Can't pickle <function <lambda> at 0x7f4fdc0caca0>: attribute lookup <lambda> on __main__ failed",
         "Can't pickle <function <lambda> at 0xADDR>: attribute lookup <lambda> on __main__ failed"),
        ("Expected all tensors to be on the same device, but found at least two devices, cuda:1 and cpu!",
         "Expected all tensors to be on the same device, but found at least two devices, cuda:<n> and cpu!"),
        (r'File "C:\Users\me\venv\lib\site-packages\trl\x.py", line 490 and /home/me/venv/x.py',
         'File "<path>", line <n> and <path>'),
        ("expected m1 and m2 to have the same dtype, but got: c10::BFloat16 != float in sm_52 float64",
         "expected m1 and m2 to have the same dtype, but got: c10::BFloat16 != float in sm_52 float64"),
        ("see https://pytorch.org/docs/stable/notes/cuda.html#environment-variables (1.5e-05)",
         "see https://pytorch.org/docs/stable/notes/cuda.html#environment-variables (<n>)"),
        ("reserved by \nPyTorch   but unallocated", "reserved by PyTorch but unallocated"),
    ],
)
def test_normalise(text: str, normalised: str) -> None:
    assert normalise(text) == normalised


BATCH = Signature(
    exception="RuntimeError",
    message=r"The size of tensor a \(<n>\) must match the size of tensor b \(<n>\)",
    frames=["trl.trainer.sft_trainer:compute_loss"],
)
TRL_FRAMES = ("transformers.trainer:training_step", "trl.trainer.sft_trainer:compute_loss")


@pytest.mark.parametrize(
    ("signature", "error", "matches"),
    [
        # Placeholders cover every GPU count; a literal-message pattern with \d+ works as well.
        (BATCH, ErrorInfo("RuntimeError", "The size of tensor a (2) must match the size of tensor b (16) at ...", TRL_FRAMES), True),
        (Signature(message=r"tensor a \(\d+\) must match"), ErrorInfo("RuntimeError", "tensor a (2) must match"), True),
        # The type is compared on its last dotted part.
        (Signature(exception="torch.OutOfMemoryError", message="CUDA out of memory"),
         ErrorInfo("torch.cuda.OutOfMemoryError", "CUDA out of memory. Tried to allocate 2.00 GiB"), True),
        (Signature(exception="ValueError", message="size"), ErrorInfo("builtins.RuntimeError", "size"), False),
        # A required frame missing from a traceback that has frames: not this incident.
        (BATCH, ErrorInfo("RuntimeError", "The size of tensor a (3) must match the size of tensor b (4)", ("app:loss",)), False),
        # No frames at all (a bare last line): frames cannot be checked, so they are not held against it.
        (BATCH, ErrorInfo("RuntimeError", "The size of tensor a (2) must match the size of tensor b (4)"), True),
        # No type (a message pasted alone): judged on the message.
        (BATCH, ErrorInfo("", "The size of tensor a (2) must match the size of tensor b (4)", TRL_FRAMES), True),
        # A frame given by the tail of its module.
        (Signature(message="dtype", frames=["stylegan_generator:forward"]),
         ErrorInfo("RuntimeError", "dtype", ("Users.me.gan.stylegan_generator:forward",)), True),
        (Signature(message="dtype", frames=["generator:forward"]),
         ErrorInfo("RuntimeError", "dtype", ("Users.me.gan.stylegan_generator:forward",)), False),
    ],
)
def test_signature_matches(signature: Signature, error: ErrorInfo, matches: bool) -> None:
    assert signature_matches(signature, error) is matches


def test_any_matches_never_matches_no_error() -> None:
    assert not any_matches([Signature(message=".*")], None)
    assert any_matches([Signature(message="x"), Signature(message="dtype")], ErrorInfo("RuntimeError", "dtype"))


def test_error_info_round_trips_through_a_dict() -> None:
    error = ErrorInfo("RuntimeError", "boom", ("a:b", "c.d:e"))
    assert ErrorInfo.from_dict(error.to_dict()) == error
