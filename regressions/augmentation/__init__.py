"""The augmentation of the 2025-05-24 incident, as the original `common/datamodule.py` had it and as it was fixed.

`AddBlackRectangleAtTopLeft` paints the top-left 30 % of the image's height and width black. The original
subclassed albumentations' `ImageOnlyTransform`; the fix subclasses `DualTransform`, whose default
`apply_to_mask` calls the same `apply()` on the mask, hence the 2-D branch. Importing this module imports
albumentations, so a case imports it inside its body, after `needs(packages=("albumentations",))`.
"""

from __future__ import annotations

from typing import Any

import albumentations as A
import numpy as np

__all__ = ["RECT_RATIO", "AddBlackRectangleAtTopLeft", "AddBlackRectangleAtTopLeftFixed", "paint_top_left"]

#: The share of the height and of the width the rectangle covers.
RECT_RATIO = 0.3


def paint_top_left(img: np.ndarray, fill_value: int = 0) -> np.ndarray:
    """A copy of `img` with its top-left `RECT_RATIO` x `RECT_RATIO` rectangle set to `fill_value`.

    An image is H x W x C, a mask H x W: the fix's 2-D branch is what lets `apply_to_mask` reuse this.
    """
    rect_h, rect_w = int(img.shape[0] * RECT_RATIO), int(img.shape[1] * RECT_RATIO)
    img_ = img.copy()
    if img_.ndim == 2:
        img_[:rect_h, :rect_w] = fill_value
    else:
        img_[:rect_h, :rect_w, :] = fill_value
    return img_


class AddBlackRectangleAtTopLeft(A.ImageOnlyTransform):
    """The original: an image-only transform, which albumentations never applies to masks."""

    def __init__(self, p: float = 1.0) -> None:
        super().__init__(p=p)  # by keyword: albumentations 2 dropped the `always_apply` argument before `p`

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return paint_top_left(img)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("p",)


class AddBlackRectangleAtTopLeftFixed(A.DualTransform):
    """The fix: a dual transform; the inherited `apply_to_mask` calls `apply`, so the mask gets the rectangle (0)."""

    def __init__(self, p: float = 1.0) -> None:
        super().__init__(p=p)

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return paint_top_left(img)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("p",)
