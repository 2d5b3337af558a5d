"""The scales `pgan-reproduce --scale` runs an experiment at: the paper's, a CPU demo and a test.

`paper` trains with the flagfiles as they are (Table 2) or at 128x128 (Table 1) and evaluates with
the paper's protocol (1000 fakes per class, 50 classifier epochs, ImageNet ResNet-18). `demo` keeps
the experiment's shape but uses `demo.cfg`'s widths, schedule and sampling at 32x32 on the
synthetic set (Table 2 in ~50 min on the AMD CPU of docs/reproduce.md, an estimated ~12-15 min on
the Intel one). `test` is smaller still (16x16, width 8, a few
hundred images) for the end-to-end test.
"""
import dataclasses
import os
from typing import Optional

from pgan_tf.data.augment import PAPER_COPIES_PER_IMAGE
from pgan_tf.errors import UserError
from pgan_tf.flagfiles import PACKAGE_DIR

# The paper's flagfiles, shipped inside the package (a clone's flags/*.cfg only include these).
FLAGS_DIR = PACKAGE_DIR
# Augmentor copies per training image of the paper recipe (paper §3.1 augments the GAN's training
# set but gives no count): the one choice of `data.augment`, explained in docs/data_recipe.md.
PAPER_AUGMENT_PER_IMAGE = PAPER_COPIES_PER_IMAGE
# The ISIC 2018 Task 3 classes (REFERENCE §11.1); paper and demo data must have all seven.
ISIC_CLASSES = ("MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC")
# Smallest block that may hold attention (config.validate: stages are powers of two from 8).
MIN_ATTENTION_STAGE = 8
# demo.cfg lines that choose the model or the paths, not the scale: left to the experiment.
_DEMO_MODEL_FLAGS = ("--data_dir", "--run_dir", "--attention_stages", "--g_lr", "--d_lr",
                     "--resolution")
# --scale=test: 16x16, 8 feature maps, 32-image phases, 8-image minibatches, a checkpoint every
# 32 images (the last three are kept and evaluated).
TEST_TRAIN_ARGS = ("--latent_size=8", "--fmap_base=32", "--fmap_max=8",
                   "--lod_training_kimg=0.032", "--lod_transition_kimg=0.032",
                   "--minibatch_dict=4:8,8:8,16:8", "--tick_kimg=0.016", "--snapshot_ticks=2",
                   "--keep_checkpoint_every_kimg=0", "--label_sampling=uniform")
SCALES = ("paper", "demo", "test")


@dataclasses.dataclass(frozen=True)
class Scale:
    """Every setting that differs between scales (module docstring)."""

    name: str
    resolution: dict            # experiment -> training resolution (table1, table2)
    total_kimg: dict            # experiment -> kimg per run (None: the flagfile's)
    train_args: tuple           # flags after the model's flagfile (widths, schedule)
    explicit_stages: bool       # True: Table 2 attention at R/2 given explicitly (flagfiles: 256)
    num_per_class: int          # fakes per class for GAN-train / GAN-test (paper §3.5: 1000)
    epochs: int                 # classifier epochs (paper §3.3: 50)
    classifier_width: int       # ResNet-18 stem width (64 = the paper's ResNet-18)
    classifier_weights: Optional[str]  # default of --classifier_weights
    per_class_real: int         # Fig. 8 real images per class (paper §3.7: 100)
    per_class_extra: int        # Fig. 8 extra images per class (paper §3.7: 1k)
    prepare_args: tuple         # pgan-prepare flags when --data_dir is a raw download
    classes: Optional[tuple]    # classes the data must have (None: any two or more)


def _demo_lines(flags_dir):
    """flags/demo.cfg's own `--name=value` lines (its nested model flagfile left out)."""
    path = os.path.join(flags_dir, "demo.cfg")
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for line in f]
    except OSError as err:
        raise UserError(f"cannot read {path} ({err.strerror}); reinstall pgan_tf") from None
    return [line for line in lines if line.startswith("--") and not line.startswith("--flagfile=")]


def demo_scale_flags(flags_dir=FLAGS_DIR):
    """(demo.cfg's widths, schedule, sampling and EMA flags, its --total_kimg): the flags that
    choose the model, the paths, the resolution and the length are left to the experiment."""
    kept, total = [], None
    for line in _demo_lines(flags_dir):
        name, _, value = line.partition("=")
        if name == "--total_kimg":
            total = float(value)
        elif name not in _DEMO_MODEL_FLAGS:
            kept.append(line)
    if total is None:
        raise UserError(f"{os.path.join(flags_dir, 'demo.cfg')} sets no --total_kimg")
    return tuple(kept), total


def get_scale(name, flags_dir=FLAGS_DIR):
    """The `Scale` called `name` (paper, demo or test)."""
    if name == "paper":
        return Scale("paper", {"table1": 128, "table2": 256}, {"table1": 6000.0, "table2": None},
                     (), False, 1000, 50, 64, "imagenet", 100, 1000,
                     ("--resolution=256", "--val_size=501",
                      f"--augment_per_image={PAPER_AUGMENT_PER_IMAGE}"), ISIC_CLASSES)
    if name == "demo":
        args, total = demo_scale_flags(flags_dir)
        # Table 1 is shown 6/8 of Table 2's images, as in the paper (6M vs 8M): 60 of demo's 80.
        return Scale("demo", {"table1": 32, "table2": 32},
                     {"table1": total * 6 / 8, "table2": total}, args, True, 100, 5, 16, None, 20, 100,
                     ("--resolution=32", "--val_size=150", "--seed=1", "--augment_per_image=0"),
                     ISIC_CLASSES)
    if name == "test":
        return Scale("test", {"table1": 16, "table2": 16}, {"table1": 0.128, "table2": 0.16},
                     TEST_TRAIN_ARGS, True, 4, 1, 8, None, 2, 4,
                     ("--resolution=16", "--val_size=8", "--augment_per_image=0"), None)
    raise UserError(f"--scale={name}: use paper, demo or test")



def table1_stages(resolution):
    """Table 1's attention stages at `resolution`: the paper's 32 / 64 / 128 at R = 128 are the
    blocks R/4, R/2 and R, so at R = 32 they are 8 / 16 / 32. Stages below the smallest block that
    may hold attention are left out (at R = 16: 8 and 16). Returns [(role, stage)]."""
    roles = (("apgan_quarter", resolution // 4), ("apgan_half", resolution // 2),
             ("apgan_full", resolution))
    return [(role, stage) for role, stage in roles if stage >= MIN_ATTENTION_STAGE]


def table2_stage(resolution):
    """The paper's rule (§3.4: the block mapping 2^(N-1) to 2^N wins): attention at R/2."""
    return resolution // 2
