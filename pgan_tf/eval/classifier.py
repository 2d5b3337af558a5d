"""ResNet-18 classifier (Keras, NHWC) and its training recipe for GAN-train / GAN-test (paper §3.3).

Architecture = torchvision `resnet18`: 7x7/2 conv stem, BatchNorm, ReLU, 3x3/2 max-pool, BasicBlocks
[2, 2, 2, 2] with widths (64, 128, 256, 512), 1x1/2 projection shortcuts where the shape changes,
global average pooling (the paper's AdaptiveAvgPool2d, so 32..256 inputs all work) and a dense head
giving logits. Padding is explicit and symmetric as in PyTorch (not Keras 'same', which pads
asymmetrically at stride 2), so converted torchvision weights compute the same function.
Layers are named after torchvision's state_dict keys with '.' -> '_' (`conv1`, `bn1`,
`layer2_0_downsample_0`, ..., `fc`).

Preprocessing is inside the model: its input is float pixels in 0..255 (uint8 cast to float), scaled to
[0, 1] and normalised with the ImageNet mean/std (paper §3.3).

Recipe (paper §3.3): SGD with momentum 0.9, learning rate 0.001, batch 64, 50 epochs, cross-entropy;
no weight decay or augmentation is stated, so none is used. The paper fine-tunes an ImageNet model
(Table 2 caption): with `weights_path` every layer but the head starts from ImageNet and the whole
network is trained (`pretrained` true, recorded with the weights' sha256). Without it the network
trains from scratch and the numbers are not comparable with the paper's.

Pretrained weights (`weights_path`): a `.weights.h5` file written by Keras `model.save_weights` for
`build_resnet18(1000, any_size, width=64)`; every layer but the head `fc` is copied.
`torch_weights.py` (`pgan-convert-weights`) makes one from a torchvision / timm state dict, and
`imagenet_weights.py` (`--classifier_weights=imagenet`) downloads and converts torchvision's.
"""
import dataclasses
import os
import warnings
from typing import Optional

import numpy as np

from pgan_tf.config_fields import field
from pgan_tf.errors import UserError

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # paper §3.3 (torchvision ImageNet statistics)
IMAGENET_STD = (0.229, 0.224, 0.225)   # paper §3.3
IMAGENET_CLASSES = 1000                # head size of a pretrained weights file
PIXEL_MAX = 255.0                      # uint8 images -> [0, 1]
BLOCKS_PER_STAGE = (2, 2, 2, 2)        # ResNet-18 (He et al. 2016; torchvision resnet18)
STAGE_WIDTH_MULTIPLIERS = (1, 2, 4, 8)  # stage widths = width x (1, 2, 4, 8) = 64..512
BN_EPSILON = 1e-5                      # torchvision BatchNorm2d eps
BN_MOMENTUM = 0.9                      # Keras convention for torchvision momentum 0.1
HEAD_NAME = "fc"


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    """Training recipe of the GAN-train / GAN-test classifier; defaults = paper §3.3."""

    epochs: int = field(50, "Classifier epochs (paper §3.3: 50).", lo=1)
    batch_size: int = field(64, "Classifier batch size (paper §3.3: 64).",
                            flag="classifier_batch_size", lo=1)
    learning_rate: float = field(0.001, "SGD learning rate (paper §3.3: 0.001).",
                                 flag="classifier_learning_rate", above=0.0)
    momentum: float = 0.9
    # stem width (64 = ResNet-18; tests use narrow nets)
    width: int = field(64, "ResNet stem width (64 = ResNet-18).", flag="classifier_width", lo=1)
    # weights init and shuffling; a binary's classifier seeds are --seed .. --seed + repeats - 1
    seed: int = dataclasses.field(default=0, metadata={"reads": "seed"})
    # pretrained ImageNet `.weights.h5`, or "imagenet" until
    # `imagenet_weights.resolve_classifier_weights` turns it into the cached converted file
    weights_path: Optional[str] = field(
        None, "imagenet: fine-tune torchvision's ImageNet ResNet-18 (downloaded once into the "
        "Keras cache, as the paper); or a .weights.h5 path (pgan-convert-weights); default: from "
        "scratch (docs/evaluation.md).", flag="classifier_weights")
    weights_sha256: Optional[str] = None  # set by that resolution: recorded with every result
    weights_source: Optional[str] = None  # "imagenet: <pinned URL>" or the given file
    # Weight each training image by N / (K * count of its class), so rare classes count as much as
    # common ones in the loss (not in the paper's recipe, which is unweighted; the demo uses it).
    balanced: bool = field(False, "Weight the classifier's loss so every class counts alike "
                           "(N / (K * class count) per image); the paper's recipe is unweighted.",
                           flag="classifier_balanced")

    def __post_init__(self):
        for name in ("epochs", "batch_size", "width"):
            if getattr(self, name) < 1:
                raise UserError(f"classifier {name} must be >= 1, got {getattr(self, name)}")
        if self.learning_rate <= 0 or not 0 <= self.momentum < 1:
            raise UserError(f"classifier learning_rate must be > 0 and momentum in [0, 1), got "
                            f"{self.learning_rate} and {self.momentum}")

    @property
    def pretrained(self) -> bool:
        """True when training starts from ImageNet weights (the whole network is fine-tuned)."""
        return self.weights_path is not None

    def to_dict(self):
        """JSON-ready fields plus `pretrained` (recorded with every result)."""
        return {**dataclasses.asdict(self), "pretrained": self.pretrained}


