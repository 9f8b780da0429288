"""The original `test_unsloth_common.py`, small: importing this module builds the training arguments.

That is the incident: `SFTConfig(...)` runs `TrainingArguments.__post_init__`, which sets up the device and
stores `n_gpu = torch.cuda.device_count()` (transformers 4.51.3 `training_args.py:1761` -> `:2286`). Every
later `train_batch_size` is `per_device_train_batch_size * max(1, n_gpu)` (`:2137`), so whatever a script does to
`CUDA_VISIBLE_DEVICES` after `from sft_batch.common import ...` comes too late.

What the original had and this keeps: lr 2e-4, 2 epochs, per-device batch 2 (eval 1), logging every step, no
gradient checkpointing, `max_seq_length` not set, 20 training and 5 validation rows of short Korean
question/answer text as `"{input} ### Answer: {output}"`, completion-only loss on the response template, LoRA
r=64 alpha=16 on the 7 projections. What differs: a Gemma2-shaped model of a few thousand parameters built from a
config (not gemma-2-2b-it), a character-level tokenizer built in code, LoRA only where peft is installed, and
what a test run needs (a temporary output dir, no reporting, no checkpoints).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from trl import SFTConfig, SFTTrainer

from sft_batch.compat import has_completion_only_collator

__all__ = [
    "RESPONSE_TEMPLATE",
    "LORA_TARGET_MODULES",
    "QA_PAIRS",
    "training_args",
    "output_dir_path",
    "get_tokenizer",
    "get_llm",
    "get_lora_llm",
    "generate_llm_trainable_dataset",
    "get_collator",
    "get_sft_trainer",
]

RESPONSE_TEMPLATE = " ### Answer:"
LORA_TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

#: 20 training and 5 validation rows, like the original's slices of its Korean fine-tuning data.
QA_PAIRS: list[tuple[str, str]] = [
    ("안녕 오로라!", "안녕! 오늘 기분은 어때?"),
    ("오늘 날씨 좋다", "맞아, 산책하기 딱 좋은 날이야."),
    ("점심 뭐 먹었어?", "김치찌개 먹었어. 너는?"),
    ("요즘 뭐 해?", "새로운 노래를 배우고 있어."),
    ("주말에 뭐 할 거야?", "친구랑 영화 보러 갈 거야."),
    ("좋아하는 색은?", "하늘색을 제일 좋아해."),
    ("커피 좋아해?", "응, 아이스 라떼를 좋아해."),
    ("피곤하다", "오늘 많이 힘들었구나. 푹 쉬어."),
    ("시험 끝났어!", "축하해! 정말 고생 많았어."),
    ("고양이 좋아해?", "응, 고양이는 정말 귀여워."),
    ("노래 추천해 줘", "잔잔한 발라드 어때?"),
    ("배고파", "맛있는 거 먹으러 가자!"),
    ("비가 온다", "우산 꼭 챙겨!"),
    ("잘 자", "너도 좋은 꿈 꿔."),
    ("생일이 언제야?", "나는 봄에 태어났어."),
    ("취미가 뭐야?", "그림 그리기를 좋아해."),
    ("운동 좋아해?", "요즘 달리기를 하고 있어."),
    ("여행 가고 싶다", "바다 보러 가면 좋겠다."),
    ("책 읽어?", "응, 소설을 자주 읽어."),
    ("고마워", "천만에! 언제든 말해."),
    ("심심해", "나랑 이야기하자!"),
    ("내일 뭐 해?", "도서관에 갈 생각이야."),
    ("좋아하는 음식은?", "떡볶이를 제일 좋아해."),
    ("오늘 재밌었어", "나도 정말 즐거웠어."),
    ("다음에 또 보자", "응, 꼭 다시 만나!"),
]

output_dir_path = os.environ.get("SFT_BATCH_OUTPUT_DIR") or tempfile.mkdtemp(prefix="sft-batch-")

# The original's `SFTConfig`, built on import. `report_to="none"` where the original wrote `report_to=None`
# (which means "all integrations" in transformers 4.51); `bf16=False` is trl 0.15's default, spelled out because
# newer trl defaults to True.
training_args = SFTConfig(
    learning_rate=0.0002,
    num_train_epochs=2,
    logging_steps=1,
    gradient_checkpointing=False,
    output_dir=output_dir_path,
    per_device_train_batch_size=2,
    per_device_eval_batch_size=1,
    report_to="none",
    save_strategy="no",
    bf16=False,
)


def get_tokenizer() -> Any:
    """A character-level tokenizer for the corpus, so the response template has the same ids wherever it appears.

    (The original passed the ids of `'### Answer:'` in context to the collator for the same reason.)
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    characters = sorted({c for question, answer in QA_PAIRS for c in f"{question}{RESPONSE_TEMPLATE} {answer}"})
    vocab = {token: index for index, token in enumerate(specials + characters)}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tokenizer.decoder = decoders.Fuse()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<bos> $A", pair="<bos> $A $B", special_tokens=[("<bos>", vocab["<bos>"])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )


