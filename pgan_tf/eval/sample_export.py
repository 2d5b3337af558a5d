"""Export class-conditional samples of a run's EMA generator as image files.

Layout of OUT: `OUT/<CLASS>/<run>-<kimg>-<seed>-<index>.png` (kimg = images seen // 1000, 6 digits;
index 6 digits), `OUT/labels.csv` (`image,<run classes>`, `image` = path relative to OUT without
extension, one-hot `1.0`/`0.0`, the ISIC ground-truth format that `pgan-prepare --extra_train`
reads), `OUT/manifest.json`, `OUT/MODEL_CARD.md` (`pgan_tf.model_card`) and, with `grid`,
`OUT/grid.png` (one row per class, its name in the left margin, in the manifest's class order).

Latents: image i of class c (c = the class's index in the run) uses row i of the N(0, 1) stream of
`np.random.RandomState(SeedSequence([seed, c]))`. A class's images therefore do not depend on which
other classes are exported, and exporting more images per class keeps the earlier ones (a prefix).

Everything is written into a temporary folder beside OUT and renamed into place at the end, so OUT
is either complete or absent. Validation (`validate_export`) reads JSON only, so a tool can check
its flags before TensorFlow is loaded.
"""
import contextlib
import csv
import dataclasses
import hashlib
import io
import json
import os
import sys
from typing import Optional

import numpy as np

from pgan_tf import disk, fileio, model_card, output_guard, sampling
from pgan_tf.config_fields import SEED_RANGE, field
from pgan_tf.dirlock import DirLock
from pgan_tf.errors import UserError
from pgan_tf.eval import image_sets

FORMATS = ("png", "jpg")
JPEG_QUALITY = 95          # Pillow quality for --format jpg (visually lossless for lesions)
GRID_COLUMNS = 8           # images per class row of grid.png
LABELS_CSV = "labels.csv"
MANIFEST = "manifest.json"
GRID_PNG = "grid.png"
CONFIG_JSON = "config.json"
DEFAULT_BATCH_SIZE = 64    # images per generator call (memory only)
ONE, ZERO = "1.0", "0.0"   # ISIC ground-truth cell values (docs/design.md#isic-2018-files)


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    """What to export; exactly one of `num_per_class` and `balance_to`."""

    run_dir: str = field(dataclasses.MISSING, "Run directory of pgan-train (holds config.json).")
    output_dir: str = field(dataclasses.MISSING, "Output folder (must not exist unless "
                            "--overwrite).")
    num_per_class: Optional[int] = field(None, "Images per class (exclusive with --balance_to).",
                                         kind="int", above=0)
    # top each class up to this many, counting real train images
    balance_to: Optional[int] = field(
        None, "Top every class up to M images counting the real training images of the run's "
        "dataset: exports max(0, M - real count) per class.", kind="int", above=0)
    classes: tuple = field((), "Classes to export (default: all of the run's).")
    checkpoint: str = field("latest", "'latest' or the kimg of a checkpoint.")
    seed: int = field(0, "Latent seed (per class c, image i: row i of the stream of "
                      "SeedSequence([seed, c])).", **SEED_RANGE)
    image_format: str = field("png", "Image file format.", flag="format", enum=FORMATS)
    grid: bool = field(False, "Also write OUT/grid.png (one row per class).")
    overwrite: bool = field(False, "Replace an existing --output_dir.")
    batch_size: int = field(DEFAULT_BATCH_SIZE, "Images per generator call (memory only).", lo=1)
    progress: bool = field(True, "Show a progress bar.")


def read_run(run_dir, flag="--run_dir"):
    """The run's saved config.json dict; UserError when `run_dir` is not a pgan_tf run."""
    path = os.path.join(run_dir, CONFIG_JSON)
    if not fileio.isfile(path):
        raise UserError(f"{flag}={run_dir} is not a pgan_tf run (no config.json)")
    saved = fileio.read_json(path, f"restore it from a copy of the run, or check {flag}")
    if not isinstance(saved, dict) or "config" not in saved:
        raise UserError(f"{flag}={run_dir} is not a pgan_tf run (config.json has no 'config')")
    return saved


