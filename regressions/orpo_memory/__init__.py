"""Peak GPU memory of one ORPO step and of one SFT step of the same model and batch (the 2025-03-23 ORPO OOM).

The model is deepseek-coder-1.3b-instruct's shape (`tiny_lm.DEEPSEEK_CODER_1_3B`, random weights) in float16 on
the GPU, trained through LoRA adapters (peft), by trl's `ORPOTrainer` or `SFTTrainer` for one optimizer step on
a batch of examples of `PROMPT_CHARS` + `ANSWER_CHARS` characters (one token each). SFT trains on prompt +
chosen; ORPO on prompt + chosen and prompt + rejected, which its `concatenated_forward` runs through the model as
one batch of twice the size. Peak memory is torch's `max_memory_allocated` over building the trainer and
training, the model's own weights included: what the card must hold besides the CUDA context.
"""

from __future__ import annotations

import gc
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "BATCH_SIZES", "PROMPT_CHARS", "ANSWER_CHARS", "CARD_GIB", "lora_config", "fp16_model",
    "orpo_trainer", "sft_trainer", "peak_gib", "card_limit",
]

#: The batch sizes (`per_device_train_batch_size`) tried for SFT, in order, to find the largest that fits the card.
BATCH_SIZES = (1, 2, 4, 8, 16)
#: Characters (tokens) of each prompt and of each answer: 768 together, the `max_length` of the project's
#: generation (incident 2025-03-15); the log gives no training length.
PROMPT_CHARS = 384
ANSWER_CHARS = 384
#: The original card's memory (Quadro M6000 12 GB: 12,288 MiB), in GiB.
CARD_GIB = 12.0


def lora_config() -> Any:
    """LoRA adapters on the attention's projections (the log names peft 0.13.2, not its settings)."""
    from peft import LoraConfig

    return LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                      task_type="CAUSAL_LM")


def fp16_model(tokenizer: Any, shape: dict[str, Any] | None = None, device: str = "cuda") -> Any:
    """deepseek-coder-1.3b's shape (or `shape`) in float16, built directly on `device` (random weights, no
    download): built on the GPU, 1.35 billion parameters take seconds instead of a minute on the CPU."""
    from tiny_lm import DEEPSEEK_CODER_1_3B, llama

    torch.manual_seed(0)
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float16)
    try:
        with torch.device(device):
            return llama(tokenizer, shape or DEEPSEEK_CODER_1_3B)
    finally:
        torch.set_default_dtype(before)


def _rows(count: int) -> dict[str, list[str]]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    text = lambda i, n: (letters[i % 26] * n)[:n]  # noqa: E731 - the content does not matter, its length does
    return {
        "prompt": [text(i, PROMPT_CHARS) for i in range(count)],
        "chosen": [text(i + 1, ANSWER_CHARS) for i in range(count)],
        "rejected": [text(i + 2, ANSWER_CHARS) for i in range(count)],
    }


def _common(output_dir: Path, batch_size: int) -> dict[str, Any]:
    return dict(output_dir=str(output_dir), per_device_train_batch_size=batch_size, max_steps=1, learning_rate=1e-4,
                logging_steps=1, report_to="none", save_strategy="no", bf16=False, fp16=False)


def _tokenizer_keyword(trainer_class: type) -> str:
    return "tokenizer" if "tokenizer" in inspect.signature(trainer_class.__init__).parameters else "processing_class"


def orpo_trainer(model: Any, tokenizer: Any, output_dir: Path, batch_size: int) -> Any:
    """trl's ORPOTrainer with LoRA adapters, for one step of `batch_size` preference rows."""
    from datasets import Dataset
    from trl import ORPOConfig, ORPOTrainer

    args = ORPOConfig(max_length=PROMPT_CHARS + ANSWER_CHARS + 4, max_prompt_length=PROMPT_CHARS + 2,
                      **_common(output_dir, batch_size))
    return ORPOTrainer(model=model, args=args, train_dataset=Dataset.from_dict(_rows(batch_size)),
                       peft_config=lora_config(), **{_tokenizer_keyword(ORPOTrainer): tokenizer})


def sft_trainer(model: Any, tokenizer: Any, output_dir: Path, batch_size: int) -> Any:
    """trl's SFTTrainer with LoRA adapters, for one step of `batch_size` texts (prompt + chosen answer)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    rows = _rows(batch_size)
    texts = [p + c for p, c in zip(rows["prompt"], rows["chosen"])]
    fields = inspect.signature(SFTConfig.__init__).parameters
    length = "max_seq_length" if "max_seq_length" in fields else "max_length"
    args = SFTConfig(dataset_text_field="text", **{length: PROMPT_CHARS + ANSWER_CHARS + 4}, **_common(output_dir, batch_size))
    return SFTTrainer(model=model, args=args, train_dataset=Dataset.from_dict({"text": texts}),
                      peft_config=lora_config(), **{_tokenizer_keyword(SFTTrainer): tokenizer})


def peak_gib(build: Callable[..., Any], batch_size: int, output_dir: Path,
             prepare: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Build a fresh model, optionally `prepare` it, build the trainer with `build` and train one step.

    Returns the peaks (allocated and reserved, GiB), the step count and the loss; the memory is freed after, also
    when training raises (a CUDA out-of-memory error under a memory limit), which propagates.
    """
    from tiny_lm import char_tokenizer

    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    tokenizer = char_tokenizer()
    model = fp16_model(tokenizer)
    if prepare is not None:
        model = prepare(model)
    trainer = None
    try:
        trainer = build(model, tokenizer, output_dir, batch_size)
        trainer.train()
        return {
            "batch_size": batch_size,
            "peak_allocated_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3),
            "peak_reserved_gib": round(torch.cuda.max_memory_reserved() / 2**30, 3),
            "global_step": trainer.state.global_step,
            "losses": [entry["loss"] for entry in trainer.state.log_history if "loss" in entry],
        }
    finally:
        del trainer, model
        gc.collect()
        torch.cuda.empty_cache()


@contextmanager
def card_limit() -> Iterator[float]:
    """Let this process allocate at most `CARD_GIB` of the GPU, standing in for the original 12 GB card.

    `torch.cuda.set_per_process_memory_fraction` caps the caching allocator; the CUDA context, which the original
    card also had to hold, is not counted, so the stand-in is a little roomier than the card was.
    """
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(min(1.0, CARD_GIB * 2**30 / total))
    try:
        yield CARD_GIB
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
