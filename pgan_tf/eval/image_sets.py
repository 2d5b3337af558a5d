"""Image sets for evaluation: load any of the layouts users have, as uint8 NHWC arrays + int labels.

Layouts (detected in this order, see `detect_kind`):

* `prepared`: a dataset root written by `pgan-prepare` (`dataset.json` + `train/`,
  `val/`); one split is read (default `train`), class names from dataset.json.
* `official`: a folder of official-format TFRecords (`<name>-rNN.tfrecords`, optional
  `-rxx.labels`), e.g. `DATA/train` or a `dataset_tool.py` output; class names from the parent's dataset.json when
  it is a split of a prepared dataset, else ISIC names for 7 label columns, else `class0..`.
* `export`: a folder with `labels.csv` (`image,<classes>`, `image` = path relative to the folder
  without extension), as written by `pgan-export`.
* `class_folders`: one sub-folder per class (class order = sorted folder names; images found
  recursively), like `pgan-prepare --source folders`.
* `flat`: image files directly in the folder, unlabelled.

Pixels: TFRecord sets read the stored level of the wanted resolution (the official 2x2 box pyramid);
image files are decoded to RGB, centre-cropped to a square and resized with PIL LANCZOS, exactly as
`pgan-prepare` does (paper §3.1), only when their size differs from the target. Without a
requested resolution, folders of equal square images keep their native size; otherwise the smallest
side found is used and a note says so.

TensorFlow is imported only to read TFRecords, so tools can validate paths before loading it.
"""
import dataclasses
import os
from typing import Optional

import numpy as np
from PIL import Image

from pgan_tf import fileio
from pgan_tf.data import preprocess, sources, tfrecords
from pgan_tf.errors import UserError

KINDS = ("prepared", "official", "export", "class_folders", "flat")
# ISIC 2018 column order (docs/design.md#isic-2018-files): names of an official folder with
# 7 label columns.
ISIC_CLASSES = sources.ISIC_CLASSES
EXPORT_LABELS_FILE = sources.EXPORT_LABELS_FILE
DATASET_JSON = tfrecords.DATASET_JSON
_PREPARE_AGAIN = "prepare the dataset again (pgan-prepare)"
# Channel axis of official records (CHW) moved last: [N, C, H, W] -> [N, H, W, C].
_CHW_TO_HWC = (0, 2, 3, 1)


@dataclasses.dataclass
class ImageSet:
    """uint8 images [N, R, R, 3] with int labels [N] (None = unlabelled) indexing `class_names`."""

    images: np.ndarray
    labels: Optional[np.ndarray]
    class_names: tuple
    path: str
    kind: str
    notes: list = dataclasses.field(default_factory=list)

    @property
    def resolution(self):
        return int(self.images.shape[1])

    def __len__(self):
        return len(self.images)

    def subset(self, indices):
        """The images (and labels) at `indices`, in that order."""
        indices = np.asarray(indices, np.int64)
        labels = None if self.labels is None else self.labels[indices]
        return dataclasses.replace(self, images=self.images[indices], labels=labels,
                                   notes=list(self.notes))

    def counts(self):
        """{class name: images of that class} (empty when unlabelled)."""
        if self.labels is None:
            return {}
        numbers = np.bincount(self.labels, minlength=len(self.class_names))
        return {c: int(n) for c, n in zip(self.class_names, numbers)}


# ---------------------------------------------------------------------------------------------
def detect_kind(path):
    """Which layout `path` holds (one of KINDS); UserError when none."""
    if not os.path.isdir(path):
        raise UserError(f"image set {path} is not a folder")
    names = [n for n in os.listdir(path) if not n.startswith(".")]
    if DATASET_JSON in names and any(os.path.isdir(os.path.join(path, n)) for n in names):
        return "prepared"
    if tfrecords.find_level_files(path):
        return "official"
    if EXPORT_LABELS_FILE in names:
        return "export"
    subfolders = sorted(n for n in names if os.path.isdir(os.path.join(path, n)))
    if any(_image_files(os.path.join(path, n)) for n in subfolders):
        return "class_folders"
    if any(_is_image(n) for n in names):
        return "flat"
    raise UserError(f"{path} holds no images: expected a prepared dataset (dataset.json), "
                    "official TFRecords, an export (labels.csv), class sub-folders or image files")


