"""TensorBoard HParams dashboard of a run: its settings next to its final metrics.

Where things are, and why: the hparams plugin looks a session's metrics up in the TensorBoard run
named `os.path.join(session run, metric group)`. With `--logdir RUN/tensorboard` the folder
`RUN/tensorboard` itself is the run ".", and "./eval" never matches the run TensorBoard calls
"eval", so a session written there showed an empty table. The session is therefore written into
the same folder as the metrics, `RUN/tensorboard/eval` (`SESSION_DIR`), with metric group "": the
lookup is the session's own run at any `--logdir` depth (`RUN/tensorboard`, `RUN`, or a folder
of runs such as `runs/`, where each run is one row of the table).

A new training run writes, at step 0, the experiment config (which settings and metrics the table
has) and this run's values; `pgan-evaluate --run_dir RUN` writes the metric scalars into the same
folder (`eval_results.write_tensorboard`).

Settings recorded: the model name (pgan / apgan / apgan_ttur as `model_card.model_name` infers
it), attention stages and type, both learning rates, precision, resolution, total kimg, seed and
the discriminator augmentation (`d_augment`, `d_augment_p`, `d_augment_p_max`, `d_augment_ops`,
the statistic and its target, `d_augment_min_res`, `heldout_per_class`, `diffaug_policy`).
TensorBoard ticks the first five settings in name order; the five we want seen first carry a
numeric prefix in their name (`00_model` ...) and their plain name as display name, so the table
shows model, learning rates, seed and attention stages by default.
"""
import os

from tensorboard.plugins.hparams import api as hp

from pgan_tf import model_card

SESSION_DIR = os.path.join("tensorboard", "eval")   # relative to the run directory
METRIC_GROUP = ""   # metrics live in the session's own run (see the module docstring)
# Shown by default, in this order (TensorBoard shows the first five names in sorted order).
SHOWN_FIRST = ("model", "g_lr", "d_lr", "seed", "attention_stages")
FIELDS = ("attention_stages", "attention_type", "g_lr", "d_lr", "precision", "resolution",
          "total_kimg", "seed", "d_augment", "d_augment_p", "d_augment_p_max",
          "d_augment_ops", "d_augment_heuristic", "d_augment_target", "d_augment_min_res",
          "heldout_per_class", "diffaug_policy")
# (tag written by `eval_results.write_tensorboard`, column title)
METRICS = (("eval/swd/avg", "final SWD x1e3"),
           ("eval/gan_train/accuracy", "GAN-train accuracy"),
           ("eval/gan_train/balanced_accuracy", "GAN-train balanced accuracy"),
           ("eval/gan_test/accuracy", "GAN-test accuracy"),
           ("eval/gan_test/balanced_accuracy", "GAN-test balanced accuracy"))


def _plain(value):
    """A value the hparams plugin accepts (bool, int, float, str); lists as '32,64' ('' = none)."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def hparams_of(config):
    """{name: value} of a TrainConfig for the table: `model` and FIELDS."""
    values = {"model": model_card.model_name(config.to_dict())}
    values.update((name, _plain(getattr(config, name))) for name in FIELDS)
    return values


def column_name(name):
    """The plugin's name of setting `name`: sorted to the front when it is in SHOWN_FIRST."""
    return f"{SHOWN_FIRST.index(name):02d}_{name}" if name in SHOWN_FIRST else name


def write_hparams(run_dir, config):
    """Experiment config and this run's values into `run_dir/SESSION_DIR`."""
    import tensorflow as tf

    values = hparams_of(config)
    params = {name: hp.HParam(column_name(name), display_name=name) for name in values}
    metrics = [hp.Metric(tag, group=METRIC_GROUP, display_name=title) for tag, title in METRICS]
    writer = tf.summary.create_file_writer(os.path.join(run_dir, SESSION_DIR))
    with writer.as_default():
        hp.hparams_config(hparams=list(params.values()), metrics=metrics)
        hp.hparams({params[name]: value for name, value in values.items()},
                   trial_id=config.run_dir)
    writer.close()
