"""Offline Augmentor pre-augmentation of the GAN training split (paper §3.1).

Paper §3.1: "We utilize rotation (in the range of [-90°, 90°]), horizontal and vertical flipping,
scale and skew. A python package named Augmentor was used." The paper gives no probabilities or
magnitudes; ours are the `AugmentationSpec` defaults below, recorded in dataset.json.

Augmentor quirks handled here (REFERENCE §12.3-12.4):
* `rotate` refuses angles above 25°, so the [-90°, 90°] range needs `rotate_without_crop` with
  `expand=False` (same size; the uncovered corners are filled black, Augmentor's default).
* `Pipeline.sample`/`_execute` fire an operation when `round(uniform(0, 1), 1) <= p`, i.e. with
  probability p + 0.05 (0.5 → 0.55). We run the operations through Augmentor's public per-image
  callable `Pipeline.torch_transform()`, whose test is a plain `uniform(0, 1) < p`, so the
  probabilities written below and in dataset.json are the real ones.
* Augmentor draws from the global Python `random` (and `np.random` in a few ops); we seed both from
  (seed, image index, copy k) before every augmented sample, so each copy is reproducible and
  independent of worker scheduling, and restore the caller's global RNG states afterwards.
"""
import dataclasses
import random
import warnings

import numpy as np
from PIL import Image


@dataclasses.dataclass(frozen=True)
class AugmentationSpec:
    """Augmentor operations and their parameters, applied in this order."""
    # Paper §3.1 range [-90°, 90°]; Augmentor draws an integer angle, left or right with p = 1/2.
    rotation_probability: float = 1.0   # always: rotation is the paper's first-named transform
    max_rotation_degrees: int = 90
    # A fair coin for each mirror axis (lesions have no preferred orientation).
    flip_left_right_probability: float = 0.5
    flip_top_bottom_probability: float = 0.5
    # "scale": Augmentor `zoom` enlarges by a factor in [min, max] and center-crops back to size, so
    # the image stays square; at most 1.2 keeps most of a lesion's border in view.
    zoom_probability: float = 0.5
    zoom_min_factor: float = 1.0
    zoom_max_factor: float = 1.2
    # "skew": Augmentor `skew` (random tilt or corner), corners moved by up to 20% of the side.
    skew_probability: float = 0.5
    skew_magnitude: float = 0.2


DEFAULT_SPEC = AugmentationSpec()


def build_pipeline(spec=DEFAULT_SPEC):
    """An Augmentor `Pipeline` with the paper's operations (rotation, flips, zoom, skew)."""
    import Augmentor  # imported here: only the processes that augment pay for it

    pipeline = Augmentor.Pipeline()
    pipeline.rotate_without_crop(spec.rotation_probability, spec.max_rotation_degrees,
                                 spec.max_rotation_degrees, expand=False)
    pipeline.flip_left_right(spec.flip_left_right_probability)
    pipeline.flip_top_bottom(spec.flip_top_bottom_probability)
    pipeline.zoom(spec.zoom_probability, spec.zoom_min_factor, spec.zoom_max_factor)
    pipeline.skew(spec.skew_probability, spec.skew_magnitude)
    return pipeline


def sample_seed(seed, index, k):
    """The 32-bit seed of augmented copy `k` of source image `index` under the dataset `seed`."""
    return int(np.random.SeedSequence([seed, index, k]).generate_state(1)[0])


def augment_image(image, transform, seed, index, k):
    """Augmented copy `k` of `image` (uint8 [R, R, 3]) → uint8 [R, R, 3], deterministic in
    (seed, index, k). `transform` is `build_pipeline(...).torch_transform()`."""
    saved_random, saved_np = random.getstate(), np.random.get_state()
    try:
        s = sample_seed(seed, index, k)
        random.seed(s)
        np.random.seed(s)
        with warnings.catch_warnings():  # Augmentor's skew still builds an np.matrix
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            out = transform(Image.fromarray(image))
    finally:
        random.setstate(saved_random)
        np.random.set_state(saved_np)
    out = np.asarray(out.convert("RGB"), dtype=np.uint8)
    if out.shape != image.shape:  # every op above keeps the size; a change would be a bug
        raise RuntimeError(f"augmentation changed the image shape {image.shape} → {out.shape}")
    return out


def describe(spec, per_image):
    """The "augmentation" entry of dataset.json."""
    import Augmentor

    ops = [
        {"op": "rotate_without_crop", "probability": spec.rotation_probability,
         "max_left_rotation": spec.max_rotation_degrees,
         "max_right_rotation": spec.max_rotation_degrees, "expand": False, "fill": "black"},
        {"op": "flip_left_right", "probability": spec.flip_left_right_probability},
        {"op": "flip_top_bottom", "probability": spec.flip_top_bottom_probability},
        {"op": "zoom", "probability": spec.zoom_probability, "min_factor": spec.zoom_min_factor,
         "max_factor": spec.zoom_max_factor},
        {"op": "skew", "probability": spec.skew_probability, "skew_type": "RANDOM",
         "magnitude": spec.skew_magnitude},
    ]
    return {"per_image": per_image,
            "library": f"Augmentor {getattr(Augmentor, '__version__', 'unknown')}",
            "applied_to": "real training-split images after crop and resize (val never)",
            "probability_rule": "uniform(0,1) < p per operation, in order (torch_transform); "
                                "Pipeline.sample would fire with p + 0.05",
            "seeding": "Python random and np.random seeded per copy from (seed, image index, k)",
            "operations": ops if per_image else []}