def get_llm(tokenizer: Any) -> Any:
    """A randomly initialised Gemma2 causal LM of two tiny layers, on the GPU in bf16 as the original (fp32 on CPU)."""
    import torch
    from transformers import AutoModelForCausalLM, Gemma2Config

    config = Gemma2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=128,
        sliding_window=64,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    config._attn_implementation = "eager"  # what Gemma2 recommends for training; the same on every version
    torch.manual_seed(0)
    llm = AutoModelForCausalLM.from_config(config)
    if torch.cuda.is_available():
        llm = llm.to(torch.bfloat16).cuda()
    return llm


def get_lora_llm(llm: Any, lora_rank: int = 64) -> tuple[Any, bool]:
    """The original's LoRA adapter where peft is installed; the bare model (and False) where it is not.

    LoRA does not take part in the incident (the batch size comes from the arguments), so peft stays optional.
    """
    try:
        import peft
    except ImportError:
        return llm, False
    lora_config = peft.LoraConfig(
        r=lora_rank,
        lora_alpha=16,
        lora_dropout=0.05,
        init_lora_weights="gaussian",
        target_modules=LORA_TARGET_MODULES,
        task_type="CAUSAL_LM",
    )
    return peft.get_peft_model(llm, lora_config), True


def generate_llm_trainable_dataset() -> Any:
    """20 training and 5 validation rows: `text` as the original, or prompt/completion where trl lacks the collator."""
    from datasets import Dataset, DatasetDict

    if has_completion_only_collator():
        columns = {"text": [f"{question}{RESPONSE_TEMPLATE} {answer}" for question, answer in QA_PAIRS]}
    else:
        columns = {
            "prompt": [f"{question}{RESPONSE_TEMPLATE}" for question, _ in QA_PAIRS],
            "completion": [f" {answer}" for _, answer in QA_PAIRS],
        }
    dataset = DatasetDict()
    dataset["train"] = Dataset.from_dict({name: rows[:20] for name, rows in columns.items()})
    dataset["valid"] = Dataset.from_dict({name: rows[20:] for name, rows in columns.items()})
    return dataset


def get_collator(tokenizer: Any) -> Any:
    """`DataCollatorForCompletionOnlyLM` on the template's ids, as the original; None where trl removed it."""
    if not has_completion_only_collator():
        return None
    from trl import DataCollatorForCompletionOnlyLM

    response_template = tokenizer.encode(RESPONSE_TEMPLATE, add_special_tokens=False)
    return DataCollatorForCompletionOnlyLM(response_template, tokenizer=tokenizer)


def get_sft_trainer(lora_llm: Any, dataset: Any, tokenizer: Any, collator: Any, args: SFTConfig) -> SFTTrainer:
    """The original's trainer: model object, train and eval splits, the tokenizer as processing class, the collator."""
    return SFTTrainer(
        lora_llm,
        train_dataset=dataset["train"],
        eval_dataset=dataset["valid"],
        processing_class=tokenizer,
        args=args,
        data_collator=collator,
    )
