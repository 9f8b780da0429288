"""The batch-size incident of 2025-04-21, rebuilt small: a tiny Gemma2-like LM fine-tuned with trl's `SFTTrainer`.

The modules mirror the original scripts, so the order of imports, which is the whole incident, is the same:

- `common`: the original `test_unsloth_common.py`; importing it builds `training_args = SFTConfig(...)`.
- `common_fixed`: the fix, `CUDA_VISIBLE_DEVICES=0` set at the top, before the training arguments exist.
- `train`: the original `test_without_unsloth.py` (no unsloth); runs one training and reports what it saw.
- `train_fixed`: the same training, importing `common_fixed` first.
- `report` and `launch`: how a run reports to, and is started by, the regression test (fresh processes only:
  which GPUs a process sees is fixed when CUDA initialises).

Nothing here is imported by the test process except `report` and `launch`, which import neither torch nor trl.
"""
