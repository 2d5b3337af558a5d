"""A synthetic dataset in the exact ISIC 2018 Task 3 layout (docs/design.md#isic-2018-files): the
embedded default for the demo and the tests, so the project runs without the real download.

    DIR/ISIC2018_Task3_Training_Input/ISIC_<7 digits>.jpg           600x450 RGB JPEG
    DIR/ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv
        image,MEL,NV,BCC,AKIEC,BKL,DF,VASC  with one-hot 1.0/0.0
    DIR/ISIC2018_Task3_Training_LesionGroupings.csv   image,lesion_id  (some lesions: 2-3 images)
    DIR/PGAN_TF_SYNTHETIC.json   says the set is synthetic (generator, seed, count), so that
                                 `pgan-prepare` and model cards never call it ISIC data

Class counts follow ISIC 2018 (docs/design.md#isic-2018-class-counts; N = 10,015 reproduces them
exactly) with at least `MIN_IMAGES_PER_CLASS` images and `MIN_LESIONS_PER_CLASS` lesions per class.
Each class has its own lesion look, chosen so a small CNN can tell them apart at 32x32:
colour/darkness, shape (round, elongated, irregular, ring, several blobs), border sharpness and
texture (dots, network, vessels, stripes), on a skin-toned, vignetted, noisy background with random
position, size and rotation. Images of one lesion are near-duplicates (same lesion, slightly
shifted/rotated/scaled/relit).

Drawing is vectorised NumPy at 1/`WORK_SCALE` of the output size, upsampled with PIL, plus
full-resolution grain from a per-run noise tile. Deterministic for a seed.
"""
import csv
import dataclasses
import os

import numpy as np
from PIL import Image

from pgan_tf import fileio, output_guard
from pgan_tf.data.sources import ISIC_CLASSES, SYNTHETIC_MARKER
from pgan_tf.errors import UserError

# ISIC 2018 Task 3 training counts (docs/design.md#isic-2018-class-counts), in the CSV column order.
ISIC_COUNTS = {"MEL": 1113, "NV": 6705, "BCC": 514, "AKIEC": 327, "BKL": 1099, "DF": 115,
               "VASC": 142}
WIDTH, HEIGHT = 600, 450          # HAM10000 / ISIC 2018 image size (docs/design.md#isic-2018-files)
WORK_SCALE = 3                    # draw at 200x150, upsample 3x: smooth shapes, 9x less work
FIRST_IMAGE_NUMBER = 24306        # ISIC 2018 training ids start at ISIC_0024306
MIN_IMAGES_PER_CLASS = 4          # so even N = 60 has train and val images of every class
MIN_LESIONS_PER_CLASS = 3         # so a lesion-grouped split can keep each class in train
# Images per lesion: HAM10000 has 10,015 images of 7,470 lesions
# (docs/design.md#isic-2018-class-counts), ≈ 1.34 each.
LESION_SIZE_PROBS = {1: 0.75, 2: 0.16, 3: 0.09}
JPEG_QUALITY = 90
GRAIN_SIGMA = 4.0                 # full-resolution sensor-like noise, in 0..255 units
INPUT_DIR = "ISIC2018_Task3_Training_Input"
GROUND_TRUTH_DIR = "ISIC2018_Task3_Training_GroundTruth"
GROUND_TRUTH_CSV = "ISIC2018_Task3_Training_GroundTruth.csv"
GROUPINGS_CSV = "ISIC2018_Task3_Training_LesionGroupings.csv"


@dataclasses.dataclass(frozen=True)
class Style:
    """How one class looks. Colours are RGB in [0, 1]; sizes are in units of the crop side."""
    color: tuple
    accent: tuple          # texture colour
    texture: str           # "mottle", "network", "vessels", "scale", "stripes", "ring", "lacunae"
    shape: str             # "lobed" (irregular closed curve), "blobs" (several round lobules)
    radius: tuple          # (min, max) lesion radius
    aspect: tuple          # (min, max) length/width ratio
    irregularity: float    # amplitude of the border harmonics
    softness: float        # border ramp width, in lesion radii (small = sharp)


