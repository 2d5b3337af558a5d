"""Export class-conditional samples of a trained run's EMA generator.

    pgan-export --run_dir RUN [--checkpoint latest|<kimg>] --num_per_class N
        [--classes MEL,DF,...] [--balance_to M] --output_dir OUT [--seed S] [--format png|jpg]
        [--grid] [--overwrite]

Writes OUT/<CLASS>/<run>-<kimg>-<seed>-<index>.png, OUT/labels.csv (ISIC ground-truth format, so
`pgan-prepare --extra_train OUT` can add the set to a training split) and
OUT/manifest.json; see docs/evaluation.md. Flags are checked before TensorFlow is imported.
"""
from absl import flags

from pgan_tf import cli, fileio, flagconfig

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Flags of this binary, one per `ExportConfig` field (defined here, never at import time)."""
    from pgan_tf.eval import sample_export

    flagconfig.define(sample_export.ExportConfig, flag_values, cli.flag_module(__name__))


def config_from_flags(flag_values=FLAGS):
    """The `ExportConfig` of parsed flags (every number checked), before TensorFlow."""
    from pgan_tf.eval import sample_export

    return flagconfig.build(sample_export.ExportConfig, flag_values)


def main(argv):
    from pgan_tf.errors import UserError
    from pgan_tf.eval import sample_export

    if len(argv) > 1:
        raise UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    fileio.refuse_pattern_characters(FLAGS.run_dir, "run_dir")  # read by TensorFlow's reader
    config = config_from_flags()
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
    """Console script `pgan-export`."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
