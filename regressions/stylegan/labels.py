"""The property-score label pipeline, made the way the original made it.

Scores were read with pandas and turned into plain Python floats with `.tolist()`; a `Dataset` returned them in a
dict, a `DataLoader` (batch 16) collated them with the default collation, which turns Python floats into
float64 tensors; the five score tensors were concatenated, reshaped to (5, -1) and transposed into (batch, 5).
Nothing here casts: the dtype the generator receives is whatever this pipeline makes.
"""

from __future__ import annotations

import csv
import io
import random
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

__all__ = [
    "PROPERTY_NAMES",
    "TRAIN_BATCH_SIZE",
    "property_score_csv",
    "property_score_rows",
    "PropertyScoreDataset",
    "label_loader",
    "concatenate_labels",
]

#: The five property scores of a face, in the order the label vector holds them.
PROPERTY_NAMES: tuple[str, ...] = ("eyes_score", "hair_color_score", "hair_length_score", "mouth_score", "pose_score")
TRAIN_BATCH_SIZE = 16


def property_score_csv(rows: int = 64, seed: int = 0) -> str:
    """A score table as the original's CSV held it: an image name and five standardised scores per row."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("img_no",) + PROPERTY_NAMES)
    for index in range(rows):
        writer.writerow((f"{index:06d}.jpg",) + tuple(f"{rng.gauss(0.0, 1.0):.6f}" for _ in PROPERTY_NAMES))
    return out.getvalue()


def property_score_rows(rows: int = 64, seed: int = 0) -> Any:
    """The score table read with pandas, as in the original (a list of dicts of floats where pandas is absent)."""
    text = property_score_csv(rows, seed)
    try:
        import pandas as pd
    except ImportError:
        return [{name: float(value) for name, value in row.items() if name in PROPERTY_NAMES}
                for row in csv.DictReader(io.StringIO(text))]
    return pd.read_csv(io.StringIO(text))


class PropertyScoreDataset(Dataset):  # type: ignore[type-arg]
    """One training example per row: an image and the five scores as plain Python floats."""

    def __init__(self, rows: Any, resolution: int = 16) -> None:
        self.rows = rows
        self.resolution = resolution

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if hasattr(self.rows, "iloc"):
            scores = self.rows.iloc[index][list(PROPERTY_NAMES)].tolist()  # numpy float64 -> Python float
        else:
            scores = [self.rows[index][name] for name in PROPERTY_NAMES]
        image = torch.zeros(3, self.resolution, self.resolution)  # the image plays no part in the label dtype
        return {"image": image, **dict(zip(PROPERTY_NAMES, scores))}


def label_loader(rows: Any, batch_size: int = TRAIN_BATCH_SIZE) -> DataLoader:  # type: ignore[type-arg]
    """The DataLoader of the original: default collation, batch 16, no shuffling (order is irrelevant here)."""
    return DataLoader(PropertyScoreDataset(rows), batch_size=batch_size, shuffle=False)


def concatenate_labels(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The five collated score tensors -> one (batch, 5) label tensor, with the original's concat/reshape/transpose."""
    concatenated = torch.concat([batch[name] for name in PROPERTY_NAMES])
    return torch.transpose(concatenated.reshape((len(PROPERTY_NAMES), -1)), 0, 1)