STYLES = {
    # Melanoma: very dark, irregular multi-lobed outline, black dots + blue-grey veil.
    "MEL": Style((0.24, 0.14, 0.11), (0.42, 0.44, 0.55), "mottle", "lobed", (0.24, 0.38),
                 (1.0, 1.4), 0.16, 0.05),
    # Nevus: medium brown, round/oval and symmetric, soft border, darker pigment network.
    "NV": Style((0.56, 0.37, 0.25), (0.36, 0.22, 0.14), "network", "lobed", (0.20, 0.34),
                (1.0, 1.3), 0.03, 0.10),
    # Basal cell carcinoma: pale pearly pink, low contrast, branching red vessels.
    "BCC": Style((0.90, 0.64, 0.64), (0.72, 0.08, 0.14), "vessels", "lobed", (0.22, 0.34),
                 (1.0, 1.5), 0.06, 0.18),
    # Actinic keratosis / Bowen: red-orange, fuzzy irregular border, white scale dots.
    "AKIEC": Style((0.80, 0.38, 0.30), (0.98, 0.96, 0.92), "scale", "lobed", (0.24, 0.38),
                   (1.0, 1.4), 0.10, 0.35),
    # Benign keratosis: tan/yellow-brown, elongated, sharp "stuck-on" border, cerebriform stripes.
    "BKL": Style((0.74, 0.58, 0.34), (0.50, 0.36, 0.18), "stripes", "lobed", (0.20, 0.30),
                 (1.8, 2.6), 0.04, 0.03),
    # Dermatofibroma: small light-brown ring around a white central scar.
    "DF": Style((0.55, 0.37, 0.27), (0.97, 0.94, 0.90), "ring", "lobed", (0.12, 0.20),
                (1.0, 1.2), 0.04, 0.20),
    # Vascular: saturated red/purple round lobules with dark lacunae.
    "VASC": Style((0.66, 0.10, 0.30), (0.36, 0.03, 0.16), "lacunae", "blobs", (0.20, 0.30),
                  (1.0, 1.2), 0.0, 0.05),
}


@dataclasses.dataclass(frozen=True)
class PlannedImage:
    image_id: str
    label: int
    lesion_id: str
    lesion_index: int     # seeds the lesion's shape, colour and texture
    image_index: int      # seeds this view of the lesion (shift, rotation, light, grain)


def class_counts(num_images):
    """Images per class: ISIC 2018 proportions, at least MIN_IMAGES_PER_CLASS each; the largest
    class (NV) absorbs the rounding so the counts sum to `num_images`."""
    minimum = MIN_IMAGES_PER_CLASS * len(ISIC_CLASSES)
    if num_images < minimum:
        raise UserError(f"--num_images={num_images} is too small: at least {minimum} "
                        f"({MIN_IMAGES_PER_CLASS} per class)")
    total = sum(ISIC_COUNTS.values())
    counts = {c: max(MIN_IMAGES_PER_CLASS, round(num_images * ISIC_COUNTS[c] / total))
              for c in ISIC_CLASSES}
    largest = max(counts, key=counts.get)
    counts[largest] += num_images - sum(counts.values())
    return counts


def plan_images(num_images, seed):
    """The images (id, class, lesion) in id order; lesions get 1-3 images each."""
    rng = np.random.default_rng([seed, 0])
    sizes_p = np.array(list(LESION_SIZE_PROBS.values()))
    entries = []  # (label, lesion number)
    lesion = 0
    for label, (name, count) in enumerate(class_counts(num_images).items()):
        sizes = []
        while sum(sizes) < count:
            sizes.append(min(int(rng.choice(list(LESION_SIZE_PROBS), p=sizes_p)),
                             count - sum(sizes)))
        while len(sizes) < MIN_LESIONS_PER_CLASS:  # split the largest lesion until there are 3
            big = sizes.index(max(sizes))
            sizes[big] -= 1
            sizes.append(1)
        for size in sizes:
            entries += [(label, lesion)] * size
            lesion += 1
    order = rng.permutation(len(entries))
    lesion_names = rng.permutation(lesion)  # lesion ids not in class order
    return [PlannedImage(image_id=f"ISIC_{FIRST_IMAGE_NUMBER + i:07d}", label=entries[j][0],
                         lesion_id=f"HAM_{lesion_names[entries[j][1]]:07d}",
                         lesion_index=entries[j][1], image_index=i)
            for i, j in enumerate(order)]


