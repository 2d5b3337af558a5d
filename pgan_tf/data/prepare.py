"""Prepare a labelled image set → official-format TFRecords + dataset.json.

    OUT/train/train-r02.tfrecords ... train-rNN.tfrecords, OUT/train/train-rxx.labels
    OUT/val/val-r02.tfrecords ...,                         OUT/val/val-rxx.labels
    OUT/spare/spare-r02.tfrecords ...                      (only with --max_per_class, below)
    OUT/dataset.json

Flow: validate the config (no TensorFlow yet, so a typo fails at once) → read the source (CSV and
file checks) → lesion-grouped stratified split (or `val_from`) → plan each split's records in a
seeded shuffled order (official dataset_tool shuffles once, docs/design.md#dataset-format) →
decode, check, crop, resize, augment and build the level pyramid in `workers` spawned processes
(NumPy/PIL only) while the main process streams the records, in order, into a temp folder next to
OUT → dataset.json → rename the temp folder to OUT. On any failure the temp folder is removed: OUT
appears only complete.
"""
import collections
import dataclasses
import hashlib
import multiprocessing
import os
import sys

import numpy as np

from pgan_tf import disk, faults, fileio, output_guard
from pgan_tf.config_fields import SEED_RANGE, field
from pgan_tf.data import augment, integrity, preprocess, record_ids, sources, tfrecords
from pgan_tf.errors import UserError

DATASET_JSON = tfrecords.DATASET_JSON
# `spare`: the training split's real images that --max_per_class left out, unaugmented. Neither
# training nor evaluation reads them; a run that needs held-out reals (training/heldout.py) takes
# them from here first, so each class keeps its limited training count.
SPLITS = ("train", "val", "spare")
# Images per worker call (amortises inter-process overhead), and how many calls may be in flight
# per worker: bounds the memory held by results waiting to be written.
TASK_CHUNK = 8
PENDING_CHUNKS_PER_WORKER = 4


@dataclasses.dataclass(frozen=True)
class PrepareConfig:
    """Everything `prepare_dataset` needs; defaults follow the paper (§3.1)."""
    input_dir: str = field(dataclasses.MISSING, "Unzipped ISIC 2018 Task 3 download, or class "
                           "folders.")
    output_dir: str = field(dataclasses.MISSING, "Where OUT/train, OUT/val and dataset.json go.")
    source: str = field("isic2018", "isic2018: official layout (labels CSV); folders: one "
                        "sub-folder per class.", enum=sources.SOURCE_KINDS)
    # paper §3.1: 450x450 center crop downsampled to 256x256
    resolution: int = field(256, "Output resolution, a power of two ≥ 4 (paper: 256).", lo=4)
    # paper §3.1: 10,015 = 9,514 train + 501 validation
    val_size: int = field(501, "Validation images split off (paper: 501 of 10,015; 0 = no "
                          "val split).", lo=0)
    # paper §3.1 augments the GAN training set; K = 0 keeps it real
    augment_per_image: int = field(0, "Augmented copies per real training image (paper §3.1 "
                                   "pre-augmentation; the paper recipe uses 3, "
                                   "docs/data_recipe.md; 0 = none).", lo=0)
    # official dataset_tool shuffles with RandomState(123)
    seed: int = field(123, "Split, shuffle and augmentation seed (official: 123).", **SEED_RANGE)
    workers: int = field(1, "Worker processes.", lo=1, flag_default=os.cpu_count() or 1)
    overwrite: bool = field(False, "Replace an output folder that already holds files.")
    skip_bad: bool = field(False, "Skip unreadable images (listed in dataset.json).")
    # a separate labelled set (e.g. the ISIC 2018 Validation download)
    val_from: str = field(None, "Take val from this separate labelled set (same --source) "
                          "instead.")
    # an exported synthetic set added to train only
    extra_train: str = field(None, "Exported synthetic set (labels.csv + images) added to train "
                             "only.")
    progress: bool = field(True, "Show progress bars.")
    max_per_class: int = field(0, "Keep at most N real training images per class (seeded pick, "
                               "train split only, recorded in dataset.json; 0 = all): a "
                               "limited-data set.", lo=0)


@dataclasses.dataclass(frozen=True)
class Task:
    """One output record: `aug_k` = 0 for the image itself, k ≥ 1 for its k-th augmented copy."""
    image_id: str
    source_id: str
    path: str
    label: int
    index: int        # position of the source image in its split (seeds its augmentation)
    aug_k: int = 0
    synthetic: bool = False


