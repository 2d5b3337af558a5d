"""torchvision's ResNet-18 written out in NumPy (float64), independent of the project's Keras model.

`random_state_dict` gives every tensor of torchvision's `resnet18()` state_dict (names, shapes,
`num_batches_tracked`), with BatchNorm running statistics away from 0/1 so that a swapped or
missing statistic changes the output. `forward` is torchvision's `ResNet.forward` in eval mode on
uint8 images, with its input transform (ToTensor → [0, 1], Normalize with the ImageNet mean/std):
convolutions by im2col (sliding windows on the zero-padded input, one matrix product), padding
`kernel // 2` on every side, max-pool padded with -inf, as PyTorch.
"""
import numpy as np

MEAN = np.array([0.485, 0.456, 0.406])  # torchvision ImageNet normalisation
STD = np.array([0.229, 0.224, 0.225])
EPS = 1e-5                              # nn.BatchNorm2d default
WIDTHS = (64, 128, 256, 512)            # layer1..layer4
NUM_CLASSES = 1000


def _bn(rng, prefix, c, state):
    state[f"{prefix}.weight"] = rng.uniform(0.5, 1.5, c)
    state[f"{prefix}.bias"] = rng.normal(0, 0.2, c)
    state[f"{prefix}.running_mean"] = rng.normal(0, 0.2, c)
    state[f"{prefix}.running_var"] = rng.uniform(0.5, 2.0, c)
    state[f"{prefix}.num_batches_tracked"] = np.array(1000, np.int64)


def _conv(rng, name, c_out, c_in, k, state):
    state[name] = rng.normal(0, np.sqrt(2.0 / (c_in * k * k)), (c_out, c_in, k, k))  # OIHW


def random_state_dict(seed=0, timm=False):
    """{name: array} in torchvision's layout (float32; int64 num_batches_tracked unless `timm`)."""
    rng = np.random.default_rng(seed)
    state = {}
    _conv(rng, "conv1.weight", 64, 3, 7, state)
    _bn(rng, "bn1", 64, state)
    c_in = 64
    for stage, c in enumerate(WIDTHS, start=1):
        for block in range(2):
            p = f"layer{stage}.{block}"
            _conv(rng, f"{p}.conv1.weight", c, c_in, 3, state)
            _bn(rng, f"{p}.bn1", c, state)
            _conv(rng, f"{p}.conv2.weight", c, c, 3, state)
            _bn(rng, f"{p}.bn2", c, state)
            if block == 0 and stage > 1:
                _conv(rng, f"{p}.downsample.0.weight", c, c_in, 1, state)
                _bn(rng, f"{p}.downsample.1", c, state)
            c_in = c
    bound = 1 / np.sqrt(512)
    state["fc.weight"] = rng.uniform(-bound, bound, (NUM_CLASSES, 512))
    state["fc.bias"] = rng.uniform(-bound, bound, NUM_CLASSES)
    return {k: (v if v.dtype == np.int64 else v.astype(np.float32)) for k, v in state.items()
            if not (timm and k.endswith("num_batches_tracked"))}


def _windows(x, k, stride, pad, value):
    """[N, H, W, C] → patches [N, H', W', C, k, k] of the `value`-padded input at `stride`."""
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=value)
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))
    return win[:, ::stride, ::stride]


def conv2d(x, w, stride):
    """torch Conv2d(bias=False, padding=k // 2) on NHWC x with OIHW w → NHWC."""
    k = w.shape[-1]
    win = _windows(x, k, stride, k // 2, 0.0)
    return np.tensordot(win, w.astype(np.float64), axes=([3, 4, 5], [1, 2, 3]))


def batch_norm(x, state, prefix):
    """Eval-mode BatchNorm2d with the running statistics."""
    g, b = state[f"{prefix}.weight"], state[f"{prefix}.bias"]
    m, v = state[f"{prefix}.running_mean"], state[f"{prefix}.running_var"]
    return (x - m) / np.sqrt(v.astype(np.float64) + EPS) * g + b


def _block(x, state, p, stride):
    relu = lambda t: np.maximum(t, 0)  # noqa: E731
    y = relu(batch_norm(conv2d(x, state[f"{p}.conv1.weight"], stride), state, f"{p}.bn1"))
    y = batch_norm(conv2d(y, state[f"{p}.conv2.weight"], 1), state, f"{p}.bn2")
    if f"{p}.downsample.0.weight" in state:
        x = batch_norm(conv2d(x, state[f"{p}.downsample.0.weight"], stride), state,
                       f"{p}.downsample.1")
    return relu(y + x)


def forward(state, images):
    """Logits float64 [N, 1000] of uint8 images [N, S, S, 3] (torchvision eval-mode forward)."""
    x = (images.astype(np.float64) / 255.0 - MEAN) / STD
    x = np.maximum(batch_norm(conv2d(x, state["conv1.weight"], 2), state, "bn1"), 0)
    x = _windows(x, 3, 2, 1, -np.inf).max(axis=(4, 5))  # MaxPool2d(3, stride 2, padding 1)
    for stage in range(1, 5):
        for block in range(2):
            x = _block(x, state, f"layer{stage}.{block}", 2 if stage > 1 and block == 0 else 1)
    x = x.mean(axis=(1, 2))  # AdaptiveAvgPool2d(1) + flatten
    return x @ state["fc.weight"].T.astype(np.float64) + state["fc.bias"]
