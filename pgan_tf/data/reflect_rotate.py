"""Rotation without a fill colour: the paper's [-90°, 90°] rotation (§3.1) as an Augmentor operation.

Augmentor's `rotate_without_crop(expand=False)` fills the corners that the rotated square no longer
covers with black, so nearly every copy carries black wedges the GAN would learn to draw; its
`rotate` crops instead but refuses angles above 25° (REFERENCE §12.4). Here scikit-image rotates
with `mode="reflect"`: an uncovered corner shows the image mirrored at its border, so every output
pixel is interpolated from source pixels. Cubic-spline interpolation (order 3, the sharpness of
Augmentor's bicubic) with `clip=True` keeps every value inside the source's range.

NumPy/PIL/scikit-image/Augmentor only: it runs in the `prepare.py` worker processes.
"""
import random

import numpy as np
from Augmentor.Operations import Operation
from PIL import Image

INTERPOLATION_ORDER = 3   # cubic spline (skimage order 3) ~ Augmentor's PIL BICUBIC rotation
BORDER_MODE = "reflect"   # numpy 'reflect' padding: d c b | a b c d | c b a (edge not repeated)


def rotate_reflect(image, angle):
    """uint8 [H, W, C] rotated `angle` degrees counter-clockwise about its centre → uint8 [H, W, C].

    Same size; corners are filled by reflecting the image at its borders (module docstring).
    At ±90° a square image maps onto the pixel grid exactly (`np.rot90`).
    """
    from skimage.transform import rotate  # only augmenting processes pay for scikit-image

    out = rotate(image, angle, resize=False, mode=BORDER_MODE, order=INTERPOLATION_ORDER,
                 clip=True, preserve_range=True)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class ReflectRotate(Operation):
    """Augmentor operation: rotate by an angle drawn uniformly in [-max_degrees, max_degrees]
    from the global Python `random` (seeded per copy by `augment.augment_image`)."""

    def __init__(self, probability, max_degrees):
        Operation.__init__(self, probability)
        self.max_degrees = max_degrees

    def perform_operation(self, images):
        """Rotate every PIL image of the list by one drawn angle (Augmentor's operation API)."""
        angle = random.uniform(-self.max_degrees, self.max_degrees)
        return [Image.fromarray(rotate_reflect(np.asarray(img), angle)) for img in images]