class Renderer:
    """Draws the images of one synthetic set (holds the work grid and the grain tile)."""

    def __init__(self, seed):
        self.seed = seed
        h, w = HEIGHT // WORK_SCALE, WIDTH // WORK_SCALE
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        self.ys, self.xs, self.side = ys, xs, float(min(h, w))  # side = crop side (work px)
        # Dermoscope field of view: darker towards the corners.
        r2 = ((xs - w / 2) / (w / 2)) ** 2 + ((ys - h / 2) / (h / 2)) ** 2
        self.vignette = 1 - 0.35 * np.clip(r2 - 0.6, 0, None)  # [h, w]
        tile_rng = np.random.default_rng([seed, 3])
        # [H + pad, W + pad, 3] grain; each image takes a random window of it.
        self.grain = (tile_rng.standard_normal((HEIGHT + 64, WIDTH + 64, 3), np.float32)
                      * GRAIN_SIGMA).astype(np.int16)

    def render(self, planned):
        """uint8 [HEIGHT, WIDTH, 3] image of `planned` (deterministic in seed and its indices)."""
        style = STYLES[ISIC_CLASSES[planned.label]]
        lesion = np.random.default_rng([self.seed, 1, planned.lesion_index])
        view = np.random.default_rng([self.seed, 2, planned.image_index])
        u, v = self._lesion_coords(style, lesion, view)
        skin = self._background(lesion, view)
        mask, color = _draw_lesion(style, lesion, u, v, self._smooth_field(lesion, 6))
        image = skin * (1 - mask[..., None]) + color * mask[..., None]  # [h, w, 3]
        small = Image.fromarray(np.clip(image * 255, 0, 255).astype(np.uint8))
        big = np.asarray(small.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR), np.int16)
        dy, dx = view.integers(0, 64, size=2)
        big = big + self.grain[dy:dy + HEIGHT, dx:dx + WIDTH]
        return np.clip(big, 0, 255).astype(np.uint8)

    def _lesion_coords(self, style, lesion, view):
        """Work-grid → lesion coordinates (u, v), lesion border at radius ≈ 1."""
        # Python floats (not NumPy float64 scalars) keep the float32 grids float32 (NEP 50).
        radius = _u(lesion, *style.radius) * self.side * _u(view, 0.95, 1.05)
        # Centre near the middle of the 450x450 crop; near-duplicates move by ≤ 3% of the side.
        cx = self.xs.shape[1] / 2 + (_u(lesion, -0.12, 0.12) + _u(view, -.03, .03)) * self.side
        cy = self.ys.shape[0] / 2 + (_u(lesion, -0.12, 0.12) + _u(view, -.03, .03)) * self.side
        angle = _u(lesion, 0, 2 * np.pi) + np.deg2rad(_u(view, -10, 10))
        aspect = _u(lesion, *style.aspect)
        x, y = (self.xs - cx) / radius, (self.ys - cy) / radius
        cos, sin = float(np.cos(angle)), float(np.sin(angle))
        return x * cos + y * sin, (y * cos - x * sin) * aspect  # [h, w] each

    def _background(self, lesion, view):
        """Skin tone × low-frequency mottling × dermoscope vignette → float [h, w, 3]."""
        tone = np.array([0.88, 0.69, 0.59], np.float32) + _u(lesion, -0.05, 0.05)
        tone = tone * _u(view, 0.96, 1.04)  # per-image lighting
        mottle = 1 + 0.05 * self._smooth_field(view, 5)
        return tone * (mottle * self.vignette)[..., None]  # [h, w, 3]

    def _smooth_field(self, rng, cells):
        """Smooth random field in [-1, 1] on the work grid (a cells x cells grid, upsampled)."""
        coarse = rng.uniform(0, 255, (cells, cells)).astype(np.uint8)
        h, w = self.ys.shape
        field = Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC)
        return np.asarray(field, np.float32) / 127.5 - 1


def _u(rng, low, high):
    """One uniform draw as a Python float."""
    return float(rng.uniform(low, high))


def _ramp(t):
    """Soft step: 0 for t ≤ -0.5, 1 for t ≥ 0.5, linear between."""
    return np.clip(t + 0.5, 0, 1)


def _draw_lesion(style, rng, u, v, mottle):
    """(mask [h, w] in [0, 1], colour [h, w, 3]) of one lesion in lesion coordinates (u, v)."""
    dist = np.hypot(u, v)
    if style.shape == "blobs":
        mask = np.zeros_like(u)
        for _ in range(rng.integers(3, 7)):
            bx, by, br = _u(rng, -0.6, 0.6), _u(rng, -0.6, 0.6), _u(rng, 0.35, 0.55)
            mask = np.maximum(mask, _ramp((1 - np.hypot(u - bx, v - by) / br) / style.softness))
    else:
        # Border radius 1 + Σ_k a_k cos(kφ + p_k), k = 2..6 (0 = ellipse, larger = lobed):
        # the real part of Σ c_k z^k with z = e^{iφ}, c_k = a_k e^{i p_k}, by Horner (no arctan2).
        coeffs = [style.irregularity * _u(rng, 0.3, 1) * np.exp(1j * _u(rng, 0, 6.3))
                  for _ in range(2, 7)]
        z = (u + 1j * v) / np.maximum(dist, 1e-6)  # complex64 [h, w]
        poly = np.full_like(z, coeffs[-1])
        for c in coeffs[-2::-1]:
            poly = poly * z + c
        border = 1 + (poly * z * z).real
        mask = _ramp((border - dist) / style.softness)
    base = np.array(style.color, np.float32) * _u(rng, 0.92, 1.08)
    color = base * (1 + 0.08 * mottle)[..., None]
    amount = _texture(style.texture, rng, u, v, dist)
    accent = np.array(style.accent, np.float32)
    color = color * (1 - amount[..., None]) + accent * amount[..., None]
    return mask, color


