"""Labelled image sources → `Source` (class names + one `ImageRecord` per image).

Three layouts are read (all validation here is metadata only; pixels are checked later, while the
images are decoded in `prepare.py`):

* `isic2018`: the ISIC 2018 Task 3 download (docs/design.md#isic-2018-files): images `ISIC_<7
  digits>.jpg` anywhere under the folder, labels from `*GroundTruth*.csv` (header `image,MEL,...`,
  one-hot `1.0`/`0.0`; class order = the CSV's columns) or from the Dataverse `HAM10000_metadata`
  (`lesion_id,image_id,dx,...`, comma- or tab-separated, with or without `.csv`). Lesions from
  `*LesionGroupings*.csv` or the metadata; without either every image is its own lesion.
* `folders`: one sub-folder per class (class order = sorted folder names); every image is its own
  lesion.
* an exported labelled set (`read_labelled_export`): `DIR/labels.csv` with header `image,<classes>`,
  `image` a path relative to DIR without extension.

Only image files count (the official zips also hold LICENSE/ATTRIBUTION text files).
"""
import csv
import dataclasses
import os

from pgan_tf.errors import UserError

# ISIC 2018 Task 3 ground-truth columns, in the official (and submission) order
# (docs/design.md#isic-2018-files).
ISIC_CLASSES = ("MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC")
# HAM10000_metadata `dx` codes → ISIC column names (docs/design.md#ham10000-metadata).
HAM_DX_TO_CLASS = {c.lower(): c for c in ISIC_CLASSES}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
SOURCE_KINDS = ("isic2018", "folders")
EXPORT_LABELS_FILE = "labels.csv"
# `pgan-synthetic` writes this file at the top of its output: the images are drawn by pgan_tf, not
# photographed, and `pgan-prepare` records that in dataset.json ("synthetic") for model cards.
SYNTHETIC_MARKER = "PGAN_TF_SYNTHETIC.json"
# How many offending ids an error message lists before "... and N more".
_MAX_LISTED = 5


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One labelled image: `label` indexes `Source.classes`; a lesion's images share `lesion_id`."""
    image_id: str
    path: str
    label: int
    lesion_id: str


@dataclasses.dataclass(frozen=True)
class Source:
    """A labelled image set; records sorted by image id (later steps ignore the file order)."""
    kind: str
    root: str
    classes: tuple
    records: tuple


def read_source(kind, input_dir):
    """Read a labelled image set of `kind` (one of SOURCE_KINDS) from `input_dir`."""
    if kind not in SOURCE_KINDS:
        raise UserError(f"--source={kind} is unknown; use one of {', '.join(SOURCE_KINDS)}")
    if not os.path.isdir(input_dir):
        raise UserError(f"input folder {input_dir} does not exist")
    source = read_isic2018(input_dir) if kind == "isic2018" else read_class_folders(input_dir)
    check_every_class_present(source)
    return source


def is_synthetic(input_dir):
    """True when `input_dir` was written by `pgan-synthetic` (it holds SYNTHETIC_MARKER)."""
    return bool(input_dir) and os.path.isfile(os.path.join(input_dir, SYNTHETIC_MARKER))


def check_every_class_present(source):
    """Refuse a class without any image: the GAN and the classifier need each class."""
    present = {r.label for r in source.records}
    empty = [c for i, c in enumerate(source.classes) if i not in present]
    if empty:
        raise UserError(f"class {', '.join(empty)} has no image in {source.root}; add images of "
                        "that class or remove the class")


def read_isic2018(input_dir):
    """The ISIC 2018 Task 3 / HAM10000 layout (see the module docstring)."""
    files = _walk_files(input_dir)
    metadata = _one_or_none([p for p in files
                             if os.path.basename(p).lower().startswith("ham10000_metadata")],
                            "HAM10000_metadata file")
    truths = [p for p in files if _is_ground_truth_csv(p)]
    if metadata is not None:
        # HAM10000 as distributed on Harvard Dataverse ships ISIC2018_Task3_Test_GroundTruth.csv
        # (and the test images) beside the training metadata: those label other images.
        truths = [p for p in truths if not _is_held_out_ground_truth(p)]
    ground_truth = _one_or_none(truths, "ground-truth CSV")
    groupings = _one_or_none([p for p in files if "lesiongroupings" in os.path.basename(p).lower()],
                             "LesionGroupings CSV")
    if ground_truth is not None:
        classes, labels = read_onehot_csv(ground_truth, isic=True)
    elif metadata is not None:
        classes, labels = ISIC_CLASSES, _labels_from_metadata(metadata)
    else:
        raise UserError(f"{input_dir} holds no ISIC2018_Task3_*_GroundTruth.csv and no "
                        "HAM10000_metadata; point --input_dir at the unzipped ISIC 2018 Task 3 "
                        "download, or use --source folders")
    lesions = {}
    if metadata is not None:
        lesions.update(_read_table(metadata, ("lesion_id", "image_id"), key="image_id"))
    if groupings is not None:
        lesions.update(_read_table(groupings, ("image", "lesion_id"), key="image"))
    images = _images_by_id(p for p in files if _is_image(p))
    label_file = ground_truth or metadata
    _check_same_ids(set(labels), set(images), label_file, input_dir)
    records = tuple(ImageRecord(image_id=i, path=images[i], label=labels[i],
                                lesion_id=lesions.get(i, i)) for i in sorted(labels))
    return Source(kind="isic2018", root=input_dir, classes=tuple(classes), records=records)


