"""Regression of 2025-03-15-llm-generate-greedy-same-answer: `generate()` without `do_sample=True` is greedy.

Each case builds a tiny Llama causal LM from a config (random weights: a trained model is not needed to see
whether decoding draws at random) and a character-level tokenizer in code, then generates `RUNS` times from one
prompt, as the author's test loop did, and counts the distinct answers. The symptom is one answer for all runs
(`symptom.measured`); the fix, `do_sample=True`, gives several.
"""

from __future__ import annotations

from typing import Any

import pytest

from incidentkb.plugin.observation import Observation
from incidentkb.records.schema import Incident
from tiny_lm import char_tokenizer, llama

ID = "2025-03-15-llm-generate-greedy-same-answer"
PROMPT = "Write a Python function that adds two numbers."
#: How many times the prompt is answered; the author re-ran one test prompt repeatedly.
RUNS = 5
#: The original's `max_length=768`, cut down: 24 new tokens already make a repeated answer unlikely by chance.
MAX_LENGTH = len(PROMPT) + 24

pytestmark = pytest.mark.usefixtures("single_cpu_thread")


def answers(observe: Observation, seeds: list[int] | None = None, **generate_kwargs: Any) -> list[str]:
    """`RUNS` answers to `PROMPT` from one model, each by `generate()` under `torch.no_grad()`.

    With `seeds`, `torch.manual_seed(seed)` is called before each generation (the failed attempt).
    """
    import torch

    tokenizer = char_tokenizer()
    torch.manual_seed(0)  # the same weights in every case, whatever ran before
    model = llama(tokenizer).eval()
    inputs = tokenizer(PROMPT, return_tensors="pt")
    texts = []
    for run in range(RUNS):
        if seeds is not None:
            torch.manual_seed(seeds[run])
        with torch.no_grad():
            output = model.generate(
                **inputs, max_length=MAX_LENGTH, pad_token_id=tokenizer.pad_token_id, **generate_kwargs
            )
        texts.append(tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True))
    observe.value("answers", texts)
    observe.value("do_sample_default", bool(model.generation_config.do_sample))
    return texts


@pytest.mark.incident(ID, "symptom")
def test_symptom_generate_gives_the_same_answer_every_run(observe: Observation, incident_record: Incident) -> None:
    distinct = len(set(answers(observe)))
    assert observe.measured(incident_record.symptom.measured, distinct), distinct


@pytest.mark.incident(ID, "attempt:new-seed-per-generation")
def test_attempt_new_seed_per_generation_still_gives_one_answer(
    observe: Observation, incident_record: Incident
) -> None:
    distinct = len(set(answers(observe, seeds=list(range(1, RUNS + 1)))))
    assert observe.measured(incident_record.symptom.measured, distinct), distinct


@pytest.mark.incident(ID, "fix")
def test_fix_do_sample_gives_different_answers(observe: Observation, incident_record: Incident) -> None:
    distinct = len(set(answers(observe, do_sample=True)))
    assert not observe.measured(incident_record.symptom.measured, distinct), distinct
