"""Convert a torchvision / timm ResNet-18 state dict into the Keras ResNet-18 of GAN-train/GAN-test.

    pgan-convert-weights --input model.safetensors --output resnet18_imagenet.weights.h5

`--input`: a `.safetensors` file (read with NumPy only), or a `.pth` when PyTorch is installed
(loaded with `torch.load(weights_only=True)`). `--output`: the full 1000-class model's weights, for
`pgan-evaluate` / `pgan-experiment --classifier_weights=OUT`. Prints the input's sha256. Flags are
checked before TensorFlow is imported; see docs/evaluation.md.
"""
from absl import flags

from pgan_tf import cli

FLAGS = flags.FLAGS


def define_flags():
    """Flags of this binary (defined here, never at import time)."""
    flags.DEFINE_string("input", None, "torchvision / timm ResNet-18 state dict: .safetensors "
                        "(or .pth with torch installed), e.g. model.safetensors of "
                        "timm/resnet18.tv_in1k.")
    flags.DEFINE_string("output", None, "Keras weights file to write (must end with .weights.h5).")
    flags.mark_flags_as_required(["input", "output"])


def main(argv):
    import os

    from pgan_tf.errors import UserError
    from pgan_tf.eval import torch_weights

    if len(argv) > 1:
        raise UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not os.path.isfile(FLAGS.input):
        raise UserError(f"--input={FLAGS.input}: no such file")
    torch_weights.check_output_path(FLAGS.output)
    state = torch_weights.read_state_dict(FLAGS.input)  # NumPy (or torch): before TensorFlow
    cli.import_tensorflow()
    torch_weights.convert_state_dict(state, FLAGS.output)
    print(f"{FLAGS.output}: ResNet-18 (1000 classes) from {FLAGS.input} "
          f"(sha256 {torch_weights.file_sha256(FLAGS.input)})")


def entry():
    """Console script `pgan-convert-weights` (also `python tools/convert_classifier_weights.py`)."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
