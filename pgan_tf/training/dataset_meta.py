"""What the training loop needs to know about its dataset, checked against the config.

`--data_dir` is either a prepared dataset (`pgan-prepare` output: `dataset.json` plus
`train/` and `val/` folders) — training reads `train/` — or a folder of official-format TFRecords
read as is: one split of a prepared dataset (`OUT/train`, classes from `OUT/dataset.json`) or a
`dataset_tool.py` output.
"""
import dataclasses
import hashlib
import json
import os

import numpy as np

from pgan_tf import fileio
from pgan_tf.data import integrity, pipeline
from pgan_tf.errors import UserError

# ISIC 2018 Task 3 column order (docs/design.md#isic-2018-files), used to name classes of
# an official-format dataset with 7 label columns; other counts get generic names.
ISIC_CLASSES = ("MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC")


@dataclasses.dataclass(frozen=True)
class DatasetMeta:
    root: str
    train_dir: str
    class_names: tuple
    sha256: str
    # float32 [M, K]: the rows G's labels are drawn from (docs/design.md#losses)
    label_rows: np.ndarray
    # {file name: sha256} of train/ from dataset.json; None for a dataset.json without them;
    # "absent" for an official-format folder (no dataset.json: nothing to check at start-up).
    file_hashes: object = "absent"


def resolve_dataset(config):
    """Locate the training TFRecords and check resolution and class count against the config."""
    root = config.data_dir
    if not fileio.isdir(root):
        raise UserError(f"--data_dir={root} does not exist; run pgan-prepare first")
    info = pipeline.read_dataset_info(root)  # also found from a split folder (OUT/train)
    has_json = fileio.isfile(os.path.join(root, pipeline.DATASET_JSON))
    train_dir = os.path.join(root, "train") if has_json else root
    resolutions = pipeline.list_resolutions(train_dir)
    if config.resolution not in resolutions:
        raise UserError(f"--resolution={config.resolution} is not in {train_dir} (it holds "
                        f"{', '.join(map(str, resolutions))}); prepare the dataset at that "
                        "resolution or lower --resolution")
    labels = pipeline.read_labels(train_dir)
    width = 0 if labels is None else labels.shape[1]
    if info is not None:
        class_names = tuple(info["classes"])
        split = info.get("splits", {}).get("train", {})
        sha = split.get("sha256") or _file_hash(train_dir)
        file_hashes = split.get("files")
    else:
        class_names = ISIC_CLASSES if width == len(ISIC_CLASSES) else tuple(
            f"class{i}" for i in range(width))
        sha = _file_hash(train_dir)
        file_hashes = "absent"
    if labels is None and (config.num_classes or class_names):
        expected = os.path.join(train_dir, os.path.basename(os.path.normpath(train_dir)) +
                                "-rxx.labels")
        raise UserError(f"{expected} is missing: the dataset's class labels are gone; restore "
                        "that file or prepare the dataset again (tools/prepare_dataset.py)")
    if width != config.num_classes or len(class_names) != config.num_classes:
        raise UserError(f"--num_classes={config.num_classes} but {train_dir} has {width} label "
                        "columns; set --num_classes to match the dataset")
    if config.real_sampling == "balanced" and not width:
        raise UserError(f"--real_sampling=balanced needs class labels but {train_dir} has none; "
                        "use --real_sampling=dataset")
    rows = labels.astype(np.float32) if labels is not None else np.zeros((1, 0), np.float32)
    return DatasetMeta(root=root, train_dir=train_dir, class_names=class_names, sha256=sha,
                       label_rows=rows, file_hashes=file_hashes)


def verify_files(meta, run_dir):
    """Refuse training files changed since preparation (`integrity.verify_split`); returns the
    record to keep in the run dir (`record_verified_files`), or None."""
    if meta.file_hashes == "absent":
        return None
    return integrity.verify_split(meta.train_dir, meta.file_hashes, run_dir)


def record_verified_files(run_dir, record):
    """Keep `verify_files`' result in the run dir, so a resume need not re-hash unchanged files."""
    if record is not None:
        fileio.write_json(integrity.record_path(run_dir), {"files": record})


def _file_hash(folder):
    """sha256 over the names and sizes of the dataset files (cheap; no full read)."""
    digest = hashlib.sha256()
    for name in fileio.listdir(folder):
        digest.update(json.dumps([name, fileio.size(os.path.join(folder, name))]).encode())
    return digest.hexdigest()