def validate_config(config):
    """Cheap checks of every field (no file reading, no TensorFlow); UserError names the flag."""
    try:
        tfrecords.log2_resolution(config.resolution)
    except (ValueError, TypeError):
        raise UserError(f"--resolution={config.resolution} must be a power of two ≥ 4 (e.g. 256)")
    if config.source not in sources.SOURCE_KINDS:
        raise UserError(f"--source={config.source} is unknown; use one of "
                        f"{', '.join(sources.SOURCE_KINDS)}")
    for flag, value, low in (("val_size", config.val_size, 0), ("workers", config.workers, 1),
                             ("augment_per_image", config.augment_per_image, 0),
                             ("max_per_class", config.max_per_class, 0)):
        if value < low:
            raise UserError(f"--{flag}={value} must be ≥ {low}")
    if not 0 <= config.seed < 2 ** 32:
        raise UserError(f"--seed={config.seed} must be in [0, 2^32)")
    for flag in ("input_dir", "val_from", "extra_train"):
        path = getattr(config, flag)
        if (flag == "input_dir" or path) and not os.path.isdir(path or ""):
            raise UserError(f"--{flag}={path} is not a folder")
    if not config.output_dir:
        raise UserError("--output_dir is required")


def check_output_dir(config):
    """Refuse an OUT that holds files (unless overwrite) or that contains an input folder."""
    output_guard.check_output(config.output_dir, [
        (f"--{flag}", getattr(config, flag)) for flag in ("input_dir", "val_from", "extra_train")])
    out = os.path.realpath(config.output_dir)
    if os.path.exists(out) and not os.path.isdir(out):
        raise UserError(f"--output_dir={config.output_dir} is a file; choose a folder")
    if os.path.isdir(out) and os.listdir(out) and not config.overwrite:
        what = "a dataset" if os.path.exists(os.path.join(out, DATASET_JSON)) else "files"
        raise UserError(f"--output_dir={config.output_dir} already holds {what}; pass --overwrite "
                        "to replace it or choose another folder")


def prepare_dataset(config, spec=augment.DEFAULT_SPEC):
    """Prepare the dataset described by `config`; returns the dataset.json content."""
    validate_config(config)
    check_output_dir(config)
    classes, plan, val_origin = plan_splits(config)
    out = os.path.realpath(config.output_dir)
    kept = "the dataset already there is intact" if os.path.isdir(out) and os.listdir(out) else ""
    with disk.writing("the dataset", out, kept=kept):
        return _prepare_into(config, spec, out, classes, plan, val_origin)


def _prepare_into(config, spec, out, classes, plan, val_origin):
    """Write the splits into a temp folder next to `out`, then swap it in for `out`
    (`fileio.staged_dir`: an old dataset there is replaced only once the new one is complete)."""
    with fileio.staged_dir(out) as tmp:
        with _WorkerPool(config.workers) as pool:
            written = {name: _write_split(pool, os.path.join(tmp, name), tasks, classes, config,
                                          spec) for name, tasks in plan.items() if tasks}
        _check_train_classes(written, classes)
        info = _dataset_info(config, classes, plan, written, val_origin, spec)
        faults.writing("prepare", out)  # test-only ENOSPC, after the record files are written
        fileio.write_json(os.path.join(tmp, DATASET_JSON), info)
    return info


def plan_splits(config):
    """Read the inputs and lay out each split's records → (classes, {split: [Task]}, val origin)."""
    source = sources.read_source(config.source, config.input_dir)
    records = list(source.records)
    if config.val_from:
        val_source = sources.read_source(config.source, config.val_from)
        remap = sources.remap_labels(val_source.classes, source.classes, config.val_from)
        val = [dataclasses.replace(r, label=remap[r.label]) for r in val_source.records]
        shared = {r.image_id for r in records} & {r.image_id for r in val}
        if shared:
            raise UserError(f"--val_from={config.val_from} shares {len(shared)} image ids with "
                            f"--input_dir (e.g. {sorted(shared)[0]}); use a separate set")
        train, origin = records, "val_from"
    else:
        train_idx, val_idx = preprocess.split_by_lesion(
            [r.label for r in records], [r.lesion_id for r in records], source.classes,
            config.val_size, config.seed)
        train, val = [records[i] for i in train_idx], [records[i] for i in val_idx]
        origin = "split"
    limited = limit_per_class(train, config.max_per_class, config.seed)
    kept = {r.image_id for r in limited}
    spare, train = [r for r in train if r.image_id not in kept], limited
    extra = (sources.read_labelled_export(config.extra_train, source.classes,
                                           record_ids.SYNTHETIC_ID_PREFIX)
             if config.extra_train else ())
    plan = {"train": _tasks(train, config.augment_per_image, extra, config.seed),
            "val": _tasks(val, 0, (), config.seed), "spare": _tasks(spare, 0, (), config.seed)}
    return source.classes, plan, origin


