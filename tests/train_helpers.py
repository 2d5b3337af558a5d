"""Run the training binary on the tiny dataset in a subprocess (reliability and soak tests)."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# 32-image phases, 8-image minibatches, a checkpoint every tick of 16 images (2 steps).
TINY_FLAGS = ("--resolution=16", "--num_classes=3", "--latent_size=8", "--fmap_base=32",
              "--fmap_max=8", "--lod_training_kimg=0.032", "--lod_transition_kimg=0.032",
              "--minibatch_dict=4:8,8:8,16:8", "--tick_kimg=0.016", "--snapshot_ticks=1",
              "--attention_stages=8", "--seed=5", "--keep_checkpoint_every_kimg=0.064")


def train_command(data_dir, run_dir, *extra):
    return [sys.executable, "-m", "pgan_tf.train", f"--data_dir={data_dir}", f"--run_dir={run_dir}",
            *TINY_FLAGS, *extra]


def train_env(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env.pop("PGAN_TF_KILL_AT", None)
    env.update(extra)
    return env


def run_train(data_dir, run_dir, *extra, env=None, timeout=300):
    return subprocess.run(train_command(data_dir, run_dir, *extra), cwd=REPO,
                          env=env or train_env(), capture_output=True, text=True, timeout=timeout)


def log_lines(run_dir):
    path = os.path.join(run_dir, "log.txt")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.rstrip("\n") for line in f]


class Recorder:
    """Wraps a network: records every input batch, delegates the call (eager)."""

    def __init__(self, model):
        self.model, self.inputs = model, []
        self.name, self.trainable_variables = model.name, model.trainable_variables

    def __call__(self, images, **kwargs):
        import tensorflow as tf

        self.inputs.append(tf.convert_to_tensor(images))
        return self.model(images, **kwargs)
