"""The original script after the fix: the same training, with the arguments built by `sft_batch.common_fixed`.

Run as `python -m sft_batch.train_fixed`. Its first import sets `CUDA_VISIBLE_DEVICES=0` and only then builds
`SFTConfig`, so the arguments count one GPU (none on a CPU host) and the train batch is the per-device batch, 2.
"""

from __future__ import annotations  # a compiler directive: nothing runs before the import below

from sft_batch.common_fixed import training_args  # noqa: F401 - first, as in the original: the fix runs here

import sys  # noqa: E402

from sft_batch.train import main  # noqa: E402

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main(fixed=True))