def _conv(x, filters, kernel, stride, name):
    """Bias-free conv with PyTorch padding (kernel // 2 on every side), He normal fan_out init."""
    from keras import initializers, layers
    pad = kernel // 2
    if stride > 1 and pad:
        x = layers.ZeroPadding2D(pad, name=f"{name}_pad")(x)
    init = initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal")  # torchvision kaiming
    return layers.Conv2D(filters, kernel, strides=stride, padding="valid" if stride > 1 else "same",
                         use_bias=False, kernel_initializer=init, name=name)(x)


def _bn(x, name):
    from keras import layers
    return layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)(x)


def _basic_block(x, filters, stride, name):
    """torchvision BasicBlock: conv3x3-BN-ReLU-conv3x3-BN + shortcut, ReLU."""
    from keras import layers
    y = _bn(_conv(x, filters, 3, stride, f"{name}_conv1"), f"{name}_bn1")
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = _bn(_conv(y, filters, 3, 1, f"{name}_conv2"), f"{name}_bn2")
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = _bn(_conv(x, filters, 1, stride, f"{name}_downsample_0"), f"{name}_downsample_1")
    return layers.ReLU(name=f"{name}_relu2")(layers.Add(name=f"{name}_add")([y, shortcut]))


def build_resnet18(num_classes, input_size, width=64):
    """ResNet-18 Keras model: float pixels [N, S, S, 3] in 0..255 -> logits [N, num_classes].

    `width` = stem width (64 for the real ResNet-18: 11,689,512 trainable parameters with 1000
    classes, as torchvision).
    """
    import keras
    from keras import initializers, layers
    inputs = keras.Input(shape=(input_size, input_size, 3), name="images")
    x = layers.Rescaling(1.0 / PIXEL_MAX, name="to_unit")(inputs)
    x = layers.Normalization(mean=IMAGENET_MEAN, variance=np.square(IMAGENET_STD),
                             name="imagenet_norm")(x)
    x = layers.ReLU(name="relu")(_bn(_conv(x, width, 7, 2, "conv1"), "bn1"))
    # Post-ReLU values are >= 0, so zero padding is PyTorch's -inf padding for the max-pool.
    x = layers.ZeroPadding2D(1, name="maxpool_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="maxpool")(x)
    for stage, (blocks, mult) in enumerate(zip(BLOCKS_PER_STAGE, STAGE_WIDTH_MULTIPLIERS), start=1):
        for block in range(blocks):
            stride = 2 if stage > 1 and block == 0 else 1
            x = _basic_block(x, width * mult, stride, f"layer{stage}_{block}")
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)  # [N, h, w, 8*width] -> [N, 8*width]
    # torchvision nn.Linear init: U(+-1/sqrt(fan_in)) for kernel and bias.
    bound = 1.0 / np.sqrt(x.shape[-1])
    logits = layers.Dense(num_classes, name=HEAD_NAME,
                          kernel_initializer=initializers.VarianceScaling(1.0 / 3, "fan_in", "uniform"),
                          bias_initializer=initializers.RandomUniform(-bound, bound))(x)
    return keras.Model(inputs, logits, name="resnet18")


