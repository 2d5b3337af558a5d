"""What a benchmark run measures (`BenchmarkOptions`) and its checks; no TensorFlow import, so the
binary refuses bad flags before loading it."""
import dataclasses
import os

from pgan_tf.errors import UserError
from pgan_tf.config import PAPER_MINIBATCH
from pgan_tf.config_fields import field

DEFAULT_RESOLUTIONS = (8, 16, 32, 64)
# ISIC 2018 Task 3 has 10,015 training images (docs/design.md#isic-2018-class-counts): the benchmark
# prepares that many.
ISIC_IMAGES = 10015
# Images timed per resolution for the input pipeline (after its first batch).
PIPELINE_IMAGES = 4096
# Images generated for the export timing (full width at 256x256 is ~0.3 s per image on 2 cores).
EXPORT_IMAGES = 64


@dataclasses.dataclass(frozen=True)
class BenchmarkOptions:
    """What to measure; the model, jit and precision come from the TrainConfig."""

    resolutions: tuple = field(DEFAULT_RESOLUTIONS, "Resolutions whose training step is timed.",
                               items="int")
    # 0 = the paper's minibatch for each resolution (PAPER_MINIBATCH)
    batch: int = field(0, "Minibatch of every resolution; 0 = the paper's minibatch for each "
                       "resolution (4:256, 8:256, 16:128, 32:64, 64:32, ...).", lo=0)
    steps: int = field(10, "Timed training iterations per resolution.", lo=1)
    # untimed iterations first (tracing, XLA compilation)
    warmup_steps: int = field(1, "Untimed iterations before timing (trace, compile; 0 = none).",
                              lo=0)
    skip_prepare: bool = field(False, "Do not time dataset preparation; the pipeline is then "
                               "timed on --data_dir if it holds a prepared dataset.")
    prepare_images: int = field(ISIC_IMAGES, "Synthetic 600x450 images to prepare (ISIC 2018: "
                                "10,015).", lo=1)
    # 0 = the config's final resolution
    prepare_resolution: int = field(0, "Prepared resolution; 0 = --resolution.", lo=0)
    workers: int = field(1, "Preparation worker processes.", lo=1,
                         flag_default=os.cpu_count() or 1)
    pipeline_images: int = field(PIPELINE_IMAGES, "Images timed per resolution for the input "
                                 "pipeline.", lo=1)
    skip_export: bool = field(False, "Do not time sample export.")
    export_images: int = field(EXPORT_IMAGES, "Images generated and written as PNG for the export "
                               "timing.", lo=1)
    # where the temporary data goes ("" = the system temp folder)
    work_dir: str = field("", "Folder for temporary data (default: system temp).")
    command: str = ""  # the command line, recorded in the JSON


def batch_for(options, config, res):
    """--batch, else the paper's minibatch at `res` (config.minibatch_base off the table)."""
    return options.batch or PAPER_MINIBATCH.get(res, config.minibatch_base)


def check_options(options, config):
    """UserError naming the flag for values the benchmark or the networks cannot run."""
    for flag, low in (("steps", 1), ("warmup_steps", 0), ("batch", 0), ("prepare_images", 1),
                      ("pipeline_images", 1), ("export_images", 1), ("workers", 1)):
        if getattr(options, flag) < low:
            raise UserError(f"--{flag}={getattr(options, flag)} must be >= {low}")
    if not options.resolutions:
        raise UserError("--resolutions is empty; give resolutions such as 8,16,32,64")
    for res in options.resolutions:
        if res < 4 or res & (res - 1) or res > config.resolution:
            raise UserError(f"--resolutions: {res} is not a power of two in [4, --resolution="
                            f"{config.resolution}]")
    group = config.mbstd_group_size
    for res in options.resolutions:
        batch = batch_for(options, config, res)
        # minibatch stddev, docs/design.md#shared-layers
        if group > 1 and batch > group and batch % group:
            raise UserError(f"--batch={batch} at {res}x{res} is not a multiple of "
                            f"--mbstd_group_size={group}")
