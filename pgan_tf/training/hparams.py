"""TensorBoard HParams dashboard of a run (issue 10): its settings next to its final metrics.

A new training run writes, at step 0 into `RUN/tensorboard`, the hparams-plugin experiment config
(which settings and metrics the table has) and this run's values. The metrics are the scalars that
`pgan-evaluate --run_dir RUN` writes into `RUN/tensorboard/eval` (plugin "group" `eval`), so after
evaluating, `tensorboard --logdir runs/` shows the paper's three models (and any other runs under
one folder) as rows of one table, each with its last evaluated SWD, GAN-train and GAN-test.

Settings recorded: the model name (pgan / apgan / apgan_ttur as `model_card.model_name` infers
it), attention stages and type, both learning rates, precision, resolution, total kimg, seed and
the discriminator augmentation (`d_augment`, `d_augment_p`, `d_augment_p_max`, `d_augment_ops`,
the statistic and its target, `d_augment_min_res`, `heldout_per_class`, `diffaug_policy`).
"""
from tensorboard.plugins.hparams import api as hp

from pgan_tf import model_card

EVAL_GROUP = "eval"   # RUN/tensorboard/eval, relative to the run's TensorBoard folder
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


def write_hparams(writer, config):
    """Experiment config and this run's values into `writer` (the run's TensorBoard folder)."""
    values = hparams_of(config)
    metrics = [hp.Metric(tag, group=EVAL_GROUP, display_name=title) for tag, title in METRICS]
    with writer.as_default():
        hp.hparams_config(hparams=[hp.HParam(name) for name in values], metrics=metrics)
        hp.hparams(values, trial_id=config.run_dir)
    writer.flush()
