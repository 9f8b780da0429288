"""The original `test_without_unsloth.py`, small: fine-tune with the arguments `sft_batch.common` built on import.

Run as `python -m sft_batch.train [--visible-devices-after-import] [--liger]` with `regressions/` on the path:

- no option: the symptom. With 2 GPUs visible, `n_gpu` is 2 and the train batch is 4.
- `--visible-devices-after-import`: failed attempt 1, `CUDA_VISIBLE_DEVICES=0` set right after the import of
  `common`, i.e. after `SFTConfig` counted the GPUs (and initialised CUDA, which reads the variable only then).
- `--liger`: failed attempt 2, the Liger switch forced on (`use_liger` in trl 0.15, `use_liger_kernel` later).

Under torchrun each rank runs this once. Every process prints one observation line (`sft_batch.report`); an
error in the training is part of the observation, not a crash of this script.
"""

from __future__ import annotations  # a compiler directive: nothing runs before the import below

from sft_batch.common import (
    generate_llm_trainable_dataset,
    get_collator,
    get_llm,
    get_lora_llm,
    get_sft_trainer,
    get_tokenizer,
    training_args,
)

import os  # noqa: E402 - as in the original, the import of the common module comes first
import sys  # noqa: E402

if "--visible-devices-after-import" in sys.argv:
    os.environ["CUDA_VISIBLE_DEVICES"] = "0"  # attempt 1: the right line in the wrong place

from sft_batch import report  # noqa: E402
from sft_batch.compat import has_completion_only_collator, liger_option  # noqa: E402
from sft_batch.measure import ForwardRecorder, Measurement  # noqa: E402

__all__ = ["main"]

VARIANTS = {"--visible-devices-after-import": "attempt:visible-devices-after-import", "--liger": "attempt:use-liger"}


def _variant(argv: list[str], fixed: bool) -> str:
    """The case this process serves, for the report (torchrun runs this unfixed script: one process per GPU)."""
    chosen = [VARIANTS[arg] for arg in argv if arg in VARIANTS]
    if fixed or chosen:
        return "fix" if fixed else chosen[0]
    return "fix:torchrun" if "LOCAL_RANK" in os.environ else "symptom"


def main(argv: list[str] | None = None, *, fixed: bool = False) -> int:
    """Train once and report; 0 unless the script itself failed before it could report."""
    argv = sys.argv[1:] if argv is None else argv
    unknown = [arg for arg in argv if arg not in VARIANTS]
    if unknown:
        print(f"sft_batch.train: unknown option(s) {unknown}; use {sorted(VARIANTS)}", file=sys.stderr)
        return 2
    measurement = Measurement(_variant(argv, fixed))
    try:
        _train(measurement, liger="--liger" in argv)
    except UnderTest as caught:  # the error the incident is about is the observation; any other goes up (a crash)
        measurement.failed(caught.error)
    finally:
        _leave_process_group()
    directory = os.environ.get(report.ENV_REPORT_DIR)
    report.emit(measurement.to_dict(), rank=training_args.process_index, directory=directory)
    return 0


class UnderTest(Exception):
    """The error of the part of training the incident is about (building the SFTTrainer, training): observed, not
    a crash. A failure of the setup before it (the model, the tokenizer, the data) is not caught and crashes."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _train(measurement: Measurement, *, liger: bool) -> None:
    import torch

    values = measurement.values
    option = liger_option()
    values["liger_option"] = option
    if liger:
        setattr(training_args, option, True)  # the original set it in the config; the args exist by now
    values["liger_enabled"] = bool(getattr(training_args, option, False))
    measurement.args(training_args)

    tokenizer = get_tokenizer()
    llm = get_llm(tokenizer)
    values["model_dtype"] = str(llm.dtype).removeprefix("torch.")
    lora_llm, has_lora = get_lora_llm(llm)
    values["model_parameters"] = sum(parameter.numel() for parameter in lora_llm.parameters())
    values["lora"] = "peft LoRA r=64 alpha=16 on the 7 projections" if has_lora else None
    if not has_lora:
        measurement.notes.append("peft is not installed: the model trains without the LoRA adapter")
    dataset = generate_llm_trainable_dataset()
    collator = get_collator(tokenizer)
    values["completion_masking"] = (
        "DataCollatorForCompletionOnlyLM" if has_completion_only_collator() else "prompt/completion dataset"
    )

    try:  # trl 1.x refuses the setup here (the record's successor)
        trainer = get_sft_trainer(lora_llm, dataset, tokenizer, collator, training_args)
    except Exception as exc:  # noqa: BLE001 - re-raised as the error under test, with its traceback
        raise UnderTest(exc) from exc
    recorder = ForwardRecorder(trainer.model)
    values["hooks_shared_with_replicas"] = recorder.hooks_shared_with_replicas
    try:
        trainer.train()
    except Exception as exc:  # noqa: BLE001 - the recorded error is raised while training
        raise UnderTest(exc) from exc
    finally:
        values["model_wrapper"] = type(trainer.model_wrapped).__name__
        values["forward_rows_by_device"] = recorder.rows_by_device()
        values["optimizer_steps"] = trainer.state.global_step
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        values["distributed_backend"] = torch.distributed.get_backend() if distributed else None
        if torch.cuda.is_available():
            values["max_memory_allocated_mib"] = {
                f"cuda:{index}": round(torch.cuda.max_memory_allocated(index) / 2**20, 1)
                for index in range(torch.cuda.device_count())
            }
        recorder.remove()


def _leave_process_group() -> None:
    import torch

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
