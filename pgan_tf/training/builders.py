"""Config → the objects every consumer of a run builds alike: schedule parameters and the networks.

Shared by the training loop and the run's generator (`training/generator.py`), so neither imports
the other.
"""
import functools

import numpy as np

from pgan_tf.model.networks import Discriminator, Generator
from pgan_tf.training.schedule import ScheduleParams


def schedule_params(config, num_replicas=1):
    """ScheduleParams from the config (tick_kimg 0 = the official per-resolution table)."""
    return ScheduleParams(
        resolution=config.resolution, lod_initial_resolution=config.lod_initial_resolution,
        lod_training_kimg=config.lod_training_kimg, lod_transition_kimg=config.lod_transition_kimg,
        minibatch_base=config.minibatch_base, minibatch_dict=config.minibatch_dict,
        max_minibatch_per_replica=config.max_minibatch_per_replica, num_replicas=num_replicas,
        g_lr=config.g_lr, d_lr=config.d_lr, g_lr_dict=config.g_lr_dict, d_lr_dict=config.d_lr_dict,
        tick_kimg=config.tick_kimg or None)


def model_factories(config):
    """(make_generator, make_discriminator) partials taking `name=`."""
    common = dict(resolution=config.resolution, num_classes=config.num_classes,
                  fmap_base=config.fmap_base, fmap_max=config.fmap_max, fmap_decay=config.fmap_decay,
                  attention_stages=config.attention_stages, attention_type=config.attention_type,
                  num_channels=config.num_channels, fused_scale=config.fused_scale)
    make_g = functools.partial(Generator, latent_size=config.latent_size, **common)
    make_d = functools.partial(Discriminator, mbstd_group_size=config.mbstd_group_size, **common)
    return make_g, make_d


def parameter_counts(config):
    """Trainable parameters of G and D at full resolution (no EMA/optimizer variables)."""
    make_g, make_d = model_factories(config)
    count = lambda m: int(sum(np.prod(v.shape) for v in m.trainable_weights))  # noqa: E731
    return count(make_g(name="generator")), count(make_d(name="discriminator"))
