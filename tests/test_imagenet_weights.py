"""--classifier_weights=imagenet: download once (file:// URL here), sha256 check, convert, cache;
offline and wrong-hash failures are one line and leave nothing cached."""
import os
import time

import numpy as np
import pytest
from safetensors.numpy import save_file

from pgan_tf.errors import UserError
from pgan_tf.eval import classifier, imagenet_weights as iw, torch_weights
from tests import resnet18_reference as ref

UNREACHABLE = "http://127.0.0.1:9/model.safetensors"  # the discard port: connection refused


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A 'published' ImageNet file: a random torchvision state dict as safetensors, its sha256."""
    state = ref.random_state_dict(seed=2, timm=True)
    path = str(tmp_path_factory.mktemp("hub") / "model.safetensors")
    save_file(state, path)
    return path, torch_weights.file_sha256(path), state


def _cached(cache):
    folder = os.path.join(cache, iw.CACHE_SUBDIR)
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_downloads_converts_and_caches_once(published, tmp_path, capsys):
    source, sha, state = published
    cache = str(tmp_path / "not-yet" / "keras")  # get_file would fall back to /tmp without it
    config = classifier.ClassifierConfig(weights_path=iw.IMAGENET)
    resolved = iw.resolve_classifier_weights(config, progress=True, url=f"file://{source}",
                                             sha256=sha, cache_dir=cache)
    assert os.path.dirname(resolved.weights_path) == os.path.join(cache, iw.CACHE_SUBDIR)
    assert resolved.weights_sha256 == sha and resolved.pretrained
    assert resolved.to_dict()["weights_sha256"] == sha and source in resolved.weights_source
    assert len(_cached(cache)) == 2  # the downloaded file and the converted .weights.h5
    assert "Downloading data from" not in capsys.readouterr().out  # stdout holds results only
    model = classifier.build_resnet18(1000, 32, width=64)
    model.load_weights(resolved.weights_path)
    np.testing.assert_array_equal(model.get_layer("fc").get_weights()[1], state["fc.bias"])
    # Cached: no network needed any more (an unreachable URL is not even tried).
    again = iw.fetch_imagenet_weights(url=UNREACHABLE, sha256=sha, cache_dir=cache)
    assert again == resolved.weights_path
    assert iw.resolve_classifier_weights(resolved) is resolved  # idempotent


def test_wrong_sha256_is_one_line_and_caches_nothing(published, tmp_path):
    source, sha, _ = published
    cache = str(tmp_path / "keras")
    with pytest.raises(UserError) as err:
        iw.fetch_imagenet_weights(url=f"file://{source}", sha256="0" * 64, cache_dir=cache,
                                  progress=False)
    assert "\n" not in str(err.value) and f"has sha256 {sha}" in str(err.value)
    assert _cached(cache) == []


def test_offline_fails_at_once_with_the_manual_route(tmp_path):
    cache = str(tmp_path / "keras")
    start = time.monotonic()
    with pytest.raises(UserError) as err:
        iw.fetch_imagenet_weights(url=UNREACHABLE, sha256="1" * 64, cache_dir=cache, progress=False)
    message = str(err.value)
    assert time.monotonic() - start < 20  # refused at once: no retries, no long timeout
    assert "\n" not in message and UNREACHABLE in message and "pgan-convert-weights" in message
    assert _cached(cache) == []


def test_pins_are_a_commit_and_a_sha256_and_files_resolve_to_their_hash(tmp_path):
    # The pinned URL names one revision (40 hex digits), never a branch such as main.
    revision = iw.IMAGENET_URL.split("/resolve/")[1].split("/")[0]
    assert len(revision) == 40 and int(revision, 16) >= 0
    assert len(iw.IMAGENET_SHA256) == 64 and int(iw.IMAGENET_SHA256, 16) >= 0
    path = tmp_path / "mine.weights.h5"
    path.write_bytes(b"weights")
    resolved = iw.resolve_classifier_weights(classifier.ClassifierConfig(weights_path=str(path)))
    assert resolved.weights_sha256 == torch_weights.file_sha256(str(path))
    assert iw.resolve_classifier_weights(classifier.ClassifierConfig()).weights_sha256 is None
    with pytest.raises(UserError, match="--classifier_width=8"):  # before any download
        iw.resolve_classifier_weights(classifier.ClassifierConfig(weights_path=iw.IMAGENET, width=8),
                                      url=UNREACHABLE, cache_dir=str(tmp_path / "k"))
    iw.check_weights_flag(iw.IMAGENET)
    with pytest.raises(UserError, match="no such file.*imagenet"):
        iw.check_weights_flag(str(tmp_path / "missing.weights.h5"))
