"""TrainConfig: validation messages name the flag; JSON round trip; attention-stage resolution."""
import json

import pytest

from pgan_tf.config import (TrainConfig, diff_architecture, parse_int_dict,
                            resolve_attention_stages)
from pgan_tf.errors import UserError


def test_defaults_are_official_and_paper_values():
    cfg = TrainConfig()
    assert cfg.minibatch_dict == {4: 256, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8}
    assert (cfg.adam_beta1, cfg.adam_beta2, cfg.adam_epsilon) == (0.0, 0.99, 1e-8)
    assert (cfg.wgan_lambda, cfg.wgan_target, cfg.wgan_epsilon, cfg.cond_weight) == (10, 1, 0.001, 1)
    assert cfg.g_smoothing == 0.999 and cfg.mbstd_group_size == 4


def test_json_round_trip_keeps_every_field():
    cfg = TrainConfig(resolution=64, attention_stages=(16, 32), d_lr=0.004,
                      g_lr_dict={64: 0.002}, tick_kimg=0.5)
    data = json.loads(cfg.to_json())
    assert data["minibatch_dict"]["256"] == 8
    assert data["attention_stages"] == [16, 32]
    assert TrainConfig.from_dict(data) == cfg


@pytest.mark.parametrize("kwargs, flag", [
    (dict(resolution=48), "--resolution"),
    (dict(resolution=2), "--resolution"),
    (dict(attention_type="gc"), "--attention_type"),
    (dict(attention_stages=(12,)), "--attention_stages"),
    (dict(attention_stages=(4,)), "--attention_stages"),
    (dict(g_lr=-1.0), "--g_lr"),
    (dict(adam_beta2=1.5), "--adam_beta2"),
    (dict(minibatch_dict={6: 4}), "--minibatch_dict"),
    (dict(lod_initial_resolution=64, resolution=32), "--lod_initial_resolution"),
    (dict(keep_checkpoints=2), "--keep_checkpoints"),
    (dict(data_cache_mb=-1), "--data_cache_mb"),
])
def test_invalid_values_name_the_flag(kwargs, flag):
    with pytest.raises(UserError, match=flag):
        TrainConfig(**kwargs)


def test_attention_stage_above_resolution_is_dropped_with_warning():
    kept, warnings = resolve_attention_stages((64, 16, 128), resolution=32)
    assert kept == (16,)
    assert len(warnings) == 2 and "64" in warnings[0] and "128" in warnings[1]
    kept, warnings = resolve_attention_stages((12,), resolution=32)
    assert kept == (12,) and not warnings  # not a power of two: left for validate() to refuse


def test_attention_stages_auto_is_the_second_to_last_block():
    # Paper §3.4: the 2^(N-1)-to-2^N block, R/2.
    assert resolve_attention_stages(["auto"], resolution=256) == ((128,), [])
    assert resolve_attention_stages(["auto"], resolution=32) == ((16,), [])
    assert resolve_attention_stages(["32", "64"], resolution=128) == ((32, 64), [])
    assert resolve_attention_stages([], resolution=128) == ((), [])
    for junk in (["auto", "64"], ["sixty"]):
        with pytest.raises(UserError, match="--attention_stages"):
            resolve_attention_stages(junk, resolution=128)


def test_parse_int_dict():
    assert parse_int_dict("4:256, 8:128", "minibatch_dict") == {4: 256, 8: 128}
    assert parse_int_dict("", "x") == {}
    assert parse_int_dict("64:0.002", "g_lr_dict", float) == {64: 0.002}
    with pytest.raises(UserError, match="--minibatch_dict"):
        parse_int_dict("4=256", "minibatch_dict")


def test_diff_architecture_lists_changed_fields_only():
    old = TrainConfig(resolution=64).to_dict()
    new = TrainConfig(resolution=64, fmap_max=32, total_kimg=99, attention_stages=(32,)).to_dict()
    assert [k for k, _, _ in diff_architecture(old, new)] == ["fmap_max", "attention_stages"]


def test_switching_d_augment_on_or_off_is_an_architecture_change():
    base = TrainConfig().to_dict()
    legacy = {k: v for k, v in base.items() if not k.startswith("d_augment")}  # an older run
    assert diff_architecture(legacy, base) == []
    assert diff_architecture(base, {**base, "d_augment": "fixed"}) == [("d_augment_on", False, True)]
    assert diff_architecture({**base, "d_augment": "fixed"}, {**base, "d_augment": "ada"}) == []
    # The cap is a hyperparameter: a resume may change it (ada.DAugment applies it at once).
    assert diff_architecture({**base, "d_augment": "ada"},
                             {**base, "d_augment": "ada", "d_augment_p_max": 1.0}) == []
