"""Tests for pgan_tf.sampling (uint8 conversion of docs/design.md#ms-ssim-fid-and-uint8-images,
fixed inputs, grids, PNGs)."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from pgan_tf import sampling


def test_to_uint8_golden_values():
    x = np.array([-1.0, 1.0, 0.0, 0.5, -0.5, 0.25, -2.0, 1.5], np.float32)
    # 127.5 x + 127.5 = 0, 255, 127.5 (half to even -> 128), 191.25, 63.75, 159.375, -127.5, 318.75.
    np.testing.assert_array_equal(sampling.to_uint8(x), [0, 255, 128, 191, 64, 159, 0, 255])
    assert sampling.to_uint8(x).dtype == np.uint8


def test_to_uint8_rounding_edges_around_the_middle():
    # 127.5 +- 0.49 rounds to 128 / 127; 127.5 +- 0.51 gives 128 / 127 as well; +-1.49 -> 129 / 126.
    offsets = np.array([0.49, -0.49, 0.51, -0.51, 1.49, -1.49, 0.5, -0.5], np.float64)
    x = (offsets / 127.5).astype(np.float32)
    np.testing.assert_array_equal(sampling.to_uint8(x), [128, 127, 128, 127, 129, 126, 128, 127])
    # Just inside the range ends, and one step in.
    ends = np.array([1 - 0.4 / 127.5, -1 + 0.4 / 127.5, 1 - 0.6 / 127.5, -1 + 0.6 / 127.5], np.float32)
    np.testing.assert_array_equal(sampling.to_uint8(ends), [255, 0, 254, 1])


def test_to_uint8_keeps_shape_and_maps_nan_to_black():
    images = np.zeros([2, 3, 3, 1], np.float32)
    images[0, 0, 0, 0] = np.nan
    out = sampling.to_uint8(images)
    assert out.shape == (2, 3, 3, 1) and out[0, 0, 0, 0] == 0 and out[1, 1, 1, 0] == 128


def test_latents_are_deterministic_normal_draws():
    a = sampling.latents_from_seed(5, 3, 4)
    assert a.dtype == np.float32 and a.shape == (3, 4)
    np.testing.assert_array_equal(a, sampling.latents_from_seed(5, 3, 4))
    reference = np.random.RandomState(5).standard_normal([3, 4]).astype(np.float32)
    np.testing.assert_array_equal(a, reference)
    assert not np.array_equal(a, sampling.latents_from_seed(6, 3, 4))
    with pytest.raises(ValueError, match="seed"):
        sampling.latents_from_seed(-1, 1, 4)


def test_one_hot():
    np.testing.assert_array_equal(sampling.one_hot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])
    assert sampling.one_hot([1], 2).dtype == np.float32
    with pytest.raises(ValueError, match="out of range"):
        sampling.one_hot([3], 3)


def test_class_grid_inputs_rows_are_classes():
    latents, labels = sampling.class_grid_inputs(num_classes=3, per_class=2, latent_size=4, seed=9)
    assert latents.shape == (6, 4) and labels.shape == (6, 3)
    np.testing.assert_array_equal(labels.argmax(axis=1), [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(labels.sum(axis=1), np.ones(6))
    np.testing.assert_array_equal(latents, sampling.latents_from_seed(9, 6, 4))
    assert len({tuple(row) for row in latents}) == 6      # every cell its own latent


@pytest.mark.parametrize("text,expected", [
    ("0-3,7", [0, 1, 2, 3, 7]),
    ("5", [5]),
    (" 1 , 4-5 ", [1, 4, 5]),
    ("2-2", [2]),
])
def test_parse_seeds(text, expected):
    assert sampling.parse_seeds(text) == expected


@pytest.mark.parametrize("text", ["", "a", "1,,2", "3-1", "-2", "1-2-3", "1.5", "4294967296"])
def test_parse_seeds_rejects_junk(text):
    with pytest.raises(ValueError):
        sampling.parse_seeds(text)


def test_make_grid_layout_and_upsampling():
    # Six 4x4 RGB images, each filled with its own index; a 2x3 grid with cells upsampled x16 to 64 px.
    images = np.arange(6, dtype=np.uint8)[:, None, None, None] * np.ones([6, 4, 4, 3], np.uint8)
    grid = sampling.make_grid(images, rows=2, cols=3)
    assert grid.shape == (2 * 64, 3 * 64, 3) and grid.dtype == np.uint8
    for r in range(2):
        for c in range(3):
            cell = grid[r * 64:(r + 1) * 64, c * 64:(c + 1) * 64]
            assert np.all(cell == r * 3 + c), (r, c)


def test_make_grid_nearest_upsampling_of_pixels():
    image = np.arange(16, dtype=np.uint8).reshape([1, 4, 4, 1]) * 10
    grid = sampling.make_grid(image, rows=1, cols=1, min_cell=10)       # factor ceil(10/4) = 3
    assert grid.shape == (12, 12, 3)
    np.testing.assert_array_equal(grid[:, :, 0], np.kron(image[0, :, :, 0], np.ones([3, 3], np.uint8)))
    np.testing.assert_array_equal(grid[..., 0], grid[..., 2])          # gray repeated to RGB
    big = np.zeros([2, 128, 128, 3], np.uint8)
    assert sampling.make_grid(big, rows=1, cols=2).shape == (128, 256, 3)   # no upsampling needed


def test_make_grid_leaves_missing_cells_black_and_validates():
    images = np.full([3, 8, 8, 3], 200, np.uint8)
    grid = sampling.make_grid(images, rows=2, cols=2, min_cell=8)
    assert np.all(grid[8:, 8:] == 0) and np.all(grid[8:, :8] == 200)
    with pytest.raises(ValueError, match="do not fit"):
        sampling.make_grid(images, rows=1, cols=2)
    with pytest.raises(ValueError, match="uint8"):
        sampling.make_grid(images.astype(np.float32), rows=2, cols=2)


@pytest.mark.parametrize("shape", [(5, 7, 3), (5, 7), (5, 7, 1)])
def test_save_png_round_trip_atomic(tmp_path, shape):
    image = np.random.RandomState(0).randint(0, 256, size=shape).astype(np.uint8)
    path = os.path.join(str(tmp_path), "sub", "grid.png")
    sampling.save_png(path, image)
    with Image.open(path) as loaded:
        assert loaded.format == "PNG"
        expected = image[..., 0] if shape == (5, 7, 1) else image
        np.testing.assert_array_equal(np.asarray(loaded), expected)
    assert os.listdir(os.path.dirname(path)) == ["grid.png"]


def test_save_png_failure_leaves_no_files(tmp_path):
    with pytest.raises(ValueError):
        sampling.save_png(str(tmp_path / "x.png"), np.zeros([2, 2], np.float32))
    assert os.listdir(str(tmp_path)) == []


def test_save_png_interrupted_write_keeps_old_file(tmp_path, monkeypatch):
    path = str(tmp_path / "fakes.png")
    old = np.full([4, 4, 3], 7, np.uint8)
    sampling.save_png(path, old)

    def broken_write(target, data):  # the temp file is half written, then the disk is full
        with open(target, "wb") as f:
            f.write(data[:3])
        raise OSError("disk full")

    monkeypatch.setattr(sampling.fileio, "write_bytes", broken_write)
    with pytest.raises(OSError, match="disk full"):
        sampling.save_png(path, np.zeros([4, 4, 3], np.uint8))
    monkeypatch.undo()
    assert os.listdir(str(tmp_path)) == ["fakes.png"]
    with Image.open(path) as loaded:
        np.testing.assert_array_equal(np.asarray(loaded), old)


def test_import_does_not_load_tensorflow():
    code = "import sys, pgan_tf.sampling; sys.exit(1 if 'tensorflow' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_labelled_grid_names_each_row_at_one_text_height_whatever_the_cell_size():
    from tests import sheet_helpers

    names = ["MEL", "NV", "BCC", "AKIEC"]
    heights = set()
    for size in (4, 16, 256):
        rng = np.random.RandomState(size)
        images = rng.randint(0, 250, (4 * 3, size, size, 3)).astype(np.uint8)
        sheet = sampling.labelled_grid(images, 4, 3, names, [("reals", 1), ("fakes", 2)])
        header = sampling.LABEL_FONT_SIZE + 2 * sampling.LABEL_PAD
        margin = sheet_helpers.margin_width(sheet, header)
        grid = sampling.make_grid(images, 4, 3)
        assert sheet.shape == (header + grid.shape[0], margin + grid.shape[1], 3)
        np.testing.assert_array_equal(sheet[header:, margin:], grid)   # images untouched
        assert sheet_helpers.row_labels(sheet, 4, names, header) == names
        heights.update(sheet_helpers.label_heights(sheet, 4, header))
    assert min(heights) >= 12 and max(heights) - min(heights) <= 6  # 'AKIEC' vs 'NV': same caps


def test_labelled_grid_checks_its_labels():
    images = np.zeros((4, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="2 row labels for 1 rows"):
        sampling.labelled_grid(images, 1, 4, ["a", "b"])
    with pytest.raises(ValueError, match="do not add up"):
        sampling.labelled_grid(images, 1, 4, ["a"], [("reals", 1)])