def config_sha256(saved):
    """sha256 of the run's config dict as canonical JSON (sorted keys): identifies the recipe."""
    return hashlib.sha256(json.dumps(saved["config"], sort_keys=True).encode()).hexdigest()


def check_classes(requested, run_classes, flag="--classes"):
    """`requested` (empty = all) as a list in the run's order; UserError for unknown names."""
    unknown = [c for c in requested if c not in run_classes]
    if unknown:
        raise UserError(f"{flag}: {','.join(unknown)} not in the run's classes "
                        f"{','.join(run_classes)}")
    return [c for c in run_classes if not requested or c in requested]


def check_output_dir(path, overwrite, flag="--output_dir", inputs=()):
    """Refuse an existing non-empty `path` unless `overwrite`, and any `path` that replacing
    would destroy an input (`inputs`: [(flag, path)]) or a run (`output_guard`). Touches nothing."""
    output_guard.check_output(path, inputs, flag)
    if fileio.isfile(path):
        raise UserError(f"{flag}={path} is a file; choose a folder path")
    if fileio.isdir(path) and fileio.listdir(path) and not overwrite:
        raise UserError(f"{flag}={path} already exists; pass --overwrite to replace it")


def validate_export(config):
    """Check everything checkable without TensorFlow; returns the run's config.json dict."""
    saved = read_run(config.run_dir)
    if (config.num_per_class is None) == (config.balance_to is None):
        raise UserError("give exactly one of --num_per_class and --balance_to")
    for name in ("num_per_class", "balance_to"):
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise UserError(f"--{name} must be > 0, got {value}")
    if config.image_format not in FORMATS:
        raise UserError(f"--format={config.image_format}: use one of {', '.join(FORMATS)}")
    if not 0 <= config.seed <= sampling.MAX_SEED:
        raise UserError(f"--seed must be in [0, {sampling.MAX_SEED}], got {config.seed}")
    if config.batch_size < 1:
        raise UserError(f"batch size must be >= 1, got {config.batch_size}")
    check_classes(config.classes, list(saved.get("classes", [])))
    check_output_dir(config.output_dir, config.overwrite, inputs=[
        ("--run_dir", config.run_dir),
        ("the run's data_dir", saved["config"].get("data_dir") or None)])
    return saved


def plan_counts(config, saved):
    """{class: images to export} and the real training counts used (None without balance_to)."""
    classes = check_classes(config.classes, list(saved.get("classes", [])))
    if config.balance_to is None:
        return {c: config.num_per_class for c in classes}, None
    data_dir = saved["config"].get("data_dir", "")
    root, info = image_sets.find_dataset_root(data_dir) if os.path.isdir(data_dir) else (None, None)
    if root is None:
        raise UserError(f"--balance_to needs the run's prepared dataset, but its data_dir "
                        f"{data_dir!r} (config.json) has no dataset.json")
    real = image_sets.real_train_counts(root, info)
    return {c: max(0, config.balance_to - real.get(c, 0)) for c in classes}, real


def class_latents(seed, class_index, count, latent_size):
    """[count, latent_size] float32: rows 0..count-1 of class `class_index`'s N(0, 1) stream."""
    entropy = np.random.SeedSequence([seed, class_index]).generate_state(1)[0]
    return np.random.RandomState(entropy).standard_normal([count, latent_size]).astype(np.float32)


def render(run_generator, latents, class_index, batch_size=DEFAULT_BATCH_SIZE):
    """uint8 [N, R, R, C] images of class `class_index` from latents [N, latent_size]."""
    labels = sampling.one_hot(np.full(len(latents), class_index), run_generator.config.num_classes)
    return sampling.to_uint8(run_generator(latents, labels, batch_size=batch_size))


