"""Convert a torchvision / timm ResNet-18 state dict into the Keras ResNet-18 of GAN-train/GAN-test.

    pgan-convert-weights --input model.safetensors --output resnet18_imagenet.weights.h5

`--input`: a `.safetensors` file (read with NumPy only), or a `.pth` when PyTorch is installed
(loaded with `torch.load(weights_only=True)`). `--output`: the full 1000-class model's weights, for
`pgan-evaluate` / `pgan-experiment --classifier_weights=OUT`. Prints the input's sha256. Flags are
checked before TensorFlow is imported; see docs/evaluation.md.
"""
import dataclasses

from absl import flags

from pgan_tf import cli, flagconfig
from pgan_tf.config_fields import field

FLAGS = flags.FLAGS


@dataclasses.dataclass(frozen=True)
class ConvertConfig:
    """The files of one conversion."""

    input: str = field(dataclasses.MISSING, "torchvision / timm ResNet-18 state dict: "
                       ".safetensors (or .pth with torch installed), e.g. model.safetensors of "
                       "timm/resnet18.tv_in1k.")
    output: str = field(dataclasses.MISSING, "Keras weights file to write (must end with "
                        ".weights.h5).")


def define_flags(flag_values=FLAGS):
    """Flags of this binary, one per `ConvertConfig` field (defined here, never at import time)."""
    flagconfig.define(ConvertConfig, flag_values, cli.flag_module(__name__))


def config_from_flags(flag_values=FLAGS):
    """The `ConvertConfig` of parsed flags."""
    return flagconfig.build(ConvertConfig, flag_values)


def main(argv):
    import os

    from pgan_tf.errors import UserError
    from pgan_tf.eval import torch_weights

    if len(argv) > 1:
        raise UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    config = config_from_flags()
    if not os.path.isfile(config.input):
        raise UserError(f"--input={config.input}: no such file")
    torch_weights.check_output_path(config.output)
    state = torch_weights.read_state_dict(config.input)  # NumPy (or torch): before TensorFlow
    cli.import_tensorflow()
    torch_weights.convert_state_dict(state, config.output)
    print(f"{config.output}: ResNet-18 (1000 classes) from {config.input} "
          f"(sha256 {torch_weights.file_sha256(config.input)})")


def entry():
    """Console script `pgan-convert-weights`."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
