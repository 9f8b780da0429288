"""A small StyleGAN-like conditional generator and the Oh-LoRA label pipeline, faithful where the incidents live.

Kept at full size where the incidents depend on it: the mapping network (512-wide, 8 layers, weight-scaled dense
layers, a float32 `label_weight` of shape (5, 512) whose matmul with the label is concatenated to z), and the
`w_avg` buffer updated in forward by an in-place `copy_` in train mode. The synthesis network only has to turn
w into images, so it is small (16x16, 16 channels) to keep each case within seconds on a CPU.
"""

from __future__ import annotations

from stylegan.generator import Generator, MappingNetwork, SynthesisNetwork
from stylegan.labels import PROPERTY_NAMES, concatenate_labels, label_loader, property_score_rows
from stylegan.training import generate_test_images, image_test_labels, train_step

__all__ = [
    "Generator",
    "MappingNetwork",
    "SynthesisNetwork",
    "PROPERTY_NAMES",
    "concatenate_labels",
    "label_loader",
    "property_score_rows",
    "generate_test_images",
    "image_test_labels",
    "train_step",
]
