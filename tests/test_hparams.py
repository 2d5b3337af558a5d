"""TensorBoard: the training run's HParams data and the evaluation's metrics and images, read back
from the event files, and the HParams table as TensorBoard's own plugin computes it."""
import glob
import json
import os
import shutil

import tensorflow as tf
from tensorboard.plugins.hparams import plugin_data_pb2

from pgan_tf.config import TrainConfig
from pgan_tf.eval import eval_results, evaluate
from pgan_tf.training import hparams
from tests.eval_fixtures import tiny_run



def _events(folder):
    """[(step, tag, plugin name, summary value)] of every event file directly in `folder`."""
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                out.append((event.step, value.tag, value.metadata.plugin_data.plugin_name, value))
    return out


def _hparams_data(folder):
    """The HParamsPluginData messages written into `folder`."""
    out = []
    for _, _, plugin, value in _events(folder):
        if plugin == "hparams":
            data = plugin_data_pb2.HParamsPluginData()
            data.ParseFromString(value.metadata.plugin_data.content)
            out.append(data)
    return out


def test_hparams_of_names_the_model_and_the_augmentation():
    config = TrainConfig(attention_stages=(32, 64), g_lr=0.001, d_lr=0.004, resolution=64)
    values = hparams.hparams_of(config)
    assert values["model"] == "apgan_ttur" and values["attention_stages"] == "32,64"
    assert (values["g_lr"], values["d_lr"], values["precision"]) == (0.001, 0.004, "float32")
    assert (values["d_augment"], values["d_augment_ops"]) == ("none", config.d_augment_ops)
    assert values["d_augment_p_max"] == 0.8
    assert all(isinstance(v, (bool, int, float, str)) for v in values.values())  # plugin types
    values = hparams.hparams_of(TrainConfig(attention_stages=(64,), resolution=64, d_augment="ada"))
    assert values["model"] == "apgan" and values["d_augment"] == "ada"
    assert (values["d_augment_heuristic"], values["d_augment_target"],
            values["heldout_per_class"]) == ("rv", 0.5, 8)  # resolved, as in config.json


def test_training_writes_the_experiment_and_the_runs_values(tmp_path_factory):
    run_dir, _, _ = tiny_run(tmp_path_factory)
    assert _hparams_data(os.path.join(run_dir, "tensorboard")) == []  # not beside the losses
    data = _hparams_data(os.path.join(run_dir, "tensorboard", "eval"))
    experiments = [d.experiment for d in data if d.HasField("experiment")]
    sessions = [d.session_start_info for d in data if d.HasField("session_start_info")]
    assert len(experiments) == 1 and len(sessions) == 1
    metrics = {(m.name.group, m.name.tag) for m in experiments[0].metric_infos}
    assert metrics == {("", tag) for tag, _ in hparams.METRICS}   # the session's own run
    assert {h.name for h in experiments[0].hparam_infos} == set(sessions[0].hparams)
    assert {h.display_name for h in experiments[0].hparam_infos} == set(hparams.hparams_of(
        TrainConfig()))
    values = sessions[0].hparams
    assert values["00_model"].string_value == "pgan"       # the tiny run has no attention
    assert values["04_attention_stages"].string_value == ""
    assert values["resolution"].number_value == 16
    assert sessions[0].group_name == run_dir


def test_every_table_metric_is_a_scalar_that_evaluation_writes():
    score = {"accuracy": 0.5, "balanced_accuracy": 0.4}
    entry = {"gan_train": score, "gan_test": score, "swd": {"levels": {"16": 2.0}, "avg": 2.0}}
    written = {f"eval/{tag}" for tag in eval_results.scalars(entry)}
    assert {tag for tag, _ in hparams.METRICS} <= written


