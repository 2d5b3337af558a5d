"""Raw labelled images → official-PGAN-format TFRecords per split + dataset.json (issue 2).

    pgan-prepare --input_dir DIR --output_dir OUT [--source isic2018|folders]
        [--resolution 256] [--val_size 501] [--augment_per_image K] [--seed S] [--workers W]
        [--val_from DIR] [--extra_train DIR] [--max_per_class N] [--skip_bad] [--overwrite]

Flags are checked before TensorFlow is imported, so a typo fails at once.
"""
import os
import time

from absl import flags

from pgan_tf import cli

FLAGS = flags.FLAGS


def define_flags():
    """Flags of this binary (defined here, never at import time); defaults follow the paper."""
    flags.DEFINE_string("input_dir", None, "Unzipped ISIC 2018 Task 3 download, or class folders.")
    flags.DEFINE_string("output_dir", None, "Where OUT/train, OUT/val and dataset.json go.")
    flags.DEFINE_enum("source", "isic2018", ["isic2018", "folders"],
                      "isic2018: official layout (labels CSV); folders: one sub-folder per class.")
    flags.DEFINE_integer("resolution", 256, "Output resolution, a power of two ≥ 4 (paper: 256).")
    flags.DEFINE_integer("val_size", 501, "Validation images split off (paper: 501 of 10,015).")
    flags.DEFINE_integer("augment_per_image", 0,
                         "Augmented copies per real training image (paper §3.1 pre-augmentation; "
                         "the paper recipe uses 3, docs/data_recipe.md).")
    flags.DEFINE_integer("seed", 123, "Split, shuffle and augmentation seed (official: 123).")
    flags.DEFINE_integer("workers", os.cpu_count() or 1, "Worker processes.")
    flags.DEFINE_string("val_from", None,
                        "Take val from this separate labelled set (same --source) instead.")
    flags.DEFINE_string("extra_train", None,
                        "Exported synthetic set (labels.csv + images) added to train only.")
    flags.DEFINE_integer("max_per_class", 0,
                         "Keep at most N real training images per class (seeded pick, train split "
                         "only, recorded in dataset.json; 0 = all): a limited-data set.")
    flags.DEFINE_bool("skip_bad", False, "Skip unreadable images (listed in dataset.json).")
    flags.DEFINE_bool("overwrite", False, "Replace an output folder that already holds files.")
    flags.DEFINE_bool("progress", True, "Show progress bars.")
    flags.mark_flags_as_required(["input_dir", "output_dir"])


def main(argv):
    from pgan_tf.data import prepare
    from pgan_tf.errors import UserError

    if len(argv) > 1:
        raise UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    config = prepare.PrepareConfig(
        input_dir=FLAGS.input_dir, output_dir=FLAGS.output_dir, source=FLAGS.source,
        resolution=FLAGS.resolution, val_size=FLAGS.val_size,
        augment_per_image=FLAGS.augment_per_image, seed=FLAGS.seed, workers=FLAGS.workers,
        overwrite=FLAGS.overwrite, skip_bad=FLAGS.skip_bad, val_from=FLAGS.val_from,
        extra_train=FLAGS.extra_train, progress=FLAGS.progress, max_per_class=FLAGS.max_per_class)
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
    """Console script `pgan-prepare` (also `python tools/prepare_dataset.py`)."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
