"""torchvision / timm ResNet-18 state dict → the Keras ResNet-18 of `classifier.py` (`.weights.h5`).

The Keras model is built so that converted weights compute torchvision's function: layers are named
after the state_dict modules ('.' → '_'), padding is explicit and symmetric, BatchNorm epsilon is
1e-5 and the input normalisation is torchvision's (`classifier.build_resnet18`). The conversion is
then a renaming plus layout changes:

* conv `<m>.weight` [out, in, kh, kw] (OIHW) → Keras kernel [kh, kw, in, out] (HWIO);
* BatchNorm `<m>.weight, .bias, .running_mean, .running_var` → [gamma, beta, moving_mean,
  moving_variance]; `num_batches_tracked` (absent from timm files) is not a weight;
* `fc.weight` [out, in] → kernel [in, out], `fc.bias` → bias.

The output holds the full 1000-class model: `build_resnet18(1000, size, width=64)` followed by
`model.load_weights(OUT)` gives the converted network at any input size (global average pooling).

Readers: `.safetensors` with the `safetensors` package (NumPy only, no torch); `.pth`/`.pt` only
when PyTorch is importable, and only through `torch.load(..., weights_only=True)`, which refuses to
run code from the file (never unpickle a user's file otherwise).
"""
import os

import numpy as np

from pgan_tf import fileio
from pgan_tf.data.integrity import file_sha256  # noqa: F401  (weights' sha256 in results)
from pgan_tf.errors import UserError
from pgan_tf.eval import classifier

WIDTH = 64                    # the real ResNet-18 (torchvision resnet18)
BUILD_SIZE = 64               # any size: the weights do not depend on the input size
SAFETENSORS_EXTENSIONS = (".safetensors",)
TORCH_EXTENSIONS = (".pth", ".pt")
KERAS_SUFFIX = ".weights.h5"  # Keras 3 `save_weights` requires this ending
NOT_WEIGHTS = ("num_batches_tracked",)
WRAPPER_PREFIXES = ("module.",)  # torch DataParallel checkpoints
BN_PARAMS = ("weight", "bias", "running_mean", "running_var")
NO_TORCH_HINT = ("use the .safetensors file instead (e.g. model.safetensors of the Hugging Face "
                 "repository timm/resnet18.tv_in1k, torchvision's ImageNet weights), or install "
                 "torch to read .pth files")


def read_state_dict(path, flag="--input"):
    """A state dict file → {name: float32 NumPy array}; UserError names `flag` on any problem."""
    if not os.path.isfile(path):
        raise UserError(f"{flag}={path}: no such file")
    ext = os.path.splitext(path)[1].lower()
    if ext in SAFETENSORS_EXTENSIONS:
        from safetensors.numpy import load_file
        try:
            state = load_file(path)
        except Exception as err:  # the Rust reader raises its own types for corrupt files
            raise UserError(f"{flag}={path}: not a readable safetensors file ({err})") from None
    elif ext in TORCH_EXTENSIONS:
        state = _read_torch(path, flag)
    else:
        raise UserError(f"{flag}={path}: unknown weights format {ext or '(no extension)'}; give a "
                        ".safetensors file (or .pth with torch installed)")
    return clean_state_dict(state)


def clean_state_dict(state):
    """{name: array} without the non-weights (`num_batches_tracked`), every array float32."""
    return {k: np.asarray(v, np.float32) for k, v in state.items()
            if k.rsplit(".", 1)[-1] not in NOT_WEIGHTS}


def _read_torch(path, flag):
    """A `.pth` state dict via `torch.load(weights_only=True)` (tensors only, no code)."""
    try:
        import torch
    except ImportError:
        raise UserError(f"{flag}={path}: reading a .pth needs PyTorch, which is not installed; "
                        f"{NO_TORCH_HINT}") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # refused pickles, corrupt files
        raise UserError(f"{flag}={path}: torch.load(weights_only=True) failed ({err})") from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]  # a training checkpoint that wraps the state dict
    if not isinstance(obj, dict):
        raise UserError(f"{flag}={path}: expected a state dict, got {type(obj).__name__}")
    return {k: v.detach().float().cpu().numpy() for k, v in obj.items() if torch.is_tensor(v)}


def keras_layer_weights(state):
    """{torch name: array} → {Keras layer name: [arrays in Keras order]} (module docstring)."""
    for prefix in WRAPPER_PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    modules = {}
    for key, value in state.items():
        module, _, param = key.rpartition(".")
        modules.setdefault(module, {})[param] = value
    out = {}
    for module, params in modules.items():
        name = module.replace(".", "_")
        if set(params) == set(BN_PARAMS):
            out[name] = [params[p] for p in BN_PARAMS]
        elif set(params) == {"weight"} and params["weight"].ndim == 4:
            out[name] = [params["weight"].transpose(2, 3, 1, 0)]  # OIHW → HWIO
        elif set(params) == {"weight", "bias"} and params["weight"].ndim == 2:
            out[name] = [params["weight"].T, params["bias"]]     # [out, in] → [in, out]
        else:
            raise UserError(f"state dict module {module!r} has parameters {sorted(params)}, which "
                            "are not a ResNet-18 conv, BatchNorm or fc layer")
    return out


def check_output_path(output_path):
    """UserError unless `output_path` is a Keras weights file name (`*.weights.h5`)."""
    if not output_path or not output_path.endswith(KERAS_SUFFIX):
        raise UserError(f"--output={output_path}: must end with {KERAS_SUFFIX} (Keras weights file)")


def convert_state_dict(state, output_path, flag="--input"):
    """Fill a 1000-class width-64 Keras ResNet-18 from `state` and save it to `output_path`
    (written to a temp file next to it, then renamed). Refuses missing, extra or misshapen layers."""
    check_output_path(output_path)
    weights = keras_layer_weights(state)
    model = classifier.build_resnet18(classifier.IMAGENET_CLASSES, BUILD_SIZE, WIDTH)
    layers = {layer.name: layer for layer in model.layers if layer.weights}
    missing, extra = sorted(set(layers) - set(weights)), sorted(set(weights) - set(layers))
    if missing or extra:
        raise UserError(f"{flag}: not a torchvision/timm ResNet-18 state dict (missing layers "
                        f"{missing[:3]}, unexpected {extra[:3]})")
    for name, layer in layers.items():
        want = [tuple(w.shape) for w in layer.weights]
        got = [tuple(a.shape) for a in weights[name]]
        if want != got:
            raise UserError(f"{flag}: layer {name} has shapes {got}, the 1000-class ResNet-18 "
                            f"needs {want}")
        layer.set_weights(weights[name])
    with fileio.local_atomic_path(output_path, "--output", suffix=KERAS_SUFFIX) as tmp:
        model.save_weights(tmp, overwrite=True)


def convert_file(input_path, output_path):
    """Convert the state dict file `input_path` into `output_path`; returns the input's sha256."""
    check_output_path(output_path)  # before the (slow) read
    state = read_state_dict(input_path)
    convert_state_dict(state, output_path)
    return file_sha256(input_path)
