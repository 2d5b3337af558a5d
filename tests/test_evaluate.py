"""The evaluation driver: known GAN-train/GAN-test answers, SWD, image sets, run mode, errors."""
import dataclasses
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from pgan_tf.eval import eval_results, evaluate
from pgan_tf.eval.classifier import ClassifierConfig, build_resnet18
from tests.eval_fixtures import colour_images, make_eval_dataset, tiny_run, tool

# Toy recipe (tests/test_gan_train_test.py: learns the colour classes in 15 epochs at lr 0.003).
TOY = ClassifierConfig(epochs=15, batch_size=8, learning_rate=0.003, width=8, seed=0)


class PoolGenerator:
    """A 'generator' answering class requests with held-out real images of class (c + shift) % 3."""

    def __init__(self, shift, resolution=16):
        self.labels = np.tile(np.arange(3), 10)
        self.images = colour_images(self.labels, resolution, seed=50)
        self.shift = shift

    def __call__(self, labels):
        rng = np.random.RandomState(0)
        wanted = (np.asarray(labels) + self.shift) % 3
        return np.stack([self.images[rng.choice(np.flatnonzero(self.labels == c))] for c in wanted])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("evaluate") / "data")
    make_eval_dataset(root, resolution=16, train_per_class=12, val_per_class=5)
    return root


@pytest.fixture(scope="module")
def reals(data):
    return evaluate.load_reals(data, 16, need_val=True)


def _config(tmp_path, **kw):
    return evaluate.EvalConfig(output=str(tmp_path / "results.json"), classifier=TOY,
                               progress=False, **kw)


@pytest.mark.slow  # end to end, minutes on 2 cores: `make test-slow`
def test_right_class_generator_matches_real_and_wrong_class_scores_zero(reals, tmp_path):
    config = _config(tmp_path, metrics=("gan_train", "gan_test", "swd", "ms_ssim"),
                     num_per_class=8)
    models = evaluate.RealClassifiers(reals, TOY)
    real = evaluate.real_reference(reals, config, models)
    good = evaluate.evaluate_generator(PoolGenerator(0), reals, config, models,
                                       png_dir=str(tmp_path))
    wrong = evaluate.evaluate_generator(
        PoolGenerator(1), reals, dataclasses.replace(config, metrics=("gan_train", "gan_test")),
        models)
    assert real["accuracy"] >= 0.9 and real["num_test"] == 15
    assert good["gan_train"]["accuracy"] >= real["accuracy"] - 0.1
    assert good["gan_test"]["accuracy"] >= 0.9 and good["gan_test"]["balanced_accuracy"] >= 0.9
    assert wrong["gan_train"]["accuracy"] <= 0.1 and wrong["gan_test"]["accuracy"] <= 0.1
    # Uniform fake labels: 8 per class trained on (GAN-train) and tested (GAN-test).
    assert good["gan_train"]["num_train"] == 24 and good["gan_test"]["support"] == {
        "MEL": 8, "NV": 8, "DF": 8}
    assert good["gan_test"]["classifier"]["pretrained"] is False
    assert list(good["swd"]["levels"]) == ["16"] and good["swd"]["avg"] > 0
    assert 0 < good["ms_ssim"] < 1 and 0 < good["ms_ssim_reals"] < 1
    assert sorted(os.listdir(tmp_path)) == ["confusion_gan_test.png", "confusion_gan_train.png"]


def test_swd_is_skipped_with_a_message_below_16(data, tmp_path, capsys):
    small = evaluate.load_reals(data, 8, need_val=False)
    out = evaluate.evaluate_generator(PoolGenerator(0, resolution=8), small,
                                      _config(tmp_path, metrics=("swd",), num_per_class=2))
    assert "8x8" in out["swd"]["skipped"] and "SWD skipped" in capsys.readouterr().err