def generate_class(run_generator, class_index, count, seed, batch_size=DEFAULT_BATCH_SIZE):
    """uint8 [count, R, R, C]: images 0..count-1 of one class (`class_latents` rows)."""
    latents = class_latents(seed, class_index, count, run_generator.config.latent_size)
    return render(run_generator, latents, class_index, batch_size)


def run_source(run_generator, seed, batch_size=64):
    """fake_source of a RunGenerator: class c's j-th request = the export's image j of class c."""
    def source(labels):
        labels = np.asarray(labels)
        out = None
        for c in np.unique(labels):
            where = np.flatnonzero(labels == c)
            images = generate_class(run_generator, int(c), len(where), seed, batch_size)
            if out is None:
                out = np.empty((len(labels),) + images.shape[1:], np.uint8)
            out[where] = images
        return out
    return source


def at_checkpoint(run_generator, images_seen, path):
    """The same RunGenerator with the weights and stage of another checkpoint of its run; None
    (with a warning) when that checkpoint no longer restores (rotated away by a live trainer,
    damaged, another architecture): a reader skips it."""
    if path == run_generator.checkpoint:
        return run_generator
    from pgan_tf.training.builders import schedule_params
    from pgan_tf.training.generator import restore_weights
    from pgan_tf.training.schedule import stage_at

    problem = restore_weights(run_generator.model, path)
    if problem:
        print(f"warning: checkpoint {path} cannot be restored any more ({problem}); skipped",
              file=sys.stderr, flush=True)
        return None
    # Stage of the last step before the snapshot, as generator.restore_run_generator.
    stage = stage_at(max(images_seen - 1, 0), schedule_params(run_generator.config))
    return dataclasses.replace(run_generator, checkpoint=path, images_seen=images_seen,
                               stage_resolution=stage.resolution, alpha=stage.alpha)


def file_stem(run_dir, images_seen, seed, index):
    """`<run>-<kimg:06d>-<seed>-<index:06d>` (run = the run folder's name)."""
    run_name = os.path.basename(os.path.normpath(fileio.abspath(run_dir)))
    return f"{run_name}-{images_seen // 1000:06d}-{seed}-{index:06d}"


def export_samples(config, run_generator=None):
    """Write the export described by `config` (see module docstring); returns the manifest dict.

    `run_generator`: an already restored `RunGenerator` (default: restored from the run).
    """
    from tqdm import tqdm

    saved = validate_export(config)
    counts, real_counts = plan_counts(config, saved)
    if run_generator is None:
        from pgan_tf.training.generator import restore_run_generator

        run_generator = restore_run_generator(config.run_dir, config.checkpoint)
    run_classes = list(saved["classes"])
    rows, grid_cells = [], {}
    with disk.writing("the export", config.output_dir, point="export",
                      kept="an earlier export there is intact"), \
            staged_output(config.output_dir, config.overwrite) as tmp, tqdm(
            total=sum(counts.values()), desc="export", unit="img", disable=not config.progress,
            mininterval=0.5) as bar:
        for name, count in counts.items():
            index = run_classes.index(name)
            fileio.makedirs(os.path.join(tmp, name))
            latents = class_latents(config.seed, index, count, run_generator.config.latent_size)
            for start in range(0, count, config.batch_size):
                stop = min(start + config.batch_size, count)
                images = render(run_generator, latents[start:stop], index, config.batch_size)
                for i, image in zip(range(start, stop), images):
                    stem = file_stem(config.run_dir, run_generator.images_seen, config.seed, i)
                    rel = f"{name}/{stem}"
                    _save_image(os.path.join(tmp, rel + "." + config.image_format), image)
                    rows.append([rel] + [ONE if c == name else ZERO for c in run_classes])
                grid_cells.setdefault(name, images[:GRID_COLUMNS])
                bar.update(stop - start)
        _write_labels_csv(os.path.join(tmp, LABELS_CSV), run_classes, rows)
        manifest = _manifest(config, saved, run_generator, counts, real_counts)
        fileio.write_json(os.path.join(tmp, MANIFEST), manifest)
        model_card.write_model_card(tmp, config.run_dir, run_generator.images_seen,
                                    stage_resolution=run_generator.stage_resolution, what="samples")
        if config.grid and rows:
            _write_grid(os.path.join(tmp, GRID_PNG), grid_cells, counts, run_generator)
    return manifest