def load_image_set(path, *, split="train", resolution=None, progress=False):
    """Load the image set at `path` (any layout of KINDS); see the module docstring.

    split: the split of a prepared dataset. resolution: resize everything to it (None = native).
    """
    if resolution is not None and resolution < 1:
        raise UserError(f"resolution must be >= 1, got {resolution}")
    kind = detect_kind(path)
    if kind == "prepared":
        return load_prepared_split(path, split, resolution)
    if kind == "official":
        return _load_official(path, resolution, class_names=None, kind="official")
    if kind == "export":
        return _load_export(path, resolution, progress)
    if kind == "class_folders":
        return _load_class_folders(path, resolution, progress)
    files = sorted(os.path.join(path, n) for n in os.listdir(path)
                   if _is_image(n) and not n.startswith("."))
    images, notes = _load_files(files, resolution, progress, path)
    return ImageSet(images, None, (), path, "flat", notes)


# ---------------------------------------------------------------------------------------------
def find_dataset_root(path):
    """(root, dataset.json dict) of a prepared dataset given its root or one of its split folders;
    (None, None) for anything else (JSON only: no TensorFlow)."""
    if os.path.isfile(os.path.join(path, DATASET_JSON)):
        return path, fileio.read_json(os.path.join(path, DATASET_JSON), _PREPARE_AGAIN)
    parent = os.path.dirname(os.path.normpath(os.path.abspath(path)))
    if os.path.isfile(os.path.join(parent, DATASET_JSON)):
        info = fileio.read_json(os.path.join(parent, DATASET_JSON), _PREPARE_AGAIN)
        if os.path.basename(os.path.normpath(path)) in info.get("splits", {}):
            return parent, info
    return None, None


def load_prepared_split(root, split, resolution=None):
    """One split (`train`, `val`) of a prepared dataset root, labelled by its dataset.json."""
    info = fileio.read_json(os.path.join(root, DATASET_JSON), _PREPARE_AGAIN)
    entry = info.get("splits", {}).get(split)
    folder = os.path.join(root, (entry or {}).get("dir") or split)
    if not os.path.isdir(folder):
        raise UserError(f"{root} has no {split} split ({folder} does not exist); prepare the "
                        f"dataset with a {split} split (pgan-prepare --val_size)")
    return _load_official(folder, resolution, class_names=tuple(info["classes"]), kind="prepared")


def _load_official(folder, resolution, class_names, kind):
    """Official-format TFRecords (+ labels) of `folder` at `resolution` (default: the largest)."""
    from pgan_tf.data import pipeline

    available = pipeline.list_resolutions(folder)
    notes = []
    level = resolution if resolution in available else available[-1]
    log2 = tfrecords.log2_resolution(level)
    images = tfrecords.read_level(tfrecords.find_level_files(folder)[log2])
    images = np.ascontiguousarray(images.transpose(_CHW_TO_HWC))  # [N, C, H, W] -> [N, H, W, C]
    if images.shape[-1] == 1:
        # grayscale tiled to RGB, as official (docs/design.md#ms-ssim-fid-and-uint8-images)
        images = np.repeat(images, 3, axis=-1)
    if resolution is not None and resolution != level:
        notes.append(f"{folder}: {level}x{level} images resized to {resolution}x{resolution}")
        images = resize_images(images, resolution)
    onehot = pipeline.read_labels(folder)
    labels = None
    if onehot is not None and onehot.shape[1] > 0:
        if len(onehot) != len(images):
            raise UserError(f"{folder}: {len(onehot)} label rows for {len(images)} records")
        labels = onehot.argmax(axis=1).astype(np.int64)
        if class_names is None:
            _, info = find_dataset_root(folder)
            width = onehot.shape[1]
            class_names = (tuple(info["classes"]) if info else ISIC_CLASSES if width == 7
                           else tuple(f"class{i}" for i in range(width)))
    return ImageSet(images, labels, tuple(class_names or ()), folder, kind, notes)