def load_pretrained_backbone(model, weights_path, width):
    """Copy every layer but the head from a 1000-class ResNet-18 `.weights.h5` file into `model`."""
    if not os.path.isfile(weights_path):
        raise UserError(f"classifier weights {weights_path}: no such file (the binaries turn "
                        "'imagenet' into a file: imagenet_weights.resolve_classifier_weights)")
    source = build_resnet18(IMAGENET_CLASSES, model.input_shape[1], width)
    try:
        with warnings.catch_warnings():
            # Keras 3 warns about its own bookkeeping containers of functional models; the layers'
            # weights themselves are matched by name (a real mismatch raises).
            warnings.filterwarnings("ignore", message="Skipping nested container")
            source.load_weights(weights_path)
    except Exception as err:  # Keras raises several types for wrong files; all are user errors here
        # Keras's text lists every layer (kilobytes): its first line names the mismatch.
        first = (str(err).strip().splitlines() or [""])[0][:160]
        raise UserError(f"classifier weights {weights_path}: not a Keras .weights.h5 of a 1000-class "
                        f"ResNet-18 with width {width} ({type(err).__name__}: {first}); make one "
                        "with pgan-convert-weights or pass --classifier_width to match") from None
    for layer in source.layers:
        if layer.name != HEAD_NAME and layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())


def check_images_labels(images, labels, num_classes, what):
    """uint8 RGB [N, H, W, 3] images and int labels [N] in [0, num_classes); else `UserError`."""
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise UserError(f"{what}: images must be uint8 RGB [N, H, W, 3], got {images.dtype} "
                        f"{images.shape}")
    if images.shape[1] != images.shape[2]:
        raise UserError(f"{what}: images must be square, got {images.shape[1]}x{images.shape[2]}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise UserError(f"{what}: labels must be integer class indices, got {labels.dtype}")
    if labels.shape != (len(images),) or len(images) == 0:
        raise UserError(f"{what}: need one label per image and at least one image, got "
                        f"{labels.shape[0] if labels.ndim else 0} labels for {len(images)} images")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise UserError(f"{what}: labels must be in [0, {num_classes}), got "
                        f"{labels.min()}..{labels.max()}")


def balanced_sample_weights(labels):
    """float32 [N]: N / (K * count of the image's class), K = classes present (mean weight 1)."""
    counts = np.bincount(labels)
    present = np.count_nonzero(counts)
    return (len(labels) / (present * counts[labels])).astype(np.float32)


def _training_dataset(images, labels, batch_size, seed, weights=None):
    """Seeded shuffled batches (uint8 [B, S, S, 3] -> float32, int32 [B][, float32 weights [B]]);
    gathers from the arrays by index so large arrays are neither copied nor embedded in the graph."""
    import tensorflow as tf
    n, size = len(images), images.shape[1]

    def gather(idx):
        return images[idx], labels[idx]

    def load(idx):
        x, y = tf.numpy_function(gather, [idx], (tf.uint8, tf.int32))
        x.set_shape((None, size, size, 3))
        y.set_shape((None,))
        if weights is not None:
            return tf.cast(x, tf.float32), y, tf.gather(weights, idx)
        return tf.cast(x, tf.float32), y

    ds = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).map(load).prefetch(tf.data.AUTOTUNE)


def train_classifier(images, labels, num_classes, config, progress=True):
    """Train ResNet-18 on uint8 images [N, S, S, 3] and int labels [N] with `config` (paper §3.3).

    Seeds Python/NumPy/TF with `config.seed` (weights init and the per-epoch shuffle); progress prints
    one line per epoch. Returns the trained Keras model (logits output).
    """
    import keras
    images, labels = np.asarray(images), np.asarray(labels)
    check_images_labels(images, labels, num_classes, "classifier training set")
    labels = labels.astype(np.int32)
    keras.utils.set_random_seed(config.seed)
    model = build_resnet18(num_classes, images.shape[1], config.width)
    if config.weights_path:
        load_pretrained_backbone(model, config.weights_path, config.width)
    model.compile(optimizer=keras.optimizers.SGD(config.learning_rate, momentum=config.momentum),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    weights = balanced_sample_weights(labels) if config.balanced else None
    model.fit(_training_dataset(images, labels, config.batch_size, config.seed, weights),
              epochs=config.epochs,
              shuffle=False, verbose=2 if progress else 0)  # the dataset shuffles, seeded
    return model


def predict(model, images, batch_size=64):
    """Class probabilities float32 [N, K] of uint8 images [N, S, S, 3] (softmax of the logits)."""
    images = np.asarray(images)
    expected = tuple(model.input_shape[1:])
    if images.ndim != 4 or images.shape[1:] != expected:
        raise UserError(f"classifier input: images must be [N, {expected[0]}, {expected[1]}, 3] like "
                        f"the training set, got {images.shape} (resize to one resolution first)")
    logits = [np.asarray(model.predict_on_batch(images[i:i + batch_size].astype(np.float32)))
              for i in range(0, len(images), batch_size)]
    logits = np.concatenate(logits).astype(np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)
