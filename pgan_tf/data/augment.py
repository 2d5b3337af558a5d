"""Offline pre-augmentation of the GAN training split (paper §3.1), without any fill colour.

Paper §3.1: "We utilize rotation (in the range of [-90°, 90°]), horizontal and vertical flipping,
scale and skew. A python package named Augmentor was used." The paper gives no probabilities,
magnitudes or number of copies; ours are the `AugmentationSpec` defaults below and
`PAPER_COPIES_PER_IMAGE`, recorded in dataset.json and explained in docs/data_recipe.md.

Fill rule: every output pixel comes from the source image, so the GAN never sees (and never learns
to draw) a colour the photograph does not have:
* rotation at true geometry (`crop_rotate.py`): exact quarter turns, then the rest of the angle
  (at most ±45°) with a crop that stays inside the rotated source, replacing Augmentor's
  `rotate_without_crop`, which fills the uncovered corners black (and its `rotate`, which crops,
  refuses angles above 25°, an Augmentor 0.2.12 limit). Datasets prepared before their
  dataset.json named a `rotation_rule` reflected the image at its borders instead
  (`rotation_rule` names them);
* skew: Augmentor `skew` only ever moves corners *outward* (every TILT and CORNER variant), so the
  output frame lies inside the warped source: nothing is uncovered;
* zoom: Augmentor `zoom` enlarges by a factor >= 1 (validated) and center-crops back;
* flips only permute pixels.
Interpolation (bicubic in Augmentor's skew and zoom) can ring slightly past the source's range at
sharp edges; it never produces a fill colour. tests/test_augment.py checks all of it at the
extreme magnitudes.

Augmentor quirks handled here (docs/design.md#augmentor-quirks,
docs/design.md#augmentor-with-current-pillow):
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

from pgan_tf.errors import UserError


# Copies per real image for the paper recipe (`--augment_per_image`; the paper does not say): 3
# quadruples ISIC's 9,514 training images to 38,056 records (about 10 GB of TFRecords at 256x256
# with all levels), so over the 8M images shown each record is seen ~210 times instead of ~840.
# Reasons and costs: docs/data_recipe.md.
PAPER_COPIES_PER_IMAGE = 3
MAX_SKEW_MAGNITUDE = 1.0  # Augmentor's skew accepts magnitudes in (0, 1]


@dataclasses.dataclass(frozen=True)
class AugmentationSpec:
    """The operations and their parameters, applied in this order."""
    # Paper §3.1 range [-90°, 90°]: an angle drawn uniformly, quarter turns + crop (module docstring).
    rotation_probability: float = 1.0   # always: rotation is the paper's first-named transform
    max_rotation_degrees: float = 90.0
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

    def __post_init__(self):
        for f in dataclasses.fields(self):
            if f.name.endswith("_probability") and not 0 < getattr(self, f.name) <= 1:
                raise UserError(f"augmentation {f.name}={getattr(self, f.name)}: must be in (0, 1] "
                                "(Augmentor refuses 0; use a tiny value to switch an op off)")
        if not 1.0 <= self.zoom_min_factor <= self.zoom_max_factor:
            # A factor below 1 would shrink the image and leave a black frame around it.
            raise UserError(f"augmentation zoom factors [{self.zoom_min_factor}, "
                            f"{self.zoom_max_factor}]: need 1 <= min <= max (no fill colour)")
        if not 0 < self.skew_magnitude <= MAX_SKEW_MAGNITUDE:
            raise UserError(f"augmentation skew_magnitude={self.skew_magnitude}: must be in (0, 1]")
        if not 0 <= self.max_rotation_degrees <= 180:
            raise UserError(f"augmentation max_rotation_degrees={self.max_rotation_degrees}: must be "
                            "in [0, 180]")


DEFAULT_SPEC = AugmentationSpec()


def build_pipeline(spec=DEFAULT_SPEC):
    """An Augmentor `Pipeline`: rotation (quarter turns + crop), flips, zoom, skew (paper §3.1;
    no fill colour)."""
    import Augmentor  # imported here: only the processes that augment pay for it

    from pgan_tf.data.crop_rotate import CropRotate

    pipeline = Augmentor.Pipeline()
    pipeline.add_operation(CropRotate(spec.rotation_probability, spec.max_rotation_degrees))
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


FILL_RULE = ("every output pixel comes from the source image at the place the transform maps it "
             "to: rotation turns by exact quarter turns, then rotates the rest (at most 45 degrees) "
             "with a crop inside the rotated source; skew only moves corners outward and zoom only "
             "enlarges then center-crops, so neither uncovers a pixel; flips permute pixels")
# The rule of datasets prepared before dataset.json named one: their rotation reflected the image
# at its borders (scikit-image mode="reflect"), so corners showed mirrored content.
LEGACY_ROTATION_RULE = "reflect_borders"
NO_ROTATION = "none (no augmented copies)"


def current_rotation_rule():
    """The rule `build_pipeline` rotates with (what a dataset prepared now records)."""
    from pgan_tf.data.crop_rotate import ROTATION_RULE

    return ROTATION_RULE


def rotation_rule(info):
    """The rotation rule of a prepared dataset from its dataset.json `info`: `ROTATION_RULE`,
    `LEGACY_ROTATION_RULE` for datasets prepared before the field existed, or `NO_ROTATION`."""
    augmentation = (info or {}).get("augmentation") or {}
    if augmentation.get("rotation_rule"):
        return augmentation["rotation_rule"]
    if any(op.get("op") == "rotate" for op in augmentation.get("operations") or []):
        return LEGACY_ROTATION_RULE
    return NO_ROTATION


def describe(spec, per_image):
    """The "augmentation" entry of dataset.json: operations, parameters, fill rule, libraries."""
    import Augmentor
    import skimage

    from pgan_tf.data import crop_rotate

    ops = [
        {"op": "rotate", "library": f"numpy rot90 + scikit-image {skimage.__version__} "
                                    "transform.warp",
         "probability": spec.rotation_probability,
         "angle_degrees": [-spec.max_rotation_degrees, spec.max_rotation_degrees],
         "angle_distribution": "uniform", "rule": crop_rotate.ROTATION_RULE,
         "order": crop_rotate.INTERPOLATION_ORDER,
         "fill": "none (exact quarter turns; the rest cropped inside the rotated source, zoom "
                 "|cos r| + |sin r|)"},
        {"op": "flip_left_right", "probability": spec.flip_left_right_probability, "fill": "none"},
        {"op": "flip_top_bottom", "probability": spec.flip_top_bottom_probability, "fill": "none"},
        {"op": "zoom", "probability": spec.zoom_probability, "min_factor": spec.zoom_min_factor,
         "max_factor": spec.zoom_max_factor, "fill": "none (enlarge, center crop)"},
        {"op": "skew", "probability": spec.skew_probability, "skew_type": "RANDOM",
         "magnitude": spec.skew_magnitude, "fill": "none (corners move outward only)"},
    ]
    return {"per_image": per_image,
            "rotation_rule": crop_rotate.ROTATION_RULE if per_image else NO_ROTATION,
            "library": f"Augmentor {getattr(Augmentor, '__version__', 'unknown')} (flips, zoom, "
                       f"skew), scikit-image {skimage.__version__} (rotation)",
            "applied_to": "real training-split images after crop and resize (val never)",
            "fill_rule": FILL_RULE,
            "probability_rule": "uniform(0,1) < p per operation, in order (torch_transform); "
                                "Pipeline.sample would fire with p + 0.05",
            "seeding": "Python random and np.random seeded per copy from (seed, image index, k)",
            "operations": ops if per_image else []}
