"""Rotation at true geometry: the paper's [-90°, 90°] rotation (§3.1) as an Augmentor operation.

Every output pixel comes from the source image at the place the rotation maps it to; nothing is
filled, mirrored or invented. An angle θ is split into the nearest multiple of 90° (q quarter
turns, exact and lossless on a square: `np.rot90`) and the rest r = θ − 90°·q in [−45°, 45°].
The rest is rotated about the centre with the largest centred square that stays inside the
rotated source: the output is enlarged by |cos r| + |sin r| (1 at r = 0, √2 at 45°), so its
pixel centres map inside the hull of the source's pixel centres. The zoom is the price: a
centred lesion of radius 0.4·side is cut at the border once |r| > 17.1° (docs/data_recipe.md
gives the share of copies). Interpolation is a cubic spline (order 3, the sharpness of
Augmentor's bicubic), clipped to the source's range.

Replaces the rotation with reflected borders of datasets prepared before `ROTATION_RULE` was
recorded (`augment.rotation_rule` names those): its corners showed the image mirrored at its
border, 11.7 % of a copy's pixels on average.

NumPy/PIL/scikit-image/Augmentor only: it runs in the `prepare.py` worker processes.
"""
import math
import random

import numpy as np
from Augmentor.Operations import Operation
from PIL import Image

INTERPOLATION_ORDER = 3   # cubic spline (skimage order 3) ~ Augmentor's PIL BICUBIC rotation
ROTATION_RULE = "quarter_turns_then_crop"  # dataset.json's name of this rule


def split_angle(angle):
    """`angle` degrees -> (quarter turns q, rest r in [-45, 45]) with angle = 90 q + r."""
    quarters = int(math.floor(angle / 90.0 + 0.5))
    return quarters, angle - 90.0 * quarters


def crop_zoom(rest):
    """Enlargement that keeps the output square inside the source rotated by `rest` degrees."""
    r = math.radians(rest)
    return abs(math.cos(r)) + abs(math.sin(r))


def rotate_crop(image, angle):
    """uint8 [S, S, C] rotated `angle` degrees counter-clockwise about its centre -> uint8 [S, S, C].

    Quarter turns are exact; the rest is rotated with the inscribed crop (module docstring)."""
    from skimage.transform import SimilarityTransform, warp  # only augmenting processes pay

    if image.shape[0] != image.shape[1]:
        raise ValueError(f"rotate_crop needs a square image, not {image.shape[:2]}")
    quarters, rest = split_angle(angle)
    turned = np.ascontiguousarray(np.rot90(image, quarters))
    if rest == 0:
        return turned
    centre = (image.shape[0] - 1) / 2.0
    # warp's map goes from output to source (x, y) = (column, row): source = R (out - c) / z + c.
    to_source = (SimilarityTransform(translation=(-centre, -centre))
                 + SimilarityTransform(scale=1.0 / crop_zoom(rest), rotation=math.radians(rest))
                 + SimilarityTransform(translation=(centre, centre)))
    # Every sample lies inside the source's pixel centres; `mode` only feeds the spline's support.
    out = warp(turned, to_source, order=INTERPOLATION_ORDER, mode="edge", clip=True,
               preserve_range=True)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class CropRotate(Operation):
    """Augmentor operation: rotate by an angle drawn uniformly in [-max_degrees, max_degrees]
    from the global Python `random` (seeded per copy by `augment.augment_image`)."""

    def __init__(self, probability, max_degrees):
        Operation.__init__(self, probability)
        self.max_degrees = max_degrees

    def perform_operation(self, images):
        """Rotate every PIL image of the list by one drawn angle (Augmentor's operation API)."""
        angle = random.uniform(-self.max_degrees, self.max_degrees)
        return [Image.fromarray(rotate_crop(np.asarray(img), angle)) for img in images]
