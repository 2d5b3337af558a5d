"""The dataset an experiment trains and evaluates on: a prepared one (`dataset.json`) used as it is,
or a raw download that `pgan-prepare` turns into `WORK/data` with the scale's recipe first.

Checks read `dataset.json` only (no TensorFlow): the classes the scale needs, a resolution at least
the experiment's (prepared datasets hold every level up to theirs), a val split for GAN-train and
Fig. 8, and the train split's sha256 that ties runs to their data.
"""
import dataclasses
import os
from typing import Optional

from pgan_tf import fileio
from pgan_tf.errors import UserError

DATASET_JSON = "dataset.json"
PREPARED_DIR = "data"     # WORK/data: where a raw --data_dir is prepared


@dataclasses.dataclass(frozen=True)
class Data:
    """`path`: the prepared dataset training reads; `raw`: the download it is prepared from (None
    when --data_dir was prepared already); `info`: its dataset.json (None until prepared)."""

    path: str
    raw: Optional[str]
    info: Optional[dict]

    @property
    def sha256(self):
        """sha256 of the train split (what a run's config.json records), None before preparing."""
        if self.info is None:
            return None
        return self.info.get("splits", {}).get("train", {}).get("sha256")


def read_info(folder):
    """`folder/dataset.json` as a dict, or None when there is none."""
    path = os.path.join(folder, DATASET_JSON)
    return fileio.read_json(path, "prepare the dataset again") if os.path.isfile(path) else None


def resolve_data(data_dir, work_dir, resolution, classes):
    """The `Data` of --data_dir, checked against the experiment's `resolution` and `classes`."""
    if not data_dir or not os.path.isdir(data_dir):
        raise UserError(f"--data_dir={data_dir}: no such folder (a prepared dataset or an ISIC "
                        "2018 download)")
    info = read_info(data_dir)
    if info is not None:
        check_info(info, data_dir, resolution, classes)
        return Data(os.path.abspath(data_dir), None, info)
    prepared = os.path.join(os.path.abspath(work_dir), PREPARED_DIR)
    info = read_info(prepared)
    if info is not None:
        source = info.get("inputs", {}).get("input_dir")
        if source != os.path.abspath(data_dir):
            raise UserError(f"--work_dir: {prepared} was prepared from {source}, not from "
                            f"--data_dir={data_dir}; use another --work_dir")
        check_info(info, prepared, resolution, classes)
    return Data(prepared, os.path.abspath(data_dir), info)


def check_info(info, folder, resolution, classes):
    """UserError unless the dataset has a level at `resolution`, `classes` (None: any two or more)
    and a non-empty val split."""
    if int(info.get("resolution", 0)) < resolution:
        raise UserError(f"--data_dir={folder} is prepared at {info.get('resolution')}x"
                        f"{info.get('resolution')}; this experiment trains at {resolution}x"
                        f"{resolution} (prepare it with --resolution {resolution} or more)")
    have = list(info.get("classes", []))
    if classes is not None and sorted(have) != sorted(classes):
        raise UserError(f"--data_dir={folder} has classes {','.join(have) or 'none'}; this "
                        f"experiment needs {','.join(classes)} (ISIC 2018 Task 3)")
    if len(have) < 2:
        raise UserError(f"--data_dir={folder} has {len(have)} classes; a class-conditional GAN "
                        "and its classifier need two or more")
    val = info.get("splits", {}).get("val") or {}
    if not val.get("num_images", len(val.get("images", []))):
        raise UserError(f"--data_dir={folder} has no val split; GAN-train and Fig. 8 test on real "
                        "validation images (prepare it with --val_size > 0)")
