"""tf.data reader: values, order, labels, determinism/resume, mirror, errors, fade of reals."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf

import data_fixtures as fx
from pgan_tf.data import pipeline
from pgan_tf.errors import UserError

N, RES, K = 5, 8, 3


def _images(n=N):
    """Record i: left half 20i + 5, right half 20i + 100 (identifies i and a left-right flip)."""
    images = np.zeros((n, RES, RES, 3), np.uint8)
    for i in range(n):
        images[i, :, :RES // 2] = 20 * i + 5
        images[i, :, RES // 2:] = 20 * i + 100
    return images


LABELS = np.eye(K, dtype=np.float32)[np.arange(N) % K]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("ds") / "train")
    fx.write_official(folder, _images(), LABELS)
    return folder


def _elements(dataset, batches=None):
    """[(record index, flipped, label row)] of the first `batches` batches, in stream order."""
    out = []
    for b, (images, labels) in enumerate(dataset):
        if batches is not None and b >= batches:
            break
        pixels = np.rint((images.numpy() + 1) * 127.5)  # back to 0..255
        for image, label in zip(pixels, labels.numpy()):
            left, right = image[0, 0, 0], image[0, -1, 0]
            flipped = left > right
            out.append((int((min(left, right) - 5) // 20), bool(flipped), tuple(label)))
    return out


def test_metadata_functions(data_dir):
    assert pipeline.list_resolutions(data_dir) == [4, 8]
    np.testing.assert_array_equal(pipeline.read_labels(data_dir), LABELS)
    assert pipeline.dataset_size(data_dir) == N
    assert pipeline.read_dataset_info(data_dir) is None  # an official-format folder


def test_dataset_info_is_found_from_the_split_folder(tmp_path):
    fx.write_official(str(tmp_path / "train"), _images(2))
    info = {"classes": ["a"], "splits": {"train": {}, "val": {}}}
    (tmp_path / "dataset.json").write_text(json.dumps(info))
    assert pipeline.read_dataset_info(str(tmp_path / "train")) == info
    assert pipeline.read_dataset_info(str(tmp_path)) == info


def test_one_ordered_pass_gives_the_exact_values(data_dir):
    ds = pipeline.make_dataset(data_dir, 8, 2, shuffle=False, repeat=False)
    batches = list(ds)
    assert [b[0].shape[0] for b in batches] == [2, 2, 1]  # last partial batch kept
    images = np.concatenate([b[0].numpy() for b in batches])
    np.testing.assert_allclose(images, _images() / 127.5 - 1, atol=1e-6)
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), LABELS)
    low = np.concatenate([b[0].numpy() for b in pipeline.make_dataset(
        data_dir, 4, 8, shuffle=False, repeat=False)])
    assert low.shape == (N, 4, 4, 3)
    np.testing.assert_allclose(low, _images()[:, ::2, ::2] / 127.5 - 1, atol=1e-6)


def test_small_dataset_still_gives_full_batches_and_each_epoch_is_a_permutation(data_dir):
    ds = pipeline.make_dataset(data_dir, 8, 8, seed=4)
    images, labels = next(iter(ds))
    assert images.shape == (8, 8, 8, 3) and labels.shape == (8, K)
    stream = _elements(ds, batches=4)  # 32 elements = 6.4 epochs
    for e in range(6):
        assert sorted(i for i, _, _ in stream[e * N:(e + 1) * N]) == list(range(N))
    for i, _, label in stream:  # labels travel with their records through the shuffle
        assert label == tuple(LABELS[i])
    epochs = {tuple(i for i, _, _ in stream[e * N:(e + 1) * N]) for e in range(6)}
    assert len(epochs) > 1  # reshuffled per epoch


def test_same_seed_same_stream_and_start_index_skips_elements(data_dir):
    def stream(**kw):
        return _elements(pipeline.make_dataset(data_dir, 8, 16, mirror=True, **kw), batches=1)

    base = stream(seed=9)
    assert base == stream(seed=9)
    assert base != stream(seed=10)
    for k in (3, 10):  # inside the first epoch; at an epoch boundary (N = 5)
        assert stream(seed=9, start_index=k)[:16 - k] == base[k:]


def test_mirror_flips_depend_on_the_stream_position_alone(data_dir, monkeypatch):
    monkeypatch.setattr(pipeline, "_FLIP_BLOCK", 8)  # cross draw blocks within a few batches

    def flips(batch, start_index=0, batches=4):
        return [f for _, f, _ in _elements(pipeline.make_dataset(
            data_dir, 8, batch, seed=4, mirror=True, start_index=start_index), batches=batches)]

    base = flips(16)  # 64 positions, 8 draw blocks
    assert 16 <= sum(base) <= 48
    assert flips(7, batches=10)[:64] == base  # another batch size: the same flips
    assert flips(5, start_index=13, batches=11)[:51] == base[13:]  # resumed mid-block


def test_block_shuffle_is_a_deterministic_permutation_per_epoch(data_dir):
    ds = pipeline.make_dataset(data_dir, 8, 5, seed=2, shuffle_buffer=2)
    stream = _elements(ds, batches=3)
    for e in range(3):
        assert sorted(i for i, _, _ in stream[e * N:(e + 1) * N]) == list(range(N))
    assert stream == _elements(pipeline.make_dataset(data_dir, 8, 5, seed=2, shuffle_buffer=2),
                               batches=3)


def test_mirror_flips_left_right_about_half_the_time(data_dir):
    stream = _elements(pipeline.make_dataset(data_dir, 8, 10, seed=1, mirror=True), batches=6)
    flips = [f for _, f, _ in stream]
    assert 15 <= sum(flips) <= 45
    plain = _elements(pipeline.make_dataset(data_dir, 8, 10, seed=1), batches=6)
    assert not any(f for _, f, _ in plain)
    assert [i for i, _, _ in plain] == [i for i, _, _ in stream]  # mirroring leaves the order


def test_official_folder_without_labels_gives_zero_width_labels(tmp_path):
    folder = str(tmp_path / "celeb")
    fx.write_official(folder, _images(3))
    assert pipeline.read_labels(folder) is None and pipeline.dataset_size(folder) == 3
    images, labels = next(iter(pipeline.make_dataset(folder, 8, 4)))
    assert images.shape == (4, 8, 8, 3) and labels.shape == (4, 0)


def test_clear_errors_for_missing_files_and_levels(tmp_path, data_dir):
    with pytest.raises(UserError, match="holds no <name>-rNN.tfrecords"):
        pipeline.list_resolutions(str(tmp_path))
    with pytest.raises(UserError, match="resolution 16 is not in"):
        pipeline.make_dataset(data_dir, 16, 2)
    folder = str(tmp_path / "gap")
    fx.write_official(folder, np.zeros((2, 16, 16, 3), np.uint8))
    os.remove(os.path.join(folder, "gap-r03.tfrecords"))
    with pytest.raises(UserError, match=r"lacks the level\(s\) \[8\]"):
        pipeline.list_resolutions(folder)


def _fade_reference(images, alpha):
    """Loop-based NumPy reference of the official FadeLOD on NHWC images."""
    out = np.empty_like(images)
    b, h, w, c = images.shape
    for y in range(h):
        for x in range(w):
            y0, x0 = y // 2 * 2, x // 2 * 2
            low = images[:, y0:y0 + 2, x0:x0 + 2, :].mean(axis=(1, 2))
            out[:, y, x, :] = low + (images[:, y, x, :] - low) * alpha
    return out


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_fade_reals_matches_numpy_reference(alpha):
    images = np.random.default_rng(0).uniform(-1, 1, (2, 4, 6, 3)).astype(np.float32)
    got = pipeline.fade_reals(tf.constant(images), tf.constant(alpha)).numpy()
    np.testing.assert_allclose(got, _fade_reference(images, alpha), atol=1e-6)
    if alpha == 1.0:
        np.testing.assert_array_equal(got, images)


def _batches(dataset, count):
    """The first `count` batches as NumPy (images, labels) pairs."""
    return [(x.numpy(), y.numpy()) for x, y in dataset.take(count)]


@pytest.mark.parametrize("mirror, shuffle_buffer", [(True, None), (False, 2)])  # 1 / 19 blocks
def test_reading_from_the_file_gives_exactly_the_in_memory_stream(tmp_path, monkeypatch, mirror,
                                                                  shuffle_buffer):
    # 37 records (not a multiple of the chunk), images with distinct pixels, labels by class.
    rng = np.random.default_rng(3)
    folder = str(tmp_path / "train")
    fx.write_official(folder, rng.integers(0, 256, (37, RES, RES, 3), dtype=np.uint8),
                      np.eye(K, dtype=np.float32)[rng.integers(0, K, 37)])
    kw = dict(seed=6, start_index=53, mirror=mirror, shuffle_buffer=shuffle_buffer)
    reads = []
    real_read = pipeline.record_index.RecordFile.read
    monkeypatch.setattr(pipeline.record_index.RecordFile, "read",
                        lambda self, js: reads.append(len(js)) or real_read(self, js))
    memory = _batches(pipeline.make_dataset(folder, RES, 9, cache_mb=1, **kw), 12)  # 3 epochs
    assert reads == []  # 37 records of 192 bytes fit 1 MB: held in memory
    from_file = _batches(pipeline.make_dataset(folder, RES, 9, cache_mb=0, **kw), 12)
    assert sum(reads) >= 108  # budget 0: every element was read from the file
    assert len(from_file) == 12
    for (x_mem, y_mem), (x_file, y_file) in zip(memory, from_file):
        np.testing.assert_array_equal(x_file, x_mem)
        np.testing.assert_array_equal(y_file, y_mem)


def test_file_path_without_labels_and_its_damaged_record_error(tmp_path):
    folder = str(tmp_path / "celeb")
    fx.write_official(folder, _images(3))
    images, labels = next(iter(pipeline.make_dataset(folder, 8, 4, cache_mb=0)))
    assert images.shape == (4, 8, 8, 3) and labels.shape == (4, 0)
    path = os.path.join(folder, "celeb-r03.tfrecords")
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x10  # a flipped bit inside record 1's image bytes
    with open(path, "wb") as f:
        f.write(data)
    with pytest.raises(tf.errors.OpError, match="celeb-r03.tfrecords: record 1 at byte"):
        next(iter(pipeline.make_dataset(folder, 8, 4, cache_mb=0)))
    with open(path, "wb") as f:
        f.write(data[:-5])  # a truncated tail is found when the index is built
    with pytest.raises(UserError, match="celeb-r03.tfrecords: record 2 .* truncated"):
        pipeline.make_dataset(folder, 8, 4, cache_mb=0)


class _Payload:
    """Unpickling this would run code (it records that it ran)."""
    ran = []

    def __reduce__(self):
        return (_Payload.ran.append, ("unpickled",))


def test_a_pickled_labels_file_is_refused_without_running_it(tmp_path):
    folder = str(tmp_path / "evil")
    fx.write_official(folder, _images(2))
    with open(os.path.join(folder, "evil-rxx.labels"), "wb") as f:
        np.save(f, np.array([_Payload()], dtype=object), allow_pickle=True)
    with pytest.raises(UserError, match="evil-rxx.labels is not a NumPy array file"):
        pipeline.read_labels(folder)
    assert _Payload.ran == []