def limit_per_class(records, max_per_class, seed):
    """At most `max_per_class` records of each class (0 = all), a seeded pick that keeps the
    records' order: a limited-data training set (docs/limited_data.md) one flag away.

    Applied to the train split only, after the split, so val stays the same as without the flag.
    """
    if not max_per_class:
        return records
    rng = np.random.RandomState(seed)
    keep = set()
    for label in sorted({r.label for r in records}):
        members = [i for i, r in enumerate(records) if r.label == label]
        if len(members) > max_per_class:
            members = sorted(rng.choice(members, max_per_class, replace=False).tolist())
        keep.update(members)
    return [r for i, r in enumerate(records) if i in keep]


def _tasks(records, augment_per_image, extra, seed):
    """Records → tasks (each image, its augmented copies, the extra images), shuffled once with
    `seed` as official dataset_tool does with RandomState(123) (docs/design.md#dataset-format)."""
    tasks = [Task(image_id=r.image_id if k == 0 else record_ids.augmented_id(r.image_id, k),
                  source_id=r.image_id, path=r.path, label=r.label, index=i, aug_k=k)
             for i, r in enumerate(records) for k in range(augment_per_image + 1)]
    tasks += [Task(image_id=r.image_id, source_id=r.image_id, path=r.path, label=r.label,
                   index=len(records) + j, synthetic=True) for j, r in enumerate(extra)]
    order = np.random.RandomState(seed).permutation(len(tasks))
    return [tasks[i] for i in order]


def process_task(job):
    """Worker: (path, resolution, augmentation) → ("ok", levels, converted) or ("bad", reason, _).

    `augmentation` is None or (spec, seed, index, k). NumPy/PIL/Augmentor only, never TensorFlow.
    """
    path, resolution, augmentation = job
    try:
        image, converted = preprocess.load_square(path, resolution)
    except preprocess.BadImageError as err:
        return "bad", str(err), None
    if augmentation is not None:
        spec, seed, index, k = augmentation
        image = augment.augment_image(image, _transform(spec), seed, index, k)
    return "ok", tfrecords.build_levels(image), converted


_TRANSFORMS = {}  # per-process cache: AugmentationSpec → Augmentor callable


def _transform(spec):
    if spec not in _TRANSFORMS:
        _TRANSFORMS[spec] = augment.build_pipeline(spec).torch_transform()
    return _TRANSFORMS[spec]


def process_chunk(jobs):
    """Worker entry point: a list of jobs → their results, in order."""
    return [process_task(job) for job in jobs]


class _WorkerPool:
    """`workers` spawned processes (fork after TensorFlow is loaded can hang); None for 1 worker,
    which then runs the jobs in this process."""

    def __init__(self, workers):
        self.workers = workers
        self.pool = None

    def __enter__(self):
        if self.workers > 1:
            self.pool = multiprocessing.get_context("spawn").Pool(self.workers)
        return self

    def __exit__(self, exc_type, *_):
        if self.pool is not None:
            if exc_type is None:
                self.pool.close()
            else:
                self.pool.terminate()
            self.pool.join()

    def results(self, jobs):
        """Results of `jobs` in order, with at most a bounded number of chunks in flight."""
        if self.pool is None:
            yield from map(process_task, jobs)
            return
        pending = collections.deque()
        for start in range(0, len(jobs), TASK_CHUNK):
            pending.append(self.pool.apply_async(process_chunk, (jobs[start:start + TASK_CHUNK],)))
            if len(pending) >= PENDING_CHUNKS_PER_WORKER * self.workers:
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()


