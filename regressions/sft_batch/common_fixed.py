"""The fix: `CUDA_VISIBLE_DEVICES=0` at the very top of the module that builds the training arguments.

In the original the line went to the top of `test_unsloth_common.py`. Here the module that builds the arguments
is `sft_batch.common`, shared with the failing runs, so the fixed module is this one: it sets the variable and
only then imports `common`, whose import builds `SFTConfig`. Nothing may initialise CUDA before this line: the
variable is read once, when CUDA initialises.
"""

from __future__ import annotations

import os

os.environ["CUDA_VISIBLE_DEVICES"] = "0"

# The point of the fix is that this import, which builds `SFTConfig`, runs after the line above.
from sft_batch.common import (  # noqa: E402
    generate_llm_trainable_dataset,
    get_collator,
    get_llm,
    get_lora_llm,
    get_sft_trainer,
    get_tokenizer,
    training_args,
)

__all__ = [
    "training_args",
    "get_tokenizer",
    "get_llm",
    "get_lora_llm",
    "generate_llm_trainable_dataset",
    "get_collator",
    "get_sft_trainer",
]
