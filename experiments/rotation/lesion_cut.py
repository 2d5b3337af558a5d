"""How often a centred lesion leaves the frame of an augmented copy, old rule against new.

    python experiments/rotation/lesion_cut.py [--copies 2000] [--side 128]

A lesion is a centred disk of radius 0.4·side. New rule (quarter turns, then the rest of the angle
cropped inside the rotated source): the share of copies in which the disk touches the border
(cut), through the real pipeline (rotation alone, and all operations of the paper recipe). A
cut is a rim: the rotation's zoom z = |cos r| + |sin r| <= √2 puts the disk's edge at most
(0.4 z - 0.5)·side = 0.066·side beyond the border. Old rule (reflected borders): the share of a copy's pixels
whose source lies outside the image (mirrored content) and the share of copies in which the disk's
mirror image shows in a corner, from the geometry (a pixel at output position u comes from
R(θ)u). Angles uniform in [-90°, 90°], as the recipe draws them.
"""
import argparse
import json
import sys

import numpy as np

from pgan_tf.data import augment

OFF = 1e-12  # Augmentor refuses probability 0


def disk(side, radius_share=0.4):
    y, x = np.mgrid[0:side, 0:side] - (side - 1) / 2.0
    return (np.hypot(x, y) <= radius_share * side)


def new_rule(spec, copies, side):
    """Share of copies whose lesion touches the border."""
    mask = disk(side)
    image = np.repeat((mask * 255).astype(np.uint8)[..., None], 3, axis=-1)
    t = augment.build_pipeline(spec).torch_transform()
    cut = 0
    for i in range(copies):
        out = augment.augment_image(image, t, 0, i, 1)[..., 0] > 127
        border = np.concatenate([out[0], out[-1], out[:, 0], out[:, -1]])
        cut += bool(border.any())
    return cut / copies


def old_rule(copies, side, seed=0):
    """(mean share of mirrored pixels, share of copies showing a mirrored piece of the lesion)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side] - (side - 1) / 2.0
    half = (side - 1) / 2.0
    radius = 0.4 * side
    mirrored, shows = [], 0
    for angle in rng.uniform(-90, 90, copies):
        a = np.radians(angle)
        sx = np.cos(a) * x - np.sin(a) * y
        sy = np.sin(a) * x + np.cos(a) * y
        outside = (np.abs(sx) > half + 0.5) | (np.abs(sy) > half + 0.5)
        mirrored.append(outside.mean())
        # numpy 'reflect' about the border pixel centres: fold each coordinate back inside.
        fx = np.where(np.abs(sx) > half, np.sign(sx) * (2 * half - np.abs(sx)), sx)
        fy = np.where(np.abs(sy) > half, np.sign(sy) * (2 * half - np.abs(sy)), sy)
        shows += bool((outside & (np.hypot(fx, fy) <= radius)).any())
    return float(np.mean(mirrored)), shows / copies


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=2000)
    parser.add_argument("--side", type=int, default=128)
    args = parser.parse_args(argv)
    rotation_only = augment.AugmentationSpec(flip_left_right_probability=OFF,
                                             flip_top_bottom_probability=OFF,
                                             zoom_probability=OFF, skew_probability=OFF)
    result = {"copies": args.copies, "side": args.side, "lesion_radius": "0.4 side"}
    result["new_rotation_only_cut"] = new_rule(rotation_only, args.copies, args.side)
    result["new_paper_recipe_cut"] = new_rule(augment.DEFAULT_SPEC, args.copies, args.side)
    result["old_mirrored_pixels"], result["old_lesion_mirrored"] = old_rule(args.copies, args.side)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
