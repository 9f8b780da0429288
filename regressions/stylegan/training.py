"""The fine-tuning loop's two parts that the incidents touch: a training step and the periodic image test.

The original ran the image test after every 50 training steps: 7 label sets x 10 images, i.e. 7 generator
forwards of batch 10, each image written to a PNG. The images were not kept: the variable was reassigned on each
iteration and local to the function. The model stayed in train mode throughout, its mapping trainable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from stylegan.generator import Generator

__all__ = ["TEST_LABEL_SETS", "TEST_BATCH_SIZE", "image_test_labels", "train_step", "generate_test_images"]

TEST_LABEL_SETS = 7
TEST_BATCH_SIZE = 10


def image_test_labels(device: torch.device, *, seed: int = 1) -> list[torch.Tensor]:
    """Seven fixed property-score combinations, each repeated for a batch of 10 images (float32, as after the fix)."""
    generator = torch.Generator().manual_seed(seed)
    sets = torch.randn(TEST_LABEL_SETS, 5, generator=generator)
    return [row.repeat(TEST_BATCH_SIZE, 1).to(device) for row in sets]


def train_step(
    generator: Generator, optimizer: torch.optim.Optimizer, z: torch.Tensor, labels: torch.Tensor
) -> float:
    """One generator update. The loss stands in for the discriminator's verdict, which no incident involves."""
    optimizer.zero_grad(set_to_none=True)
    images = generator(z, labels)
    loss = F.softplus(-images.mean(dim=(1, 2, 3))).mean()
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def generate_test_images(
    generator: Generator, z: torch.Tensor, label_sets: list[torch.Tensor], *, no_grad: bool
) -> int:
    """The periodic image test: one forward per label set, each batch turned into 8-bit pixels and dropped.

    `no_grad=False` is the code as it was; `no_grad=True` is the fix (the call inside `torch.no_grad()`, the
    images moved to the CPU with `.detach().cpu()`). Returns the number of images made.
    """
    made = 0
    for label in label_sets:
        if no_grad:
            with torch.no_grad():
                images = generator(z, label).detach().cpu()
        else:
            images = generator(z, label)
        # What saving a PNG does to the pixels; the result is discarded, as the saved files were not read back.
        pixels = ((images.detach().cpu() + 1.0) * 127.5).clamp(0, 255).to(torch.uint8)
        made += pixels.shape[0]
    return made