def test_fid_scores_the_swd_pair_and_reaches_the_summary_scalars_and_best(reals, tmp_path,
                                                                         monkeypatch):
    swd_pairs, fid_pairs = [], []
    monkeypatch.setattr(evaluate, "_swd", lambda r, f, seed: swd_pairs.append((r, f)) or {
        "levels": {"16": 1.0}, "avg": 1.0})

    def scorer(r, f, real_labels, fake_labels, names):
        # stands in for InceptionScorer (tests/test_inception_metrics.py tests the real one)
        fid_pairs.append((r, f, real_labels, fake_labels, names))
        return {"fid": {"value": 12.5, "num_reals": len(r), "num_fakes": len(f), "network": "n"},
                "kid": {"value": 0.5, "num_reals": len(r), "num_fakes": len(f), "network": "n"}}

    config = _config(tmp_path, metrics=("swd", "fid", "kid"), num_per_class=4)
    out = evaluate.evaluate_generator(PoolGenerator(0), reals, config, fid_scorer=scorer)
    assert len(fid_pairs) == 1 and fid_pairs[0][0] is swd_pairs[0][0]
    assert fid_pairs[0][1] is swd_pairs[0][1] and len(fid_pairs[0][0]) == 12  # min(3 x 4, 36)
    # Fakes conditioned on the drawn reals' labels: one label array serves both sides.
    assert fid_pairs[0][2] is fid_pairs[0][3] and len(fid_pairs[0][2]) == 12
    assert fid_pairs[0][4] == reals.class_names
    assert out["fid"] == {"value": 12.5, "num_reals": 12, "num_fakes": 12, "network": "n"}
    assert eval_results.scalars(out)["fid"] == 12.5 and eval_results.scalars(out)["kid"] == 0.5
    table = eval_results.summary_markdown({**evaluate._header(config, "sets"), **out,
                                           "fakes": "F", "reals": "R"})
    assert "| fid (12 fakes vs 12 reals) | 12.5000 |" in table
    assert "| kid (12 fakes vs 12 reals) | 0.5000 |" in table
    best = eval_results.best_checkpoints({"1": {"fid": {"value": 3.0}, "kid": {"value": 0.1}},
                                          "2": {"fid": {"value": 2.0}, "kid": {"value": 0.2}}})
    assert best == {"fid": {"kimg": "2", "value": 2.0}, "kid": {"kimg": "1", "value": 0.1}}


def test_memorization_through_the_driver_finds_copies(reals, tmp_path):
    train = reals.train

    def copier(labels):  # request j of class c = the j-th training image of class c
        out = np.empty((len(labels),) + train.images.shape[1:], np.uint8)
        for c in np.unique(labels):
            where = np.flatnonzero(labels == c)
            out[where] = train.images[np.flatnonzero(train.labels == c)[:len(where)]]
        return out

    class Untrained:  # features of an untrained ResNet: enough to see identical images
        model = build_resnet18(3, 16, width=4)

        def get(self, seed):
            return self.model

    config = _config(tmp_path, metrics=("memorization",), num_per_class=2)
    out = evaluate.evaluate_generator(copier, reals, config, Untrained(), png_dir=str(tmp_path))
    m = out["memorization"]
    assert m["pixel"]["p100"] == 0.0 and m["pixel"]["fraction_below_threshold"] == 1.0
    assert m["feature"]["p100"] == pytest.approx(0.0, abs=1e-9)
    assert m["held_out_reference"]["p50"] > 8.0
    assert os.path.isfile(tmp_path / "memorization.png")


def test_repeats_report_mean_and_std_over_classifier_seeds(reals, tmp_path):
    class Untrained:  # one fixed (untrained) classifier per seed: predictions do not change
        model = build_resnet18(3, 16, width=4)
        seeds = []

        def get(self, seed):
            self.seeds.append(seed)
            return self.model

    models = Untrained()
    models.train = reals.classifier_train()  # what a real classifier trained on
    config = _config(tmp_path, metrics=("gan_test",), num_per_class=2, repeats=2)
    out = evaluate.evaluate_generator(PoolGenerator(0), reals, config, models)["gan_test"]
    assert out["seeds"] == [0, 1] == models.seeds and len(out["runs"]) == 2
    assert out["accuracy"] == {"mean": out["runs"][0]["accuracy"], "std": 0.0}
    assert sum(map(sum, out["confusion_matrix"])) == 2 * 6   # summed over the two runs
    table = eval_results.summary_markdown({**evaluate._header(config, "sets"), "gan_test": out,
                                       "fakes": "F", "reals": "R"})
    assert f"| gan_test | {100 * out['accuracy']['mean']:.2f} ± 0.00 |" in table


