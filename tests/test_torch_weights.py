"""State dict → Keras ResNet-18: logits equal an independent NumPy torchvision forward; bad files."""
import os
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import save_file

from pgan_tf.errors import UserError
from pgan_tf.eval import classifier, torch_weights
from tests import resnet18_reference as ref

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def state():
    return ref.random_state_dict(seed=0)


@pytest.fixture(scope="module")
def converted(tmp_path_factory, state):
    folder = tmp_path_factory.mktemp("weights")
    source = str(folder / "model.safetensors")
    save_file(state, source)
    out = str(folder / "resnet18.weights.h5")
    sha = torch_weights.convert_file(source, out)
    assert sha == torch_weights.file_sha256(source) and len(sha) == 64
    return source, out


@pytest.mark.parametrize("size", [32, 128])
def test_converted_logits_equal_the_numpy_torchvision_forward(converted, state, size):
    images = np.random.default_rng(size).integers(0, 256, (2, size, size, 3), dtype=np.uint8)
    model = classifier.build_resnet18(1000, size, width=64)
    model.load_weights(converted[1])
    got = np.asarray(model.predict_on_batch(images.astype(np.float32)), np.float64)
    want = ref.forward(state, images)
    assert got.shape == want.shape == (2, 1000)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    assert np.abs(want).max() > 1e-2 and want.std() > 1e-3  # a real signal, not all zeros


def test_timm_layout_without_num_batches_tracked_gives_the_same_weights(tmp_path, state):
    timm = ref.random_state_dict(seed=0, timm=True)
    assert not any(k.endswith("num_batches_tracked") for k in timm)
    wrapped = {f"module.{k}": v for k, v in timm.items()}  # DataParallel prefix is stripped too
    assert torch_weights.keras_layer_weights(wrapped).keys() == \
        torch_weights.keras_layer_weights(torch_weights.clean_state_dict(state)).keys()
    path = str(tmp_path / "timm.safetensors")
    save_file(timm, path)
    a = torch_weights.keras_layer_weights(torch_weights.read_state_dict(path))
    b = torch_weights.keras_layer_weights(torch_weights.clean_state_dict(state))
    for name in b:
        for x, y in zip(a[name], b[name]):
            np.testing.assert_array_equal(x, y)
    # conv OIHW → HWIO and fc [out, in] → [in, out]
    np.testing.assert_array_equal(a["conv1"][0][2, 4, 1, 5], state["conv1.weight"][5, 1, 2, 4])
    np.testing.assert_array_equal(a["fc"][0][7, 3], state["fc.weight"][3, 7])


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("layer3.1.bn2.running_var"), "layer3.1.bn2"),
    (lambda s: s.update({"fc.weight": s["fc.weight"][:10], "fc.bias": s["fc.bias"][:10]}),
     "layer fc has shapes"),
    (lambda s: s.update({"head.conv.weight": np.zeros((2, 2, 1, 1), np.float32)}),
     "unexpected \\[.head_conv.\\]"),
    (lambda s: s.update({"head.proj.weight": np.zeros((2, 2), np.float32)}), "head.proj"),
])
def test_a_state_dict_that_is_not_resnet18_is_refused(tmp_path, state, change, message):
    bad = dict(state)
    change(bad)
    with pytest.raises(UserError, match=message):
        torch_weights.convert_state_dict(torch_weights.clean_state_dict(bad),
                                         str(tmp_path / "x.weights.h5"))
    assert os.listdir(tmp_path) == []  # nothing half-written


def test_pth_without_torch_says_how_to_get_a_safetensors_file(tmp_path, monkeypatch):
    path = tmp_path / "resnet18.pth"
    path.write_bytes(b"not read")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch → ImportError
    with pytest.raises(UserError, match="needs PyTorch.*safetensors"):
        torch_weights.read_state_dict(str(path))
    with pytest.raises(UserError, match="unknown weights format"):
        torch_weights.read_state_dict(str(path.rename(tmp_path / "w.npz")))


def _convert_tool(*args):
    return subprocess.run([sys.executable, "tools/convert_classifier_weights.py", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_tool_refuses_bad_paths_in_one_line(tmp_path, converted):
    for args, message in ((["--input=/no/such.safetensors", f"--output={tmp_path}/o.weights.h5"],
                           "--input=/no/such.safetensors: no such file"),
                          ([f"--input={converted[0]}", f"--output={tmp_path}/o.h5"],
                           "must end with .weights.h5")):
        out = _convert_tool(*args)
        assert out.returncode == 2 and out.stderr.strip().count("\n") == 0, out.stderr
        assert message in out.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_tool_converts_a_safetensors_file(tmp_path, converted, state):
    out = _convert_tool(f"--input={converted[0]}", f"--output={tmp_path}/r.weights.h5")
    assert out.returncode == 0, out.stderr
    assert torch_weights.file_sha256(converted[0]) in out.stdout
    model = classifier.build_resnet18(1000, 32, width=64)
    model.load_weights(str(tmp_path / "r.weights.h5"))
    np.testing.assert_array_equal(model.get_layer("fc").get_weights()[1], state["fc.bias"])