def _texture(kind, rng, u, v, dist):
    """How much of the accent colour each pixel gets ([h, w] in [0, 1])."""
    if kind == "mottle":      # MEL: blue-grey veil patch plus black dots
        bx, by = (float(b) for b in rng.uniform(-0.4, 0.4, 2))
        veil = 0.8 * _ramp((0.45 - np.hypot(u - bx, v - by)) / 0.25)
        return np.maximum(veil, _dots(rng, u, v, 14, 0.07))
    if kind == "network":     # NV: pigment network (grid of darker lines)
        f = _u(rng, 9, 13)
        lines = np.maximum(_ramp((0.25 - np.abs(np.sin(f * u))) * 4),
                           _ramp((0.25 - np.abs(np.sin(f * v))) * 4))
        return 0.6 * lines
    if kind == "vessels":     # BCC: thin curved red lines across the lesion
        out = np.zeros_like(u)
        for _ in range(rng.integers(4, 7)):
            a, off, bend = _u(rng, 0, np.pi), _u(rng, -0.6, 0.6), _u(rng, -0.8, 0.8)
            cos, sin = float(np.cos(a)), float(np.sin(a))
            along = u * cos + v * sin
            across = v * cos - u * sin - off - bend * along ** 2
            out = np.maximum(out, _ramp((0.05 - np.abs(across)) / 0.05) * (dist < 0.9))
        return out
    if kind == "scale":       # AKIEC: many small white scale dots
        return _dots(rng, u, v, 30, 0.06)
    if kind == "stripes":     # BKL: cerebriform ridges
        ridges = np.sin(_u(rng, 10, 14) * u + 1.5 * np.sin(3 * v))
        return 0.7 * _ramp((ridges - 0.4) * 2)
    if kind == "ring":        # DF: white central scar
        return _ramp((0.5 - dist) / 0.25)
    if kind == "lacunae":     # VASC: dark red lacunae
        return 0.8 * _dots(rng, u, v, 10, 0.12)
    raise ValueError(f"unknown texture {kind}")


def _dots(rng, u, v, count, size):
    """`count` round dots of radius `size` scattered inside the lesion (lesion coordinates)."""
    out = np.zeros_like(u)
    radius, angle = 0.8 * np.sqrt(rng.uniform(0, 1, count)), rng.uniform(0, 2 * np.pi, count)
    for x, y in zip((radius * np.cos(angle)).tolist(), (radius * np.sin(angle)).tolist()):
        d2 = (u - x) ** 2 + (v - y) ** 2
        out = np.maximum(out, _ramp((1 - d2 / size ** 2) * 2))
    return out


def write_synthetic_isic(output_dir, num_images, seed, overwrite=False, progress=False):
    """Write the synthetic set to `output_dir` (temp folder + rename); returns {class: count}."""
    output_guard.check_output(output_dir)  # never replaces a run or a run's own folders
    if os.path.isdir(output_dir) and os.listdir(output_dir) and not overwrite:
        raise UserError(f"--output_dir={output_dir} already holds files; pass --overwrite or "
                        "choose another folder")
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise UserError(f"--output_dir={output_dir} is a file; choose a folder")
    planned = plan_images(num_images, seed)
    with fileio.staged_dir(os.path.realpath(output_dir)) as tmp:
        _write_files(tmp, planned, seed, progress)
    return {c: sum(1 for p in planned if p.label == i) for i, c in enumerate(ISIC_CLASSES)}


def _write_files(root, planned, seed, progress):
    from tqdm import tqdm

    images = os.path.join(root, INPUT_DIR)
    os.makedirs(images)
    os.makedirs(os.path.join(root, GROUND_TRUTH_DIR))
    renderer = Renderer(seed)
    for p in tqdm(planned, desc="synthesize", unit="img", disable=not progress, mininterval=0.5):
        Image.fromarray(renderer.render(p)).save(os.path.join(images, p.image_id + ".jpg"),
                                                 quality=JPEG_QUALITY)
    with open(os.path.join(root, GROUND_TRUTH_DIR, GROUND_TRUTH_CSV), "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("image",) + ISIC_CLASSES)
        for p in planned:
            writer.writerow([p.image_id] + ["1.0" if i == p.label else "0.0"
                                            for i in range(len(ISIC_CLASSES))])
    with open(os.path.join(root, GROUPINGS_CSV), "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("image", "lesion_id"))
        writer.writerows((p.image_id, p.lesion_id) for p in planned)
    fileio.write_json(os.path.join(root, SYNTHETIC_MARKER), {
        "synthetic": True, "generator": "pgan_tf.data.synthetic (pgan-synthetic)", "seed": seed,
        "num_images": len(planned),
        "note": "drawn lesion-like shapes in the ISIC 2018 Task 3 layout; no patient images, no "
                "ISIC licence"})
