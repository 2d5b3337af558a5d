"""The 2015-12-05 Inception graph loader (pgan_tf/metrics/inception_graph.py) with a tiny GraphDef
written here (same input/output tensor names and the same JPEG-decoding head as the real graph):
features, .pb / .tgz / file:// sources, the download cache, sha256 and size checks, the offline
failure, files that are not the graph. No network."""
import os
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from pgan_tf import fileio
from pgan_tf.errors import UserError
from pgan_tf.metrics import inception_graph as ig
from tests.eval_fixtures import tool

UNREACHABLE = "http://127.0.0.1:9/inception-2015-12-05.tgz"  # the discard port: refused at once
WEIGHTS = (np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4) - 5.0) / 10.0


def _tiny_graph_def():
    """DecodeJpeg/contents -> DecodeJpeg -> Cast -> ExpandDims (batch 1, as in the real graph)
    -> spatial mean -> 1x1 convolution -> pool_3 [N, 1, 1, 4]."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        contents = tf.compat.v1.placeholder(tf.string, [], name="DecodeJpeg/contents")
        image = tf.io.decode_jpeg(contents, channels=3, name="DecodeJpeg")
        batch = tf.expand_dims(tf.cast(image, tf.float32, name="Cast"), 0, name="ExpandDims")
        pooled = tf.reduce_mean(batch, axis=[1, 2], keepdims=True)
        tf.identity(tf.nn.conv2d(pooled, tf.constant(WEIGHTS), 1, "VALID"), name="pool_3")
    return graph.as_graph_def()


def _reference(images):
    """NumPy: mean over pixels of the 0..255 values (grey tiled), times the 1x1 kernel."""
    x = images.astype(np.float64)
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return x.mean(axis=(1, 2)) @ WEIGHTS[0, 0].astype(np.float64)


@pytest.fixture(scope="module")
def graph_files(tmp_path_factory):
    """The tiny graph as a .pb and as a tarball holding it under the real member name; its nodes
    carry the batch-1 `_output_shapes` an export with shapes records."""
    import tensorflow as tf

    folder = tmp_path_factory.mktemp("graph")
    pb = folder / ig.GRAPH_MEMBER
    graph_def = _tiny_graph_def()
    with tf.Graph().as_default() as graph:
        tf.compat.v1.import_graph_def(graph_def, name="")
    pb.write_bytes(graph.as_graph_def(add_shapes=True).SerializeToString())
    tgz = folder / "inception-2015-12-05.tgz"
    with tarfile.open(tgz, "w:gz") as archive:
        archive.add(pb, arcname=ig.GRAPH_MEMBER)
    return str(pb), str(tgz)


def _images(n, seed, channels=3):
    return np.random.RandomState(seed).randint(0, 256, (n, 6, 7, channels)).astype(np.uint8)


@pytest.mark.parametrize("which", [0, 1], ids=["pb", "tgz"])
def test_features_of_a_local_graph_in_batches(graph_files, which, tmp_path):
    features, info = ig.load_graph_features(graph_files[which], batch_size=2,
                                            cache_dir=str(tmp_path))
    images = _images(5, 0)                            # batches 2, 2, 1 through a batch-1 graph
    got = features(images)
    assert got.shape == (5, 4) and got.dtype == np.float64
    np.testing.assert_allclose(got, _reference(images), rtol=1e-5, atol=1e-3)
    grey = _images(3, 1, channels=1)
    np.testing.assert_allclose(features(grey), _reference(grey), rtol=1e-5, atol=1e-3)
    assert info["network"] == ig.NETWORK and info["graph_sha256"] == fileio.file_sha256(
        graph_files[which]) and not info["sha256_pinned"]
    assert not os.listdir(tmp_path)                   # a local file is used where it is


def test_a_url_is_downloaded_once_then_read_from_the_cache(graph_files, tmp_path):
    sha = fileio.file_sha256(graph_files[1])
    cache = str(tmp_path / "keras")
    path, got = ig.resolve_graph(f"file://{graph_files[1]}", sha, cache_dir=cache,
                                 progress=False)
    assert got == sha and os.path.dirname(path) == os.path.join(cache, ig.CACHE_SUBDIR)
    # Same file name and pin: the cached copy serves, the unreachable URL is never tried.
    again, _ = ig.resolve_graph(UNREACHABLE, sha, cache_dir=cache, progress=False)
    assert again == path and len(os.listdir(os.path.dirname(path))) == 1


def test_a_wrong_sha256_is_one_line_and_caches_nothing(graph_files, tmp_path):
    sha = fileio.file_sha256(graph_files[1])
    cache = str(tmp_path / "keras")
    with pytest.raises(UserError) as err:
        ig.resolve_graph(f"file://{graph_files[1]}", "0" * 64, cache_dir=cache, progress=False)
    assert "\n" not in str(err.value) and f"has sha256 {sha}, expected {'0' * 64}" in str(err.value)
    assert os.listdir(os.path.join(cache, ig.CACHE_SUBDIR)) == []
    with pytest.raises(UserError, match=f"has sha256 {sha}") as err:
        ig.resolve_graph(graph_files[1], "f" * 64)    # a local file is checked as well
    assert "\n" not in str(err.value)


def test_offline_the_download_fails_at_once_in_one_line(tmp_path):
    with pytest.raises(UserError) as err:
        ig.resolve_graph(UNREACHABLE, cache_dir=str(tmp_path), progress=False)
    message = str(err.value)
    assert "\n" not in message and f"cannot download {UNREACHABLE}" in message
    assert "offline?" in message and "--inception_graph=inception-2015-12-05.tgz" in message
    assert os.listdir(os.path.join(tmp_path, ig.CACHE_SUBDIR)) == []


def test_the_unpinned_default_url_must_have_the_published_size(graph_files, tmp_path,
                                                               monkeypatch):
    url = f"file://{graph_files[1]}"
    monkeypatch.setattr(ig, "GRAPH_URL", url)          # stands in for the real address
    monkeypatch.setattr(ig, "GRAPH_BYTES", os.path.getsize(graph_files[1]) + 1)
    with pytest.raises(UserError, match="bytes, the published tarball has") as err:
        ig.resolve_graph(url, cache_dir=str(tmp_path / "a"), progress=False)
    assert "\n" not in str(err.value)
    monkeypatch.setattr(ig, "GRAPH_BYTES", os.path.getsize(graph_files[1]))
    _, got = ig.resolve_graph(url, cache_dir=str(tmp_path / "b"), progress=False)
    assert got == fileio.file_sha256(graph_files[1])      # recorded although not pinned


@pytest.mark.parametrize("kind", ["not_protobuf", "other_graph", "empty_archive"])
def test_a_file_that_is_not_the_graph_is_one_line(tmp_path, kind):
    import tensorflow as tf

    path = tmp_path / "graph.pb"
    if kind == "not_protobuf":
        path.write_bytes(b"\xff\xff\xff not a protobuf")
    elif kind == "other_graph":
        graph = tf.Graph()
        with graph.as_default():
            tf.constant(1.0, name="something_else")
        path.write_bytes(graph.as_graph_def().SerializeToString())
    else:
        path = tmp_path / "graph.tgz"
        (tmp_path / "readme.txt").write_text("no graph here")
        with tarfile.open(path, "w:gz") as archive:
            archive.add(tmp_path / "readme.txt", arcname="readme.txt")
    with pytest.raises(UserError) as err:
        ig.read_graph_def(str(path))
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_flag_checks_need_no_tensorflow(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        ig.check_source(str(tmp_path / "missing.tgz"))
    with pytest.raises(UserError, match="64 hex digits"):
        ig.check_source(ig.GRAPH_URL, "abc")
    ig.check_source(ig.GRAPH_URL, "A" * 64)           # a URL is not fetched by the check


def test_tool_refuses_a_missing_graph_file_in_one_line(tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = subprocess.run(
        [sys.executable, tool("evaluate"), "--fakes=.", "--reals=.", "--metrics=fid,kid",
         "--inception_graph=missing.tgz", f"--output={out_dir / 'r.json'}"],
        capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "--inception_graph=missing.tgz: no such file" in lines[0]
    assert not os.listdir(out_dir)
