"""Small on-disk datasets shared by the data tests (imported explicitly, not via conftest.py)."""
import csv
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from pgan_tf.data import tfrecords
from pgan_tf.data.sources import ISIC_CLASSES

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INPUT = "ISIC2018_Task3_Training_Input"
GT_DIR = "ISIC2018_Task3_Training_GroundTruth"
GT_CSV = "ISIC2018_Task3_Training_GroundTruth.csv"
GROUPINGS = "ISIC2018_Task3_Training_LesionGroupings.csv"


def image_id(i):
    return f"ISIC_{i:07d}"


def make_isic_dir(root, labels, lesions=None, size=(40, 30), classes=ISIC_CLASSES, seed=0,
                  first=0):
    """An ISIC-2018-layout folder with small random JPEGs; labels[i] = class index of image i.

    Returns the list of image ids (ISIC_<first + i>). `lesions[i]` (optional) = lesion of image i.
    """
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(root, INPUT))
    os.makedirs(os.path.join(root, GT_DIR))
    ids = [image_id(first + i) for i in range(len(labels))]
    for i in ids:
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(os.path.join(root, INPUT, i + ".jpg"), quality=95)
    with open(os.path.join(root, INPUT, "LICENSE.txt"), "w") as f:
        f.write("not an image\n")  # the official zips hold text files next to the images
    rows = [[i] + ["1.0" if c == label else "0.0" for c in range(len(classes))]
            for i, label in zip(ids, labels)]
    write_csv(os.path.join(root, GT_DIR, GT_CSV), ["image"] + list(classes), rows)
    if lesions is not None:
        write_csv(os.path.join(root, GROUPINGS), ["image", "lesion_id"], list(zip(ids, lesions)))
    return ids


def gt_csv(root):
    return os.path.join(root, GT_DIR, GT_CSV)


def input_path(root, image):
    return os.path.join(root, INPUT, image + ".jpg")


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def balanced_labels(per_class, num_classes=len(ISIC_CLASSES)):
    """[0]*per_class + [1]*per_class + ... (class index per image)."""
    return [c for c in range(num_classes) for _ in range(per_class)]


def write_official(folder, images, labels=None):
    """Write uint8 [N, R, R, C] images (and optional labels) in the official format, in order."""
    with tfrecords.LevelWriter(folder, images.shape[1]) as writer:
        for image in images:
            writer.add(tfrecords.build_levels(image))
    if labels is not None:
        tfrecords.write_labels(folder, labels)


def run_tool(name, *args, timeout=300):
    """Run tools/<name>.py in a subprocess → CompletedProcess (text, captured)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO)
    return subprocess.run([sys.executable, os.path.join(REPO, "tools", name + ".py"), *args],
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO)


def error_lines(stderr):
    """stderr lines that are not TensorFlow/absl start-up chatter or progress bars."""
    return [line for line in stderr.splitlines()
            if line.strip() and not line.startswith(("WARNING: All log", "I0000", "E0000", "W0000"))
            and "%|" not in line]