def _load_export(folder, resolution, progress):
    """`labels.csv` + images (an export of pgan-export or any such folder)."""
    csv_path = os.path.join(folder, EXPORT_LABELS_FILE)
    class_names, labels = read_labels_csv(csv_path)
    ids = sorted(labels)
    files = []
    for image_id in ids:
        found = _find_image(os.path.join(folder, image_id))
        if found is None:
            raise UserError(f"{csv_path} lists image {image_id} but {folder} has no {image_id}.png "
                            f"or {image_id}.jpg")
        files.append(found)
    images, notes = _load_files(files, resolution, progress, folder)
    return ImageSet(images, np.array([labels[i] for i in ids], np.int64), tuple(class_names),
                    folder, "export", notes)


def read_labels_csv(path):
    """`image,<classes>` with one-hot rows -> (class names, {image: class index}).

    Any class names (an export of a run on a subset of ISIC classes included); each row must hold
    exactly one 1 among 0/1 values.
    """
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r]
    if not rows or rows[0][0].strip().lower() != "image" or len(rows[0]) < 2:
        raise UserError(f"{path}: expected a header image,<class names>")
    classes = tuple(c.strip() for c in rows[0][1:])
    labels = {}
    for line, row in enumerate(rows[1:], start=2):
        try:
            values = [float(v) for v in row[1:]]
        except ValueError:
            values = []
        if len(row) != len(rows[0]) or sorted(values) != [0.0] * (len(classes) - 1) + [1.0]:
            raise UserError(f"{path}: line {line} must be an image id and one-hot values for "
                            f"{','.join(classes)}")
        labels[row[0].strip()] = values.index(1.0)
    if not labels:
        raise UserError(f"{path} lists no images")
    return classes, labels


def _load_class_folders(folder, resolution, progress):
    """One sub-folder per class; labels from the folder names (sorted)."""
    classes = sorted(n for n in os.listdir(folder)
                     if not n.startswith(".") and os.path.isdir(os.path.join(folder, n)))
    files, labels = [], []
    for index, name in enumerate(classes):
        found = _image_files(os.path.join(folder, name))
        if not found:
            raise UserError(f"class folder {os.path.join(folder, name)} holds no images")
        files += found
        labels += [index] * len(found)
    images, notes = _load_files(files, resolution, progress, folder)
    return ImageSet(images, np.array(labels, np.int64), tuple(classes), folder, "class_folders",
                    notes)


def _load_files(files, resolution, progress, where):
    """Decode image files to uint8 [N, S, S, 3] at one square size (see module docstring)."""
    from tqdm import tqdm

    sizes = []
    for path in files:
        try:
            with Image.open(path) as img:  # reads the header only
                sizes.append(img.size)
        except (OSError, ValueError) as err:
            raise UserError(f"{path}: cannot read image ({err})") from None
    notes = []
    target = resolution
    if target is None:
        target = min(min(s) for s in sizes)
        if len(set(sizes)) > 1 or sizes[0][0] != sizes[0][1]:
            notes.append(f"{where}: images of several or non-square sizes; centre-cropped and "
                         f"resized to {target}x{target} (the smallest side)")
    out = np.empty((len(files), target, target, 3), np.uint8)
    for i, path in enumerate(tqdm(files, desc=f"load {os.path.basename(where)}", unit="img",
                                  disable=not progress, mininterval=0.5)):
        try:
            img, _ = preprocess.decode_rgb(path)
        except preprocess.BadImageError as err:
            raise UserError(f"{path}: {err}") from None
        out[i] = preprocess.crop_and_resize(img, target)  # identity for a target-size square
    return out, notes


