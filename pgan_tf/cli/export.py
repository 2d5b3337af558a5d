"""Export class-conditional samples of a trained run's EMA generator (issue 4).

    pgan-export --run_dir RUN [--checkpoint latest|<kimg>] --num_per_class N
        [--classes MEL,DF,...] [--balance_to M] --output_dir OUT [--seed S] [--format png|jpg]
        [--grid] [--overwrite]

Writes OUT/<CLASS>/<run>-<kimg>-<seed>-<index>.png, OUT/labels.csv (ISIC ground-truth format, so
`tools/prepare_dataset.py --extra_train OUT` can add the set to a training split) and
OUT/manifest.json; see docs/evaluation.md. Flags are checked before TensorFlow is imported.
"""
from absl import flags

from pgan_tf import cli, fileio

FLAGS = flags.FLAGS


def define_flags():
    """Flags of this binary (defined here, never at import time)."""
    flags.DEFINE_string("run_dir", None, "Run directory of pgan_tf.train (holds config.json).")
    flags.DEFINE_string("checkpoint", "latest", "'latest' or the kimg of a checkpoint.")
    flags.DEFINE_integer("num_per_class", None, "Images per class (exclusive with --balance_to).")
    flags.DEFINE_list("classes", [], "Classes to export (default: all of the run's).")
    flags.DEFINE_integer("balance_to", None,
                         "Top every class up to M images counting the real training images of "
                         "the run's dataset: exports max(0, M - real count) per class.")
    flags.DEFINE_string("output_dir", None, "Output folder (must not exist unless --overwrite).")
    flags.DEFINE_integer("seed", 0, "Latent seed (per class c, image i: row i of the stream of "
                         "SeedSequence([seed, c])).")
    flags.DEFINE_enum("format", "png", ["png", "jpg"], "Image file format.")
    flags.DEFINE_bool("grid", False, "Also write OUT/grid.png (one row per class).")
    flags.DEFINE_bool("overwrite", False, "Replace an existing --output_dir.")
    flags.DEFINE_integer("batch_size", 64, "Images per generator call (memory only).")
    flags.DEFINE_bool("progress", True, "Show a progress bar.")
    flags.mark_flags_as_required(["run_dir", "output_dir"])


def main(argv):
    from pgan_tf.errors import UserError
    from pgan_tf.eval import sample_export

    if len(argv) > 1:
        raise UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    fileio.refuse_pattern_characters(FLAGS.run_dir, "run_dir")  # read by TensorFlow's reader
    config = sample_export.ExportConfig(
        run_dir=FLAGS.run_dir, output_dir=FLAGS.output_dir, num_per_class=FLAGS.num_per_class,
        balance_to=FLAGS.balance_to, classes=tuple(FLAGS.classes), checkpoint=FLAGS.checkpoint,
        seed=FLAGS.seed, image_format=FLAGS.format, grid=FLAGS.grid, overwrite=FLAGS.overwrite,
        batch_size=FLAGS.batch_size, progress=FLAGS.progress)
    saved = sample_export.validate_export(config)   # JSON only: fails fast, before TensorFlow
    sample_export.plan_counts(config, saved)
    cli.import_tensorflow()
    manifest = sample_export.export_samples(config)
    counts = ", ".join(f"{c} {n}" for c, n in manifest["counts"].items())
    note = (f" (stage {manifest['stage_resolution']}x{manifest['stage_resolution']} "
            "nearest-upsampled)" if manifest["upsampled"] else "")
    print(f"exported {manifest['num_images']} images of {config.run_dir} at kimg "
          f"{manifest['kimg']:g}, {manifest['resolution']}x{manifest['resolution']}{note} -> "
          f"{config.output_dir} ({counts})")


def entry():
    """Console script `pgan-export` (also `python tools/export_samples.py`)."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
