"""Raw labelled images → official-PGAN-format TFRecords per split + dataset.json.

    pgan-prepare --input_dir DIR --output_dir OUT [--source isic2018|folders]
        [--resolution 256] [--val_size 501] [--augment_per_image K] [--seed S] [--workers W]
        [--val_from DIR] [--extra_train DIR] [--max_per_class N] [--skip_bad] [--overwrite]

Flags are checked before TensorFlow is imported, so a typo fails at once.
"""
import time

from absl import flags

from pgan_tf import cli, flagconfig

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Flags of this binary, one per `PrepareConfig` field (defined here, never at import time);
    defaults follow the paper."""
    from pgan_tf.data import prepare

    flagconfig.define(prepare.PrepareConfig, flag_values, cli.flag_module(__name__))


def config_from_flags(flag_values=FLAGS):
    """The `PrepareConfig` of parsed flags (every number checked), before TensorFlow."""
    from pgan_tf.data import prepare

    return flagconfig.build(prepare.PrepareConfig, flag_values)


def main(argv):
    from pgan_tf.data import prepare
    from pgan_tf.errors import UserError

    if len(argv) > 1:
        raise UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    config = config_from_flags()
    prepare.validate_config(config)   # before anything heavy: typos fail in well under a second
    prepare.check_output_dir(config)
    cli.import_tensorflow()  # the TFRecord writer loads it: quiet start-up
    start = time.time()
    info = prepare.prepare_dataset(config)
    print_summary(info, FLAGS.output_dir, time.time() - start)


def print_summary(info, output_dir, seconds):
    """A few lines: where, what size, how many images per split and class, what was left out."""
    print(f"prepared {output_dir} ({info['resolution']}x{info['resolution']}, "
          f"source {info['source']}, seed {info['seed']}) in {seconds:.1f} s")
    for name, split in info["splits"].items():
        counts = ", ".join(f"{c} {n}" for c, n in split["counts"].items())
        extra = ""
        if split.get("augmented_images"):
            extra += f", {split['augmented_images']} augmented"
        if split.get("synthetic_images"):
            extra += f", {len(split['synthetic_images'])} synthetic"
        print(f"  {name}: {split['num_images']} images{extra} ({counts})")
    if info["skipped"]:
        print(f"  skipped {len(info['skipped'])} bad image(s), listed in dataset.json")
    if info["converted"]:
        print(f"  converted {len(info['converted'])} image(s) to RGB, listed in dataset.json")


def entry():
    """Console script `pgan-prepare`."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
