"""Synthetic ISIC-layout set: layout, CSVs, sizes, class counts, lesions, determinism, learnable."""
import collections
import json
import os

import numpy as np
import pytest
from PIL import Image

import data_fixtures as fx
from pgan_tf.data import synthetic
from pgan_tf.errors import UserError

N, SEED = 60, 5
HEADER = ["image", "MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("synth") / "isic")
    counts = synthetic.write_synthetic_isic(root, N, SEED)
    return root, counts


def test_class_counts_follow_isic_2018():
    # docs/design.md#isic-2018-class-counts: 1,113 / 6,705 / 514 / 327 / 1,099 / 115
    # / 142 of 10,015.
    assert synthetic.class_counts(10015) == {"MEL": 1113, "NV": 6705, "BCC": 514, "AKIEC": 327,
                                             "BKL": 1099, "DF": 115, "VASC": 142}
    # 60: MEL 6.7→7, BCC 3.1→4 (min), AKIEC 2→4, BKL 6.6→7, DF .7→4, VASC .9→4; NV takes the rest.
    assert synthetic.class_counts(60) == {"MEL": 7, "NV": 30, "BCC": 4, "AKIEC": 4, "BKL": 7,
                                          "DF": 4, "VASC": 4}
    with pytest.raises(UserError, match="at least 28"):
        synthetic.class_counts(27)


def test_official_layout_csvs_and_jpeg_sizes(synth):
    root, counts = synth
    assert sorted(os.listdir(root)) == [fx.GT_DIR, fx.INPUT, fx.GROUPINGS,
                                        "PGAN_TF_SYNTHETIC.json"]
    with open(os.path.join(root, "PGAN_TF_SYNTHETIC.json")) as f:
        marker = json.load(f)
    assert marker["synthetic"] is True and marker["num_images"] == N
    header, rows = fx.read_csv(fx.gt_csv(root))
    assert header == HEADER and len(rows) == N
    for row in rows:
        assert row[0].startswith("ISIC_") and len(row[0]) == 12 and row[0][5:].isdigit()
        assert sorted(row[1:]) == ["0.0"] * 6 + ["1.0"]
    by_class = collections.Counter(HEADER[row.index("1.0")] for row in rows)
    assert dict(by_class) == counts == synthetic.class_counts(N)
    files = sorted(os.listdir(os.path.join(root, fx.INPUT)))
    assert files == sorted(row[0] + ".jpg" for row in rows)
    for name in files[:5]:
        with Image.open(os.path.join(root, fx.INPUT, name)) as img:
            assert (img.format, img.mode, img.size) == ("JPEG", "RGB", (600, 450))


def test_lesion_groupings(synth):
    root, _ = synth
    header, rows = fx.read_csv(os.path.join(root, fx.GROUPINGS))
    assert header == ["image", "lesion_id"]
    _, gt = fx.read_csv(fx.gt_csv(root))
    label = {row[0]: row.index("1.0") for row in gt}
    assert sorted(r[0] for r in rows) == sorted(label)
    lesions = collections.defaultdict(list)
    for image, lesion in rows:
        lesions[lesion].append(image)
    sizes = collections.Counter(len(v) for v in lesions.values())
    assert set(sizes) <= {1, 2, 3} and sizes[2] + sizes[3] > 0
    for images in lesions.values():
        assert len({label[i] for i in images}) == 1  # a lesion has one diagnosis
    per_class = collections.Counter(label[images[0]] for images in lesions.values())
    assert min(per_class.values()) >= synthetic.MIN_LESIONS_PER_CLASS
    assert len(per_class) == 7


def _crop32(path):
    with Image.open(path) as img:
        return np.asarray(img.crop((75, 0, 525, 450)).resize((32, 32), Image.LANCZOS), float)


def test_images_of_one_lesion_are_near_duplicates(synth):
    root, _ = synth
    _, rows = fx.read_csv(os.path.join(root, fx.GROUPINGS))
    lesions = collections.defaultdict(list)
    for image, lesion in rows:
        lesions[lesion].append(os.path.join(root, fx.INPUT, image + ".jpg"))
    pairs = [v[:2] for v in lesions.values() if len(v) > 1][:4]
    singles = [v[0] for v in lesions.values()]
    for a, b in pairs:
        same = np.abs(_crop32(a) - _crop32(b)).mean()
        others = [np.abs(_crop32(a) - _crop32(s)).mean() for s in singles[:10] if s not in (a, b)]
        assert same < min(others)


def test_classes_are_told_apart_by_colour_statistics(synth):
    # Leave-one-lesion-out nearest class centroid on position-free colour quantiles at 32x32: a
    # crude learner, so a small CNN has much more to go on.
    root, _ = synth
    _, gt = fx.read_csv(fx.gt_csv(root))
    _, groups = fx.read_csv(os.path.join(root, fx.GROUPINGS))
    lesion = dict(groups)
    feats, labels, lesions = [], [], []
    for row in gt:
        pixels = _crop32(os.path.join(root, fx.INPUT, row[0] + ".jpg")).reshape(-1, 3) / 255
        feats.append(np.quantile(pixels, [0.02, 0.1, 0.25], axis=0).ravel())
        labels.append(row.index("1.0") - 1)
        lesions.append(lesion[row[0]])
    feats, labels, lesions = np.array(feats), np.array(labels), np.array(lesions)
    correct = 0
    for i in range(N):
        keep = lesions != lesions[i]
        centroids = np.stack([feats[keep & (labels == c)].mean(0) for c in range(7)])
        correct += np.argmin(((centroids - feats[i]) ** 2).sum(1)) == labels[i]
    assert correct / N >= 0.75  # chance is 1/7; the majority class 0.5


def test_deterministic_for_a_seed(synth, tmp_path):
    root, _ = synth
    plan = synthetic.plan_images(N, SEED)
    assert plan == synthetic.plan_images(N, SEED)
    assert plan != synthetic.plan_images(N, SEED + 1)
    renderer = synthetic.Renderer(SEED)
    first = renderer.render(plan[0])
    with Image.open(os.path.join(root, fx.INPUT, plan[0].image_id + ".jpg")) as img:
        decoded = np.asarray(img, float)
    assert np.abs(decoded - first).mean() < 3  # the file is this rendering, JPEG-compressed
    assert np.array_equal(first, synthetic.Renderer(SEED).render(plan[0]))
    assert not np.array_equal(first, synthetic.Renderer(SEED + 1).render(plan[0]))


def test_refuses_a_non_empty_output_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(UserError, match="already holds files"):
        synthetic.write_synthetic_isic(str(tmp_path), N, SEED)
    assert os.listdir(tmp_path) == ["keep.txt"]
