"""What differs between the trl versions the regression runs on, named once so the scripts stay like the original.

- Completion-only loss: trl 0.15.2 (the original) masks the prompt with `DataCollatorForCompletionOnlyLM` on the
  response template; trl 0.20 removed that class, and its replacement is a prompt/completion dataset, whose
  prompt `SFTTrainer` masks itself (`completion_only_loss`).
- The Liger option: trl 0.15 has its own `SFTConfig.use_liger`; trl 0.16 deprecated it for transformers'
  `TrainingArguments.use_liger_kernel` and 0.19 removed it. They do not do the same thing (see `liger_option`).
"""

from __future__ import annotations

from importlib.metadata import version

from packaging.version import Version

__all__ = ["has_completion_only_collator", "liger_option", "trl_version"]


def trl_version() -> Version:
    return Version(version("trl"))


def has_completion_only_collator() -> bool:
    """True where trl still has `DataCollatorForCompletionOnlyLM` (removed in trl 0.20)."""
    import trl

    return hasattr(trl, "DataCollatorForCompletionOnlyLM")


def liger_option() -> str:
    """The name of the Liger switch that the installed trl's `SFTTrainer` reads.

    trl 0.15's `use_liger` loads Liger kernels only when the trainer is given a model *name*
    (`sft_trainer.py:271`); with a model object, as in the original, it applies no kernel and only skips the
    token-accuracy code of `compute_loss` (`sft_trainer.py:479`). `use_liger_kernel` (trl >= 0.16) patches the
    model object with liger-kernel, which must then be installed.
    """
    return "use_liger" if trl_version() < Version("0.16") else "use_liger_kernel"