def _write_split(pool, folder, tasks, classes, config, spec):
    """Stream one split's records into `folder`; returns what was written, skipped and converted."""
    from tqdm import tqdm

    jobs = [(t.path, config.resolution,
             (spec, config.seed, t.index, t.aug_k) if t.aug_k else None) for t in tasks]
    kept, skipped, converted = [], {}, {}
    digest = hashlib.sha256()
    name = os.path.basename(folder)
    with tfrecords.LevelWriter(folder, config.resolution) as writer, \
            tqdm(total=len(tasks), desc=name, unit="img", file=sys.stderr,
                 disable=not config.progress, mininterval=0.5) as bar:
        for task, (status, payload, mode) in zip(tasks, pool.results(jobs)):
            bar.update()
            if status == "bad":
                if not config.skip_bad:
                    raise UserError(f"{task.path}: {payload}; fix or remove the image, or pass "
                                    "--skip_bad to leave it out")
                skipped.setdefault(task.source_id, {"image": task.source_id, "reason": payload})
                continue
            if mode is not None:
                converted.setdefault(task.source_id, {"image": task.source_id, "from": mode,
                                                      "to": "RGB"})
            writer.add(payload)
            kept.append(task)
            _hash_record(digest, task, len(classes), payload)
    labels = np.eye(len(classes), dtype=np.float32)[[t.label for t in kept]]  # [N, K] one-hot
    tfrecords.write_labels(folder, labels.reshape(len(kept), len(classes)))
    return {"tasks": kept, "skipped": list(skipped.values()),
            "converted": list(converted.values()), "sha256": digest.hexdigest(),
            "files": integrity.folder_hashes(folder)}


def _hash_record(digest, task, num_classes, levels):
    """sha256 over, in record order: image id, label row (float32 bytes), pixels of every level."""
    digest.update(task.image_id.encode() + b"\n")
    digest.update(np.eye(num_classes, dtype=np.float32)[task.label].tobytes())
    for level in levels:
        digest.update(level.tobytes())


def _check_train_classes(written, classes):
    """After skipping bad images every class must still have a training image."""
    present = {t.label for t in written.get("train", {"tasks": []})["tasks"]}
    missing = [c for i, c in enumerate(classes) if i not in present]
    if missing:
        raise UserError(f"no training image left for class {', '.join(missing)} (after skipping "
                        "bad images); fix the images or add more of that class")


def _dataset_info(config, classes, plan, written, val_origin, spec):
    """The dataset.json content (`converted` lists colour-mode conversions)."""
    splits = {}
    for name in SPLITS:
        if name == "spare" and name not in written:
            continue  # no --max_per_class (or it cut nothing): no spare split
        result = written.get(name, {"tasks": [], "sha256": hashlib.sha256().hexdigest()})
        tasks = result["tasks"]
        entry = {"dir": name if name in written else None, "num_images": len(tasks),
                 "images": [t.image_id for t in tasks],
                 "counts": _counts(tasks, classes), "sha256": result["sha256"],
                 "files": result.get("files", {})}  # sha256 per file: checked at training start
        if name == "train":
            synthetic = [t for t in tasks if t.synthetic]
            entry.update(augmented_images=sum(1 for t in tasks if t.aug_k),
                         synthetic_images=[t.image_id for t in synthetic],
                         synthetic_counts=_counts(synthetic, classes))
        elif name == "val":
            entry.update(origin=val_origin, requested=None if config.val_from else config.val_size)
        splits[name] = entry
    # "synthetic": the source images were drawn by pgan-synthetic (not patient images); GAN
    # samples added with --extra_train are listed apart (splits.train.synthetic_images).
    synthetic = sources.is_synthetic(config.input_dir) or sources.is_synthetic(config.val_from)
    return {"classes": list(classes), "resolution": config.resolution, "source": config.source,
            "synthetic": synthetic,
            "seed": config.seed, "max_per_class": config.max_per_class,
            "inputs": {k: os.path.abspath(v) if v else None for k, v in
                       (("input_dir", config.input_dir), ("val_from", config.val_from),
                        ("extra_train", config.extra_train))},
            "preprocessing": preprocess.preprocessing_info(),
            "augmentation": augment.describe(spec, config.augment_per_image),
            "splits": splits,
            "skipped": [s for r in written.values() for s in r["skipped"]],
            "converted": [c for r in written.values() for c in r["converted"]]}


def _counts(tasks, classes):
    numbers = collections.Counter(t.label for t in tasks)
    return {c: numbers.get(i, 0) for i, c in enumerate(classes)}

