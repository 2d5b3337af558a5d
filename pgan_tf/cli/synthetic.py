"""Write a synthetic dataset in the exact ISIC 2018 Task 3 layout (no download needed).

    pgan-synthetic --output_dir DIR --num_images N --seed S

See `pgan_tf/data/synthetic.py` for the layout and what each class looks like.
"""
import sys
import time

from absl import flags

from pgan_tf import cli

FLAGS = flags.FLAGS


def define_flags():
    """Flags of this binary (defined here, never at import time)."""
    flags.DEFINE_string("output_dir", None, "Folder to write (must be empty or absent).")
    # ISIC 2018 Task 3 has 10,015 training images (REFERENCE §11.3).
    flags.DEFINE_integer("num_images", 10015, "Number of images (≥ 28: 4 per class).")
    flags.DEFINE_integer("seed", 0, "Random seed; the same seed gives the same files.")
    flags.DEFINE_bool("overwrite", False, "Replace an output folder that already holds files.")
    flags.DEFINE_bool("progress", True, "Show a progress bar.")
    flags.mark_flag_as_required("output_dir")


def main(argv):
    from pgan_tf.data import synthetic
    from pgan_tf.errors import UserError

    if len(argv) > 1:
        raise UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    if FLAGS.seed < 0:
        raise UserError(f"--seed={FLAGS.seed} must be ≥ 0")
    start = time.time()
    counts = synthetic.write_synthetic_isic(FLAGS.output_dir, FLAGS.num_images, FLAGS.seed,
                                            overwrite=FLAGS.overwrite, progress=FLAGS.progress)
    listing = ", ".join(f"{c} {n}" for c, n in counts.items())
    print(f"wrote {sum(counts.values())} images to {FLAGS.output_dir} in "
          f"{time.time() - start:.1f} s ({listing})", file=sys.stdout)


def entry():
    """Console script `pgan-synthetic` (also `python tools/make_synthetic_isic.py`)."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