# ---------------------------------------------------------------------------------------------
def resize_images(images, resolution):
    """uint8 [N, H, W, 3] -> uint8 [N, resolution, resolution, 3] (centre square, PIL LANCZOS)."""
    images = np.asarray(images)
    if images.shape[1:3] == (resolution, resolution):
        return images
    out = np.empty((len(images), resolution, resolution, images.shape[-1]), np.uint8)
    for i, image in enumerate(images):
        pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        resized = preprocess.crop_and_resize(pil, resolution)
        out[i] = resized.reshape(out.shape[1:])
    return out


def resized(image_set, resolution, why):
    """`image_set` at `resolution` (unchanged when it already is), with a note saying `why`."""
    if image_set.resolution == resolution:
        return image_set
    note = (f"{image_set.path}: resized {image_set.resolution}x{image_set.resolution} -> "
            f"{resolution}x{resolution} ({why})")
    return dataclasses.replace(image_set, images=resize_images(image_set.images, resolution),
                               notes=image_set.notes + [note])


def align_classes(image_set, class_names, what):
    """`image_set` with labels re-indexed to `class_names` (matched by name; same set required)."""
    if image_set.labels is None:
        raise UserError(f"{what} {image_set.path} is unlabelled; GAN-train/GAN-test need class "
                        "labels (class sub-folders, labels.csv or a prepared dataset)")
    if tuple(image_set.class_names) == tuple(class_names):
        return image_set
    remap = np.array(sources.remap_labels(list(image_set.class_names), list(class_names),
                                          f"{what} {image_set.path}"), np.int64)
    return dataclasses.replace(image_set, labels=remap[image_set.labels],
                               class_names=tuple(class_names))


def seeded_indices(length, count, seed):
    """Sorted indices of `count` of `length` items drawn without replacement with RandomState(seed)
    (all, in order, if fewer): the records `seeded_subset` keeps."""
    if count >= length:
        return np.arange(length)
    return np.sort(np.random.RandomState(seed).permutation(length)[:count])


def seeded_subset(image_set, count, seed):
    """`count` images drawn without replacement with RandomState(seed) (all, in order, if fewer)."""
    if count >= len(image_set):
        return image_set
    return image_set.subset(seeded_indices(len(image_set), count, seed))


def real_train_counts(root, info):
    """{class: real training images} of the prepared dataset at `root`.

    From dataset.json: `counts` less synthetic images and Augmentor copies (each real image has
    `augmentation.per_image` copies, pgan-prepare); without counts, the label rows of
    `train/` (NumPy only).
    """
    train = info.get("splits", {}).get("train", {})
    classes = list(info["classes"])
    if "counts" in train:
        per_image = int((info.get("augmentation") or {}).get("per_image") or 0)
        synthetic = train.get("synthetic_counts") or {}
        return {c: (int(train["counts"].get(c, 0)) - int(synthetic.get(c, 0))) // (1 + per_image)
                for c in classes}
    folder = os.path.join(root, train.get("dir") or "train")
    found = sorted(n for n in os.listdir(folder) if n.endswith(".labels")) if os.path.isdir(
        folder) else []
    if not found:
        raise UserError(f"{root}: dataset.json has no train counts and {folder} no labels file")
    with open(os.path.join(folder, found[0]), "rb") as f:
        rows = np.load(f, allow_pickle=False)  # float32 [N, K] one-hot; never unpickle
    numbers = np.bincount(rows.argmax(axis=1), minlength=len(classes))
    return {c: int(n) for c, n in zip(classes, numbers)}


def _is_image(name):
    return name.lower().endswith(sources.IMAGE_EXTENSIONS)


def _image_files(folder):
    """Image files under `folder` (recursive, hidden entries skipped), sorted."""
    out = []
    for here, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [os.path.join(here, n) for n in sorted(names)
                if _is_image(n) and not n.startswith(".")]
    return out


def _find_image(stem):
    for ext in sources.IMAGE_EXTENSIONS:
        for candidate in (stem + ext, stem + ext.upper()):
            if os.path.isfile(candidate):
                return candidate
    return None