def _manifest(config, saved, run_generator, counts, real_counts):
    from pgan_tf.training.run_dir import provenance

    return {
        "run_dir": fileio.abspath(config.run_dir),
        "generator": "G_ema (exponential moving average of G, docs/design.md#generator-ema)",
        "checkpoint": run_generator.checkpoint,
        "images_seen": run_generator.images_seen,
        "kimg": run_generator.images_seen / 1000,
        "resolution": run_generator.config.resolution,
        "stage_resolution": run_generator.stage_resolution,
        "alpha": run_generator.alpha,
        "upsampled": run_generator.upsampled,
        "seed": config.seed,
        "latents": "image i of class c: row i of np.random.RandomState(SeedSequence([seed, c]))"
                   ".standard_normal, c = index of the class in 'classes'",
        "classes": list(saved["classes"]),
        "counts": counts,
        "num_images": int(sum(counts.values())),
        "num_per_class": config.num_per_class,
        "balance_to": config.balance_to,
        "real_train_counts": real_counts,
        "format": config.image_format,
        "config_sha256": config_sha256(saved),
        "dataset_sha256": saved.get("dataset_sha256"),
        "run_provenance": saved.get("provenance"),
        "provenance": provenance(),
    }


def _save_image(path, image):
    """uint8 [R, R, C] -> PNG or JPEG (by extension) inside the staging folder."""
    image = image[..., 0] if image.shape[-1] == 1 else image
    jpeg = path.endswith(".jpg")
    fileio.write_bytes(path, sampling.encode_image(
        image, "JPEG" if jpeg else "PNG", **({"quality": JPEG_QUALITY} if jpeg else {})))


def _write_labels_csv(path, classes, rows):
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["image"] + list(classes))
    writer.writerows(rows)
    fileio.write_bytes(path, text.getvalue().encode("utf-8"))


def _write_grid(path, cells, counts, run_generator):
    """One row per exported class, in the run's class order (manifest `classes`), named in the
    left margin; its first GRID_COLUMNS images (black where it has fewer)."""
    classes = [c for c in run_generator.class_names if c in counts]
    cols = max(1, min(GRID_COLUMNS, max(counts.values())))
    res, channels = run_generator.config.resolution, run_generator.config.num_channels
    tiles = np.zeros((len(classes) * cols, res, res, channels), np.uint8)  # row-major cells
    for row, name in enumerate(classes):
        images = cells.get(name, tiles[:0])[:cols]
        tiles[row * cols:row * cols + len(images)] = images
    sampling.save_png(path, sampling.labelled_grid(tiles, len(classes), cols, classes))


@contextlib.contextmanager
def staged_output(path, overwrite):
    """A temp folder beside `path`, swapped in for `path` on success and removed on failure
    (`fileio.staged_dir`). An existing `path` is replaced only when `overwrite` (checked again
    here, under the lock). A writer lock `.<name>.lock` beside `path` (`dirlock`) is held
    meanwhile: a second export into the same folder refuses in one line naming the first."""
    path = fileio.abspath(path).rstrip("/")
    parent, name = os.path.split(path)
    fileio.makedirs(parent)
    lock = DirLock(os.path.join(parent, f".{name}.lock"), "export", target=path)
    lock.acquire()
    try:
        check_output_dir(path, overwrite)
        with fileio.staged_dir(path) as tmp:
            yield tmp
    finally:
        lock.release()
