"""One SFT step of a causal LM loaded in a chosen dtype, with the dtypes of its batched GEMMs recorded.

The 2025-03-20 incident: trl's `SFTTrainer` on `deepseek-coder-1.3b-instruct` loaded with
`torch_dtype=torch.bfloat16` failed in `cublasGemmStridedBatchedEx` with `CUDA_R_16BF` operands on a card
without native bf16. Here the model is the tiny Llama of `tiny_lm` in that dtype, trained for one optimizer step
by `SFTTrainer` on a few lines of text. Its attention is the eager one, whose `torch.matmul` of 4-D query and
key tensors is a strided batched GEMM on CUDA; `BatchedGemms` records the operand dtypes of each such product, which
is what the dtype decides and the batch size does not.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["TEXTS", "BatchedGemms", "sft_step"]

#: The SFT data: short question/answer lines (the original's data is not in the seed).
TEXTS = [f"### Question: What is {a} + {b}?\n### Answer: {a + b}" for a in range(4) for b in range(4)]


class BatchedGemms(TorchFunctionMode):
    """Records the operand dtype of every attention product: a `matmul` of two 4-D tensors (batch, heads, ...).

    Only those: Llama's rotary embedding also makes a batched product, of 3-D float32 position tensors, whatever
    the model's dtype. Products made by autograd in the backward pass do not pass through here.
    """

    def __init__(self) -> None:
        super().__init__()
        self.dtypes: list[str] = []

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: Any = None) -> Any:
        if func in (torch.matmul, torch.bmm, torch.Tensor.matmul, torch.Tensor.__matmul__) and len(args) == 2:
            if all(isinstance(a, torch.Tensor) and a.dim() == 4 for a in args):
                self.dtypes.append(str(args[0].dtype))
        return func(*args, **(kwargs or {}))


def _sft_trainer(model: Any, tokenizer: Any, output_dir: Path, batch_size: int, device: str) -> Any:
    """trl's `SFTTrainer` for one step, with the keyword names of the installed trl (0.11's `tokenizer=` and
    `max_seq_length`, later `processing_class=` and `max_length`)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    config_fields = inspect.signature(SFTConfig.__init__).parameters
    length = "max_seq_length" if "max_seq_length" in config_fields else "max_length"
    args = SFTConfig(
        output_dir=str(output_dir), per_device_train_batch_size=batch_size, per_device_eval_batch_size=batch_size,
        max_steps=1, learning_rate=1e-4, logging_steps=1, report_to="none", save_strategy="no",
        dataset_text_field="text", bf16=False, fp16=False, use_cpu=device == "cpu", **{length: 64},
    )
    keyword = "tokenizer" if "tokenizer" in inspect.signature(SFTTrainer.__init__).parameters else "processing_class"
    dataset = Dataset.from_dict({"text": TEXTS})
    return SFTTrainer(model=model, args=args, train_dataset=dataset, **{keyword: tokenizer})


def sft_step(observe: Any, dtype: torch.dtype, batch_size: int, device: str, output_dir: Path) -> tuple[Any, list[str]]:
    """Build the model in `dtype` on `device` and train one step; the error, if any, goes to `observe`.

    Returns the trainer and the operand dtypes of the attention products seen while training.
    """
    from tiny_lm import char_tokenizer, llama

    tokenizer = char_tokenizer()
    torch.manual_seed(0)
    model = llama(tokenizer, attn_implementation="eager").to(device=device, dtype=dtype)
    trainer = _sft_trainer(model, tokenizer, output_dir, batch_size, device)  # a setup failure is a crash
    with BatchedGemms() as gemms, observe.catching():  # only training, where the original failed, is under test
        trainer.train()
    observe.value("batched_gemm_dtypes", sorted(set(gemms.dtypes)))
    observe.value("batched_gemms", len(gemms.dtypes))
    observe.value("global_step", trainer.state.global_step)
    observe.value("losses", [e["loss"] for e in trainer.state.log_history if "loss" in e])
    return trainer, gemms.dtypes
