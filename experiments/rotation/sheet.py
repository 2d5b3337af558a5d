"""The sheet of augmented copies in docs/data_recipe.md (synthetic lesions, paper recipe).

    python experiments/rotation/sheet.py docs/data_recipe_copies.png

Each row: a synthetic ISIC-style image (centre crop, 96x96), its rotations by 45°, 90° and -30°
alone (quarter turns exact, the rest cropped inside the rotated source), then four copies of the
paper recipe (rotation, flips, zoom, skew) as prepare_dataset.py draws them (seed 0, copies 1-4).
"""
import sys

import numpy as np
from PIL import Image

from pgan_tf.data import augment, crop_rotate, synthetic

SIDE, GAP, ROWS = 96, 4, 3


def source_images(count, seed=1):
    """`count` synthetic images, centre-cropped square and resized to SIDE."""
    renderer = synthetic.Renderer(seed)
    out = []
    for planned in synthetic.plan_images(28, seed)[::5][:count]:  # varied classes
        image = renderer.render(planned)
        h, w = image.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = Image.fromarray(image[top:top + side, left:left + side])
        out.append(np.asarray(square.resize((SIDE, SIDE), Image.Resampling.LANCZOS)))
    return out


def main(path):
    transform = augment.build_pipeline(augment.DEFAULT_SPEC).torch_transform()
    rows = []
    for index, image in enumerate(source_images(ROWS)):
        tiles = [image] + [crop_rotate.rotate_crop(image, a) for a in (45, 90, -30)]
        tiles += [augment.augment_image(image, transform, 0, index, k) for k in range(1, 5)]
        rows.append(tiles)
    width = len(rows[0]) * (SIDE + GAP) - GAP
    sheet = np.full((ROWS * (SIDE + GAP) - GAP, width, 3), 255, np.uint8)
    for r, tiles in enumerate(rows):
        for c, tile in enumerate(tiles):
            sheet[r * (SIDE + GAP):r * (SIDE + GAP) + SIDE,
                  c * (SIDE + GAP):c * (SIDE + GAP) + SIDE] = tile
    # 128 colours: a small file for the docs (the tiles are smooth synthetic skin).
    Image.fromarray(sheet).quantize(128).save(path, optimize=True)


if __name__ == "__main__":
    main(sys.argv[1])
