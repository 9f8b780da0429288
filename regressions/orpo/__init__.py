"""One ORPO training step with trl's `ORPOTrainer`, small enough for a CPU: the run the incident was about.

What the original had and this keeps: trl's `ORPOTrainer` on a causal LM, trained on prompt/chosen/rejected rows,
through `trainer.train()` (transformers' training loop), with trl 0.11.x's `tokenizer=` argument. What differs:
a Llama-shaped causal LM of a few thousand parameters built from a config (the seed does not record the
original model), a character-level tokenizer built in code, six preference rows written here, one optimizer step
on the CPU in float32, and what a test run needs (a temporary output dir, no reporting, no checkpoints).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "PREFERENCES",
    "TRAINER_LOGGER",
    "get_tokenizer",
    "get_model",
    "preference_dataset",
    "orpo_args",
    "orpo_trainer",
    "trainer_warnings",
]

#: The logger of transformers' `trainer.py`; its `Trainer.tokenizer` property logs the deprecation there.
TRAINER_LOGGER = "transformers.trainer"

#: Prompt, chosen and rejected answer: the columns trl's ORPOTrainer reads.
PREFERENCES: list[tuple[str, str, str]] = [
    ("What is 2 + 2?", " 4.", " 5."),
    ("Name a colour.", " Blue.", " Seven."),
    ("Say hello.", " Hello!", " Goodbye."),
    ("Is ice cold?", " Yes.", " No."),
    ("Capital of France?", " Paris.", " Rome."),
    ("What do cats say?", " Meow.", " Moo."),
]


def get_tokenizer() -> Any:
    """A character-level fast tokenizer of the rows' characters, with pad, eos, bos and unk tokens."""
    from tiny_lm import char_tokenizer

    return char_tokenizer({c for row in PREFERENCES for text in row for c in text})


def get_model(tokenizer: Any) -> Any:
    """A randomly initialised Llama causal LM of one tiny layer, in float32 on the CPU."""
    import torch
    from tiny_lm import TINY, llama

    torch.manual_seed(0)
    return llama(tokenizer, TINY, max_position_embeddings=64)


def preference_dataset() -> Any:
    from datasets import Dataset

    prompts, chosen, rejected = zip(*PREFERENCES)
    return Dataset.from_dict({"prompt": list(prompts), "chosen": list(chosen), "rejected": list(rejected)})


def orpo_args(output_dir: Path, **overrides: Any) -> Any:
    """`ORPOConfig` for one optimizer step of batch 2 on the CPU (the original's settings are not recorded)."""
    from trl import ORPOConfig

    settings: dict[str, Any] = dict(
        output_dir=str(output_dir),
        per_device_train_batch_size=2,
        gradient_accumulation_steps=1,
        max_steps=1,
        learning_rate=1e-2,
        max_length=48,
        max_prompt_length=24,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        bf16=False,
        fp16=False,
        use_cpu=True,
    )
    settings.update(overrides)
    return ORPOConfig(**settings)


def orpo_trainer(model: Any, tokenizer: Any, output_dir: Path) -> Any:
    """trl 0.11.x's ORPOTrainer as its documentation of that time builds it (the tokenizer passed as `tokenizer=`).

    trl 0.12.0 renamed the argument `processing_class` (without keeping `tokenizer`): there it is passed under
    that name, so that a bisection over trl releases sees the collision come and go, not the argument's rename.
    """
    import inspect

    from trl import ORPOTrainer

    keyword = "tokenizer" if "tokenizer" in inspect.signature(ORPOTrainer.__init__).parameters else "processing_class"
    return ORPOTrainer(model=model, args=orpo_args(output_dir), train_dataset=preference_dataset(), **{keyword: tokenizer})


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def trainer_warnings() -> Iterator[list[str]]:
    """The warnings transformers' trainer.py logs in the block, in order.

    transformers' library logger does not propagate to the root logger (so pytest's caplog would not see them):
    a handler is attached to the trainer module's own logger for the block.
    """
    handler = _Collect()
    logger = logging.getLogger(TRAINER_LOGGER)
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
