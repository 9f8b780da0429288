"""Regression of 2025-05-24-augmentation-image-only-mask-unchanged: an `ImageOnlyTransform` leaves the mask alone.

Each case runs the augmentation (`augmentation/`) through `albumentations.Compose` on an image and its mask, as
a segmentation datamodule does, and measures how much of the painted (black) rectangle the mask still labels
"polyp" (1). The image is a synthetic 96 x 128 RGB frame and the mask labels every pixel 1, so before the
augmentation the whole rectangle is polyp: the symptom leaves all of it so, the fix none.
"""

from __future__ import annotations

from typing import Any

import pytest

from incidentkb.plugin.observation import Observation
from incidentkb.records.schema import Incident

ID = "2025-05-24-augmentation-image-only-mask-unchanged"
HEIGHT, WIDTH = 96, 128

pytestmark = pytest.mark.needs(packages=("albumentations",))


def augment(observe: Observation, transform_class: Any) -> tuple[Any, Any]:
    """The image and mask after `Compose([transform_class()])`, with what changed recorded."""
    import albumentations as A
    import numpy as np

    image = np.full((HEIGHT, WIDTH, 3), 200, dtype=np.uint8)
    mask = np.ones((HEIGHT, WIDTH), dtype=np.uint8)
    out = A.Compose([transform_class()])(image=image, mask=mask)
    observe.value("albumentations_version", A.__version__)
    observe.value("image_pixels_painted", int((out["image"] != image).any(axis=-1).sum()))
    observe.value("mask_pixels_changed", int((out["mask"] != mask).sum()))
    return out["image"], out["mask"]


def polyp_share_under_black(observe: Observation, image: Any, mask: Any) -> float:
    """The share of the image's black pixels that the mask still labels polyp (1): 0 when they agree."""
    black = (image == 0).all(axis=-1)
    observe.require(black.any(), "the augmentation painted no pixel black, so the mask has nothing to agree with")
    return float((mask[black] == 1).mean())


@pytest.mark.incident(ID, "symptom")
def test_symptom_image_only_transform_leaves_mask_unchanged(
    observe: Observation, incident_record: Incident
) -> None:
    from augmentation import AddBlackRectangleAtTopLeft

    image, mask = augment(observe, AddBlackRectangleAtTopLeft)
    share = polyp_share_under_black(observe, image, mask)
    assert observe.measured(incident_record.symptom.measured, share), share


@pytest.mark.incident(ID, "fix")
def test_fix_dual_transform_paints_the_mask_too(observe: Observation, incident_record: Incident) -> None:
    from augmentation import AddBlackRectangleAtTopLeftFixed, RECT_RATIO

    image, mask = augment(observe, AddBlackRectangleAtTopLeftFixed)
    share = polyp_share_under_black(observe, image, mask)
    assert not observe.measured(incident_record.symptom.measured, share), share
    rect_h, rect_w = int(HEIGHT * RECT_RATIO), int(WIDTH * RECT_RATIO)
    assert (mask[:rect_h, :rect_w] == 0).all(), "the rectangle is not 'not polyp' (0) in the mask"
    assert int((mask == 0).sum()) == rect_h * rect_w, "the mask changed outside the rectangle"
