"""A causal LM and its tokenizer built in code, for the DeepSeek-project incidents (no download).

The original model, `deepseek-ai/deepseek-coder-1.3b-instruct`, is a Llama-architecture causal LM; here it is a
`LlamaForCausalLM` built from a config (random weights), at a size each regression chooses: a few thousand
parameters where only the behaviour matters, the original's own shape (`DEEPSEEK_CODER_1_3B`) where memory does.
The tokenizer is character-level over printable ASCII, so any prompt the cases write tokenizes.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from typing import Any

__all__ = ["DEEPSEEK_CODER_1_3B", "TINY", "char_tokenizer", "llama"]

#: The shape of deepseek-coder-1.3b-instruct (a LlamaForCausalLM of 1,347,258,368 parameters: embeddings 32256 x 2048,
#: 24 layers of width 2048 and MLP width 5504, untied output head). Its RoPE settings are left at Llama's defaults:
#: they change no tensor's size, so no memory figure.
DEEPSEEK_CODER_1_3B: dict[str, Any] = dict(
    vocab_size=32256,
    hidden_size=2048,
    intermediate_size=5504,
    num_hidden_layers=24,
    num_attention_heads=16,
    num_key_value_heads=16,
    max_position_embeddings=16384,
)

#: A few thousand parameters: enough for generate() and a training step to run as they do on the real model.
TINY: dict[str, Any] = dict(
    hidden_size=16,
    intermediate_size=32,
    num_hidden_layers=1,
    num_attention_heads=2,
    num_key_value_heads=1,
    max_position_embeddings=256,
)

_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>"]


def char_tokenizer(characters: Iterable[str] = string.printable) -> Any:
    """A fast tokenizer with one token per character (printable ASCII unless told), and pad, eos, bos and unk."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: index for index, token in enumerate(_SPECIALS + sorted(set(characters)))}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tokenizer.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
        model_input_names=["input_ids", "attention_mask"],  # no token_type_ids, which a Llama refuses
    )


def llama(tokenizer: Any, shape: dict[str, Any] = TINY, **overrides: Any) -> Any:
    """A randomly initialised `LlamaForCausalLM` of `shape`, its vocabulary at least the tokenizer's.

    Extra keyword arguments go to the config (e.g. `attn_implementation`); the model is on the CPU in float32
    unless a caller moves or casts it.
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    settings = {**shape, **overrides}
    settings["vocab_size"] = max(settings.get("vocab_size", 0), len(tokenizer))
    config = LlamaConfig(
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **settings,
    )
    return LlamaForCausalLM(config)