def test_evaluation_writes_metrics_and_sample_grid_at_the_checkpoint(tmp_path_factory, tmp_path):
    run_dir, _, _ = tiny_run(tmp_path_factory)
    evaluate.run_evaluation(evaluate.EvalConfig(
        output=str(tmp_path / "r.json"), metrics=("swd",), run_dir=run_dir, num_per_class=4,
        progress=False))
    found = {}
    for step, tag, plugin, value in _events(os.path.join(run_dir, "tensorboard", "eval")):
        found.setdefault((tag, plugin), set()).add(step)
        if tag == "eval/samples":
            width, height = (int(v) for v in tf.make_ndarray(value.tensor)[:2])
    assert 32 in found[("eval/swd/avg", "scalars")]      # step = images seen of the checkpoint
    assert 32 in found[("eval/samples", "images")]
    cell = height // 3                                   # 3 classes, one row each
    assert width > 8 * cell and cell >= 16               # GRID_COLUMNS images per row + names


def test_confusion_matrices_reach_tensorboard_beside_their_scalars(tmp_path):
    entry = {"gan_test": {"accuracy": 0.75, "balanced_accuracy": 0.5,
                          "confusion_matrix": [[3, 0], [1, 0]]}}
    eval_results.save_confusion_pngs(entry, ["MEL", "NV"], str(tmp_path), "kimg1_")
    images = eval_results.confusion_images(entry, str(tmp_path), "kimg1_")
    assert list(images) == ["eval/confusion_gan_test"]   # gan_train was not measured
    assert eval_results.confusion_images(entry, str(tmp_path), "kimg2_") == {}  # no PNG there
    eval_results.write_tensorboard(str(tmp_path / "run"), entry, 1000, images)
    found = {(step, tag, plugin) for step, tag, plugin, _ in
             _events(str(tmp_path / "run" / "tensorboard" / "eval"))}
    assert {(1000, "eval/confusion_gan_test", "images"),
            (1000, "eval/gan_test/accuracy", "scalars")} <= found


def _plugin_table(logdir):
    """(experiment, session groups) as TensorBoard's hparams plugin serves them to the browser for
    `tensorboard --logdir logdir` (its own multiplexer, data provider and HTTP routes)."""
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import hparams_plugin
    from werkzeug.test import Client

    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    plugin = hparams_plugin.HParamsPlugin(base_plugin.TBContext(
        logdir=logdir, multiplexer=mux,
        data_provider=data_provider.MultiplexerDataProvider(mux, logdir)))
    apps = plugin.get_plugin_apps()
    experiment = json.loads(Client(apps["/experiment"]).post(
        "/", json={"experimentName": ""}).get_data())
    request = {"startIndex": 0, "sliceSize": 100,
               "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_RUNNING"],
               "colParams": [{"metric": m["name"]} for m in experiment["metricInfos"]]}
    groups = json.loads(Client(apps["/session_groups"]).post("/", json=request).get_data())
    return experiment, groups.get("sessionGroups", [])


def test_the_table_fills_at_every_documented_logdir(tmp_path_factory, tmp_path):
    run_dir, _, _ = tiny_run(tmp_path_factory)
    runs = tmp_path / "runs"
    copy = runs / "tiny"                        # a private copy: other tests evaluate the run
    shutil.copytree(os.path.join(run_dir, "tensorboard"), copy / "tensorboard")
    entry = {"gan_test": {"accuracy": 0.75, "balanced_accuracy": 0.5},
             "swd": {"levels": {"16": 2.5}, "avg": 2.5}}
    eval_results.write_tensorboard(str(copy), entry, 32)
    # README / make demo print RUN/tensorboard; README also compares a folder of runs.
    for logdir in (copy / "tensorboard", copy, runs):
        experiment, groups = _plugin_table(str(logdir))
        assert len(groups) == 1, logdir
        values = {m["name"]["tag"]: m["value"] for m in groups[0]["metricValues"]}
        assert values == {"eval/swd/avg": 2.5, "eval/gan_test/accuracy": 0.75,
                          "eval/gan_test/balanced_accuracy": 0.5}, logdir
        shown = [h.get("displayName") for h in experiment["hparamInfos"][:5]]
        assert shown == list(hparams.SHOWN_FIRST)   # the five TensorBoard ticks by default
        assert groups[0]["hparams"]["00_model"] == "pgan"