def read_class_folders(input_dir):
    """One sub-folder per class; class order = sorted folder names; ids are `<class>/<rel path>`."""
    classes = sorted(d for d in os.listdir(input_dir)
                     if not d.startswith(".") and os.path.isdir(os.path.join(input_dir, d)))
    if not classes:
        raise UserError(f"{input_dir} has no class sub-folders; --source folders expects "
                        "<input_dir>/<class name>/<images>")
    records = []
    for label, name in enumerate(classes):
        folder = os.path.join(input_dir, name)
        paths = [p for p in _walk_files(folder) if _is_image(p)]
        if not paths:
            raise UserError(f"class folder {folder} has no image files (class {name} has no image)")
        ids = _images_by_id(paths, relative_to=folder)
        records += [ImageRecord(image_id=f"{name}/{i}", path=p, label=label,
                                lesion_id=f"{name}/{i}") for i, p in ids.items()]
    records.sort(key=lambda r: r.image_id)
    return Source(kind="folders", root=input_dir, classes=tuple(classes), records=tuple(records))


def read_labelled_export(folder, classes, id_prefix):
    """An exported labelled set (`folder/labels.csv`, images `folder/<image>.png|.jpg`).

    Its class columns must be among `classes` (any order; labels are mapped by name): an export of
    a run trained on some of the dataset's classes adds images to those classes only. Image ids
    get `id_prefix` so they cannot clash with real ids; every image is its own lesion.
    """
    csv_path = os.path.join(folder, EXPORT_LABELS_FILE)
    if not os.path.isfile(csv_path):
        raise UserError(f"{csv_path} does not exist; --extra_train expects a folder with "
                        f"{EXPORT_LABELS_FILE} (header image,<classes>) and the images")
    export_classes, labels = read_onehot_csv(csv_path)
    remap = remap_labels(export_classes, classes, csv_path, subset=True)
    records = []
    for image in sorted(labels):
        path = _find_image(os.path.join(folder, image))
        if path is None:
            raise UserError(f"{csv_path} lists image {image} but {folder} has no {image}.png or "
                            f"{image}.jpg")
        records.append(ImageRecord(image_id=id_prefix + image, path=path,
                                   label=remap[labels[image]], lesion_id=id_prefix + image))
    return tuple(records)


def remap_labels(found, expected, where, subset=False):
    """Index map from class order `found` (in `where`) to `expected`; UserError if they differ
    (with `subset`, only if `found` names a class that `expected` lacks)."""
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if extra or (missing and not subset):
        raise UserError(f"{where}: classes {','.join(found)} do not match the dataset's "
                        f"{','.join(expected)} (missing: {missing or 'none'}, extra: "
                        f"{extra or 'none'})")
    return [list(expected).index(c) for c in found]


def read_onehot_csv(path, isic=False):
    """Parse `image,<class...>` with one-hot rows → (classes, {image id: class index}).

    `isic`: the file is an ISIC ground-truth CSV: a header naming some ISIC classes must name all
    seven (a truncated download). Exports may name any subset."""
    rows = _read_rows(path)
    header = [h.strip() for h in rows[0][1]]
    if not header or header[0].lower() != "image":
        raise UserError(f"{path}: the first column must be 'image' (found header "
                        f"{','.join(header)})")
    classes = header[1:]
    _check_class_columns(classes, path, isic)
    labels = {}
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise UserError(f"{path}: line {line} has {len(row)} columns but the header has "
                            f"{len(header)} ({','.join(header)}); fix the missing/extra columns")
        image = row[0].strip()
        if image in labels:
            raise UserError(f"{path}: duplicate image id {image} (line {line})")
        labels[image] = _onehot_index(row[1:], path, line, image)
    if not labels:
        raise UserError(f"{path} has a header but no image rows")
    return classes, labels


