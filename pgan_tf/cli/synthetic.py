"""Write a synthetic dataset in the exact ISIC 2018 Task 3 layout (no download needed).

    pgan-synthetic --output_dir DIR --num_images N --seed S

See `pgan_tf/data/synthetic.py` for the layout and what each class looks like.
"""
import dataclasses
import sys
import time

from absl import flags

from pgan_tf import cli, flagconfig
from pgan_tf.config_fields import SEED_RANGE, field

FLAGS = flags.FLAGS


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    """What to write (the library takes these as arguments of `write_synthetic_isic`)."""

    output_dir: str = field(dataclasses.MISSING, "Folder to write (must be empty or absent).")
    # ISIC 2018 Task 3 has 10,015 training images; 4 per class is the smallest set with every
    # class in both splits of a prepared dataset
    num_images: int = field(10015, "Number of images (≥ 28: 4 per class).", lo=28)
    seed: int = field(0, "Random seed; the same seed gives the same files.", **SEED_RANGE)
    overwrite: bool = field(False, "Replace an output folder that already holds files.")
    progress: bool = field(True, "Show a progress bar.")


def define_flags(flag_values=FLAGS):
    """Flags of this binary, one per `SyntheticConfig` field (defined here, never at import
    time)."""
    flagconfig.define(SyntheticConfig, flag_values, cli.flag_module(__name__))


def config_from_flags(flag_values=FLAGS):
    """The `SyntheticConfig` of parsed flags (every number checked)."""
    return flagconfig.build(SyntheticConfig, flag_values)


def main(argv):
    from pgan_tf.data import synthetic
    from pgan_tf.errors import UserError

    if len(argv) > 1:
        raise UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    config = config_from_flags()
    start = time.time()
    counts = synthetic.write_synthetic_isic(config.output_dir, config.num_images, config.seed,
                                            overwrite=config.overwrite, progress=config.progress)
    listing = ", ".join(f"{c} {n}" for c, n in counts.items())
    print(f"wrote {sum(counts.values())} images to {config.output_dir} in "
          f"{time.time() - start:.1f} s ({listing})", file=sys.stdout)


def entry():
    """Console script `pgan-synthetic`."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
