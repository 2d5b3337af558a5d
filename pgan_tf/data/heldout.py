"""Which real images a run holds out of training to measure D's overfitting (`--heldout_per_class`).

ADA's validation heuristic r_v (training/ada.py) compares D's scores on training reals with its
scores on reals it never trains on. Those must be used by neither training nor evaluation:

- From the dataset's `spare` split first: the training split's images that `--max_per_class` left
  out (data/prepare.py). A class of a limited subset then keeps its training count, and the
  images are in no split that evaluation reads.
- Otherwise from the training split itself: the class gives k = min(N, max(1, n // 10)) of its n
  real images (and every Augmentor copy of them) away, so it keeps at least 90 % of them, and at
  least one image is held out whenever n >= 2. ISIC 2018's smallest classes (DF, VASC: about 110
  and 135 training images) give 8 at the default N = 8: their share of the held-out scores is
  then the same as every other class's, and they keep 93-94 % of their images. A class with
  fewer than 2 cannot give one and keep one: `plan` refuses it in one line.

The run writes its plan to `RUN/heldout.json`; `pgan-evaluate` reads the ids there (`run_ids`)
and leaves those images (and their Augmentor copies) out of every real set it uses, whichever
prepared dataset it is given (eval/reals.py).

NumPy only, so the binary checks the plan before TensorFlow loads. The pick is seeded (the run's
`--seed`), so a resume holds out the same images.
"""
import json
import os

import numpy as np

from pgan_tf import fileio
from pgan_tf.data import record_ids, tfrecords
from pgan_tf.errors import UserError

HELDOUT_JSON = "heldout.json"  # in the run dir: the plan, as `plan` returns it
_SALT = 0x484F  # "HO": keeps this pick apart from the run's other seeded draws
MIN_KEPT_SHARE = 10  # from the training split a class gives at most 1/10 of its real images


def read_label_rows(folder):
    """float32 [N, K] of the single `*.labels` file in `folder`, or None (NumPy, no TensorFlow)."""
    if not fileio.isdir(folder):
        return None
    found = sorted(f for f in fileio.listdir(folder) if f.endswith(".labels"))
    if len(found) != 1:
        return None
    with open(os.path.join(folder, found[0]), "rb") as f:
        return np.load(f, allow_pickle=False).astype(np.float32)


def _dataset_info(root):
    path = os.path.join(root, tfrecords.DATASET_JSON)
    if not fileio.isfile(path):
        return {}
    return json.loads(fileio.read_text(path))


def plan(data_dir, per_class, seed, class_names=None):
    """The held-out set of a run: {"per_class", "classes": {name: {"split", "records", "ids"}},
    "train_excluded": sorted training record numbers to leave out of the stream}; None when
    `per_class` is 0. Raises UserError for a class that cannot give any image."""
    if per_class <= 0:
        return None
    info = _dataset_info(data_dir)
    train_dir = os.path.join(data_dir, "train") if info else data_dir
    labels = read_label_rows(train_dir)
    if labels is None or labels.shape[1] == 0:
        raise UserError(f"--heldout_per_class={per_class}: {train_dir} has no class labels to hold "
                        "out reals per class; use --heldout_per_class=0 (and "
                        "--d_augment_heuristic=rt with --d_augment=ada)")
    names = list(class_names or info.get("classes") or
                 [f"class{i}" for i in range(labels.shape[1])])
    train_ids = info.get("splits", {}).get("train", {}).get("images")
    if not train_ids or len(train_ids) != len(labels):
        train_ids = [str(i) for i in range(len(labels))]
    spare_dir = os.path.join(data_dir, "spare")
    spare = read_label_rows(spare_dir) if info.get("splits", {}).get("spare") else None
    spare_ids = info.get("splits", {}).get("spare", {}).get("images") if spare is not None else None
    rng = np.random.RandomState([seed % 2 ** 32, _SALT])
    classes, excluded = {}, []
    for c, name in enumerate(names):
        spare_members = (np.flatnonzero(np.argmax(spare, 1) == c) if spare is not None
                         else np.zeros(0, np.int64))
        if len(spare_members) >= per_class:
            picked = np.sort(rng.choice(spare_members, per_class, replace=False))
            classes[name] = {"split": "spare", "records": picked.tolist(),
                             "ids": [spare_ids[i] for i in picked] if spare_ids else None}
            continue
        members = [i for i in np.flatnonzero(np.argmax(labels, 1) == c)
                   if record_ids.is_original(train_ids[i])]
        if len(members) < 2:
            raise UserError(f"class {name} has {len(members)} real training image(s); a held-out set "
                            "needs at least 2 (one to train on, one to hold out): add images of "
                            f"{name}, or use --heldout_per_class=0 with --d_augment_heuristic=rt")
        k = min(per_class, max(1, len(members) // MIN_KEPT_SHARE))
        picked = np.sort(rng.choice(members, k, replace=False))
        held = {train_ids[i] for i in picked}
        copies = [i for i, name_i in enumerate(train_ids)
                  if name_i.split(record_ids.AUGMENTED_ID_MARK)[0] in held]
        excluded.extend(copies)
        classes[name] = {"split": "train", "records": picked.tolist(),
                         "ids": [train_ids[i] for i in picked]}
    return {"per_class": per_class, "classes": classes,
            "train_excluded": sorted(set(int(i) for i in excluded))}


def run_ids(run_dir):
    """Source ids of the real images the run in `run_dir` held out (its heldout.json), as a
    frozenset; empty when the run has no held-out set."""
    path = os.path.join(run_dir, HELDOUT_JSON)
    if not fileio.isfile(path):
        return frozenset()
    plan = fileio.read_json(path, "it is the list of images the run held out of training; "
                                  "restore it from the run's copy or delete it to evaluate "
                                  "without leaving them out")
    return frozenset(i for entry in plan.get("classes", {}).values() for i in entry.get("ids", []))


def split_records(heldout, split):
    """Record numbers of `split` held out, in class order."""
    return [i for entry in heldout["classes"].values() if entry["split"] == split
            for i in entry["records"]]