def test_fakes_and_reals_folders(data, tmp_path):
    labels = np.repeat(np.arange(3), 4)
    fakes = PoolGenerator(0, resolution=32)(labels)
    for i, (image, c) in enumerate(zip(fakes, labels)):
        folder = tmp_path / "fakes" / ["MEL", "NV", "DF"][c]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i}.png")
    weights = tmp_path / "w.weights.h5"  # not loaded (no classifier metric): only hashed
    weights.write_bytes(b"imagenet")
    config = evaluate.EvalConfig(output=str(tmp_path / "out" / "r.json"),
                                 metrics=("swd", "ms_ssim"), fakes=str(tmp_path / "fakes"), reals=data,
                                 classifier=ClassifierConfig(weights_path=str(weights)),
                                 progress=False)
    results = evaluate.run_evaluation(config)
    # Pretrained weights are recorded with their sha256 (paper-comparable runs, docs/evaluation.md).
    assert results["pretrained"] is True and results["classifier"]["pretrained"] is True
    assert results["weights_sha256"] == results["classifier"]["weights_sha256"] == \
        hashlib.sha256(b"imagenet").hexdigest()
    assert results["num_fakes"] == results["num_reals"] == 12   # min(#fakes 12, #reals 36)
    assert results["resolution"] == 16 and any("32x32 -> 16x16" in n for n in results["notes"])
    assert list(results["swd"]["levels"]) == ["16"]
    assert json.load(open(tmp_path / "out" / "r.json"))["swd"] == results["swd"]
    assert "swd ×1e3 @16" in eval_results.summary_markdown(results)


def test_run_mode_every_checkpoint_to_json_and_tensorboard(tmp_path_factory, tmp_path):
    run_dir, _, _ = tiny_run(tmp_path_factory)
    config = evaluate.EvalConfig(output=str(tmp_path / "r.json"), metrics=("swd",),
                                 run_dir=run_dir, checkpoints="all", num_per_class=4,
                                 progress=False)
    results = evaluate.run_evaluation(config)  # data_dir from the run's config.json
    assert list(results["checkpoints"]) == ["0.016", "0.032"]
    assert results["checkpoints"]["0.016"]["checkpoint"].endswith("ckpt-16")
    swds = {k: e["swd"]["avg"] for k, e in results["checkpoints"].items()}
    assert results["best"]["swd"] == {"kimg": min(swds, key=swds.get), "avg": min(swds.values())}
    # The tiny run starts at its final 16x16: both snapshots are candidates for best.
    assert results["candidates"] == ["0.016", "0.032"]
    assert {(e["alpha"], e["eligible"]) for e in results["checkpoints"].values()} == {(1.0, True)}
    assert swds["0.016"] != swds["0.032"]  # the weights of each checkpoint were restored
    assert os.listdir(os.path.join(run_dir, "tensorboard", "eval"))
    assert "### kimg 0.016" in eval_results.summary_markdown(results)
    # The sample sheet of each checkpoint, embedded in the one-file report beside the JSON.
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".png")) == [
        "kimg0.016_samples.png", "kimg0.032_samples.png"]
    page = open(tmp_path / "report.html", encoding="utf-8").read()
    assert page.count('src="data:image/png;base64,') == 2 and "Headline (kimg 0.032)" in page
    assert "<h2>Model card</h2>" in page and (tmp_path / "report.md").exists()


def _tool(*args):
    return subprocess.run([sys.executable, tool("evaluate"), *args], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("args, message", [
    (["--metrics=gan_train,inception_score"], "--metrics: unknown or no metric inception_score"),
    (["--fakes=."], "give either --run_dir or both --fakes and --reals"),
    (["--classifier_weights=/no/such.weights.h5"], "--classifier_weights=/no/such.weights.h5: no "
                                                   "such file"),
])
def test_tool_rejects_bad_input(data, tmp_path, args, message):
    out = _tool(f"--data_dir={data}", f"--output={tmp_path / 'r.json'}", *args)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and message in lines[0]
    assert not os.listdir(tmp_path)


def test_best_is_chosen_among_final_resolution_checkpoints_with_the_fade_in_finished():
    def entry(accuracy, **where):
        return {"gan_train": {"accuracy": accuracy, "balanced_accuracy": accuracy / 2,
                              "support": {"A": 3}, "interval": {"level": 0.95}}, **where}
    per_checkpoint = {
        "1000": entry(0.9, stage_resolution=8, upsampled=True, alpha=1.0),   # an 8x8 model
        "6000": entry(0.8, stage_resolution=128, upsampled=False, alpha=0.99),  # mid-fade-in
        "6400": entry(0.5, stage_resolution=128, upsampled=False, alpha=1.0, eligible=True),
        "6800": entry(0.6, stage_resolution=128, upsampled=False, alpha=1.0),  # older JSON
        "7200": entry(0.7, eligible=False)}
    assert [k for k, e in per_checkpoint.items() if eval_results.is_eligible(e)] == [
        "6400", "6800"]
    best = eval_results.best_checkpoints(per_checkpoint)["gan_train"]
    assert best == {"kimg": "6800", "accuracy": 0.6, "balanced_accuracy": 0.3,
                    "support": {"A": 3}, "interval": {"level": 0.95}}
    # No eligible checkpoint: no best, rather than a best from another model.
    assert eval_results.best_checkpoints({"1": entry(0.9, upsampled=True)}) == {}