def _check_class_columns(classes, path, isic):
    """Class columns: at least one, unique, non-empty; an ISIC header must be complete."""
    if not classes or any(not c for c in classes) or len(set(classes)) != len(classes):
        raise UserError(f"{path}: class columns {','.join(classes)} must be non-empty and unique")
    known = set(classes) & set(ISIC_CLASSES)
    if isic and known and set(classes) != set(ISIC_CLASSES):
        missing = [c for c in ISIC_CLASSES if c not in classes]
        extra = [c for c in classes if c not in ISIC_CLASSES]
        raise UserError(f"{path}: header does not match ISIC 2018 (image,{','.join(ISIC_CLASSES)})"
                        f": missing columns {missing or 'none'}, extra columns {extra or 'none'}")


def _onehot_index(values, path, line, image):
    """The index of the single 1 in a row of 0/1 values; UserError for anything else."""
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        raise UserError(f"{path}: line {line} (image {image}) has a non-numeric label value")
    if any(v not in (0.0, 1.0) for v in numbers) or numbers.count(1.0) != 1:
        raise UserError(f"{path}: line {line} (image {image}) must have exactly one 1.0 among the "
                        f"class columns, found {numbers.count(1.0)} ones")
    return numbers.index(1.0)


def _labels_from_metadata(path):
    """HAM10000_metadata `dx` → ISIC class index per image id."""
    dx = _read_table(path, ("image_id", "dx"), key="image_id")
    unknown = sorted({d for d in dx.values() if d.lower() not in HAM_DX_TO_CLASS})
    if unknown:
        raise UserError(f"{path}: unknown dx codes {unknown}; expected {sorted(HAM_DX_TO_CLASS)}")
    return {i: ISIC_CLASSES.index(HAM_DX_TO_CLASS[d.lower()]) for i, d in dx.items()}


def _read_table(path, columns, key):
    """Map `key` column → the other of two named `columns` (extra columns are ignored)."""
    rows = _read_rows(path)
    header = [h.strip() for h in rows[0][1]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise UserError(f"{path}: missing columns {missing} (header: {','.join(header)})")
    k, v = header.index(key), header.index([c for c in columns if c != key][0])
    table = {}
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise UserError(f"{path}: line {line} has {len(row)} columns but the header has "
                            f"{len(header)}")
        if row[k].strip() in table:
            raise UserError(f"{path}: duplicate image id {row[k].strip()} (line {line})")
        table[row[k].strip()] = row[v].strip()
    return table


def _read_rows(path):
    """[(line number, fields)] of a comma- or tab-separated file, blank lines dropped."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        text = f.read()
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    rows = [(n, r) for n, r in enumerate(csv.reader(text.splitlines(), delimiter=delimiter), 1)
            if any(field.strip() for field in r)]
    if not rows:
        raise UserError(f"{path} is empty")
    return rows


def _check_same_ids(labelled, on_disk, label_file, input_dir):
    """Every labelled image must be on disk and every image on disk labelled."""
    for ids, problem in ((labelled - on_disk, f"listed in {label_file} but not found under "
                          f"{input_dir}"), (on_disk - labelled, f"found under {input_dir} but not "
                                            f"listed in {label_file}")):
        if ids:
            raise UserError(f"{len(ids)} image(s) {problem}: {_listing(ids)}")


def _images_by_id(paths, relative_to=None):
    """{id: path}, id = file name (or path relative to `relative_to`) without extension."""
    found = {}
    for path in sorted(paths):
        rel = os.path.relpath(path, relative_to) if relative_to else os.path.basename(path)
        image_id = os.path.splitext(rel)[0].replace(os.sep, "/")
        if image_id in found:
            raise UserError(f"duplicate image id {image_id}: {found[image_id]} and {path}; keep "
                            "one of them")
        found[image_id] = path
    return found


def _walk_files(root):
    """All files under `root`, skipping hidden files and folders, in sorted order."""
    out = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [os.path.join(folder, n) for n in sorted(names) if not n.startswith(".")]
    return out


def _one_or_none(paths, what):
    if len(paths) > 1:
        raise UserError(f"found {len(paths)} {what}s ({_listing(paths)}); keep one per input "
                        "folder (use --val_from for the validation download)")
    return paths[0] if paths else None


def _is_ground_truth_csv(path):
    name = os.path.basename(path).lower()
    return "groundtruth" in name and name.endswith(".csv")


def _is_held_out_ground_truth(path):
    """ISIC 2018 Task 3's Test or Validation ground truth (not the training labels)."""
    name = os.path.basename(path).lower()
    return "_test_" in name or "_validation_" in name


def _is_image(path):
    return path.lower().endswith(IMAGE_EXTENSIONS)


def _find_image(stem):
    for ext in IMAGE_EXTENSIONS:
        for candidate in (stem + ext, stem + ext.upper()):
            if os.path.isfile(candidate):
                return candidate
    return None


def _listing(items):
    items = sorted(items)
    more = f" ... and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return ", ".join(items[:_MAX_LISTED]) + more
