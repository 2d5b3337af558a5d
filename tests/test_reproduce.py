"""pgan-reproduce: the plans of Tables 1/2 and Fig. 8 at every scale, the schedule
arithmetic of the time estimate, state/skip/resume with a stubbed executor, the settings checks,
the dry run (a subprocess that must write nothing) and, marked slow, Table 2 end to end at
--scale=test."""
import json
import os
import subprocess
import sys

import pytest

from pgan_tf.cli.train import config_from_args
from pgan_tf.errors import UserError
from pgan_tf.reproduce import estimate, plan, report, runner, scales, state
from tests.eval_fixtures import tiny_run
from tests.tiny_dataset import make_tiny_dataset_with_val
from tests.train_helpers import REPO, train_env

REPRODUCE = [sys.executable, os.path.join(REPO, "tools", "reproduce.py")]


def _fake_dataset(root, resolution=256, classes=scales.ISIC_CLASSES, val=501):
    """A dataset.json only (plans read nothing else)."""
    os.makedirs(root, exist_ok=True)
    info = {"classes": list(classes), "resolution": resolution,
            "splits": {"train": {"sha256": "abc", "num_images": 9514},
                       "val": {"num_images": val}}}
    with open(os.path.join(root, "dataset.json"), "w") as f:
        json.dump(info, f)
    return root


def _plan(tmp_path, experiment, scale="paper", **kwargs):
    data = _fake_dataset(str(tmp_path / "data"), resolution=256 if scale == "paper" else 32)
    options = plan.Options(experiment, data, str(tmp_path / "work"), scale, **kwargs)
    return plan.build_plan(options, config_from_args)


def test_table1_paper_plan_trains_pgan_and_three_snl_stages_at_128(tmp_path):
    p = _plan(tmp_path, "table1")
    trains = [s for s in p.steps if s.kind == "train"]
    assert [s.model for s in trains] == ["pgan", "apgan_stage32", "apgan_stage64", "apgan_stage128"]
    assert [s.config.attention_stages for s in trains] == [(), (32,), (64,), (128,)]
    assert {(s.config.resolution, s.config.total_kimg) for s in trains} == {(128, 6700.0)}
    evals = [s for s in p.steps if s.kind == "evaluate"]
    assert [s.model for s in evals] == [s.model for s in trains]
    assert all("--checkpoints=all" in s.command and "--classifier_weights=imagenet" in s.command
               and "--num_per_class=1000" in s.command and "--epochs=50" in s.command
               for s in evals)
    assert all(s.folder == str(tmp_path / "work" / "table1") for s in p.steps)
    # One real classifier for every evaluation on the same data (trained once, then read).
    assert {a for s in evals for a in s.command if a.startswith("--judge_cache=")} == {
        f"--judge_cache={tmp_path / 'work' / plan.JUDGES_DIR}"}


def test_table2_demo_plan_uses_demo_widths_and_attention_at_r_over_2(tmp_path):
    p = _plan(tmp_path, "table2", "demo")
    configs = {s.model: s.config for s in p.steps if s.kind == "train"}
    assert list(configs) == ["pgan", "apgan", "apgan_ttur"]
    assert [c.attention_stages for c in configs.values()] == [(), (16,), (16,)]
    assert [(c.d_lr, c.g_lr) for c in configs.values()] == [(0.001, 0.001), (0.001, 0.001),
                                                            (0.004, 0.001)]
    assert {(c.resolution, c.total_kimg, c.fmap_max) for c in configs.values()} == {(32, 80.0, 32)}
    # The demo's sampling recipe too, for all three models alike.
    assert {(c.label_sampling, c.real_sampling) for c in configs.values()} == {
        ("uniform", "balanced")}
    assert not any(a.startswith("--classifier_weights") for s in p.steps for a in s.command)
    # Judged like `make demo` (flags/demo_eval.cfg), not with Fig. 8's shrunk paper recipe.
    evals = [s for s in p.steps if s.kind == "evaluate"]
    assert len(evals) == 3 and all(
        {"--epochs=10", "--classifier_learning_rate=0.01", "--classifier_balanced",
         "--num_per_class=50"} <= set(s.command) and "--epochs=5" not in s.command
        for s in evals)


def test_demo_scale_takes_widths_from_demo_cfg_but_its_length_from_the_paper(tmp_path):
    # A demo that trains longer than 1/100 of the paper must not lengthen the demo-scale tables.
    (tmp_path / "demo.cfg").write_text("--flagfile=apgan_ttur.cfg\n--fmap_base=64\n"
                                       "--total_kimg=120\n--run_dir=x\n# --total_kimg=7\n")
    (tmp_path / "demo_eval.cfg").write_text("--num_per_class=50\n--epochs=7\n# --epochs=3\n"
                                            "--classifier_balanced\n--noprogress\n")
    demo = scales.get_scale("demo", flags_dir=str(tmp_path))
    assert demo.train_args == ("--fmap_base=64",)
    # Table 2: the paper's 8M / 100; Table 1: until its three kept checkpoints are 32x32 models.
    assert demo.total_kimg == {"table1": 84.0, "table2": 80.0}
    # The judge's fakes and recipe from demo_eval.cfg, nothing else of it.
    assert demo.judge_args == ("--num_per_class=50", "--epochs=7", "--classifier_balanced")


def test_demo_scale_trains_with_every_value_of_the_shipped_demo_cfg(tmp_path):
    # Parse the real demo.cfg and the config the demo-scale APGAN+TTUR run trains with: every
    # field agrees except the model's (attention, learning rates), the paths and the length, so
    # a change to demo.cfg cannot leave the demo-scale tables on another recipe.
    demo = config_from_args(["--flagfile=" + os.path.join(scales.FLAGS_DIR, "demo.cfg")]).to_dict()
    p = _plan(tmp_path, "table2", scale="demo")
    run = next(s for s in p.steps if s.kind == "train" and s.model == "apgan_ttur").config.to_dict()
    own = {"data_dir", "run_dir", "attention_stages", "g_lr", "d_lr", "resolution", "total_kimg"}
    assert {k for k in demo if demo[k] != run[k]} <= own
    assert run["fmap_base"] == demo["fmap_base"] and run["minibatch_dict"] == demo["minibatch_dict"]
    # Each excluded flag is one the scale or the experiment sets itself.
    assert set(scales._DEMO_MODEL_FLAGS) == {f"--{k}" for k in own}


def _arms(command):
    return next(a for a in command if a.startswith("--arms=")).split("=", 1)[1].split(",")


def _interval(value, half=0.05):
    return {"value": value, "low": value - half, "high": value + half}


def _write_evaluation(path, best_train_images, best_test_images, accuracy=0.7):
    """An `evaluate --checkpoints all` JSON whose best GAN-train and GAN-test differ."""
    kimgs = {n: f"{n / 1000:g}" for n in (best_train_images, best_test_images)}
    best = {"gan_train": {"kimg": kimgs[best_train_images], "accuracy": accuracy,
                          "balanced_accuracy": 0.6, "per_class_recall": {"MEL": accuracy,
                                                                         "DF": None},
                          "support": {"MEL": 5, "DF": 0},
                          "interval": {"accuracy": _interval(accuracy),
                                       "balanced_accuracy": _interval(0.6)}},
            "gan_test": {"kimg": kimgs[best_test_images], "accuracy": 0.5,
                         "balanced_accuracy": 0.4}}
    checkpoints = {k: {"images_seen": n, "checkpoint": f"run/checkpoints/ckpt-{n}"}
                   for n, k in kimgs.items()}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"best": best, "checkpoints": checkpoints,
                   "real": {"accuracy": 0.8, "balanced_accuracy": 0.7}, "pretrained": False}, f)


def test_fig8_plan_runs_table2s_steps_then_every_arm_at_its_best_gan_test(tmp_path):
    p = _plan(tmp_path, "fig8", "demo", classifier_weights="w.weights.h5")
    *shared, experiment = p.steps
    # Exactly table2's training and evaluation steps (same commands, WORK/table2): shared.
    table2 = _plan(tmp_path, "table2", "demo", classifier_weights="w.weights.h5")
    assert shared == list(table2.steps)
    assert [s.kind for s in shared] == ["train"] * 3 + ["evaluate"] * 3
    assert all("--checkpoints=all" in s.command for s in shared if s.kind == "evaluate")
    trains = [s for s in shared if s.kind == "train"]
    evals = [s for s in shared if s.kind == "evaluate"]
    # Before the evaluations ran (a dry run) the arms say where the checkpoint will come from.
    assert _arms(experiment.command) == ["real", "standard"] + [
        f"gan:{t.output}@ckpt-<best gan_test of {e.output}>" for t, e in zip(trains, evals)]
    # Chosen by GAN-test (its judge never sees val), not by GAN-train (scored on val, which Fig. 8
    # reports on), and sampled with another seed than the evaluations' fakes.
    for i, e in enumerate(evals):
        _write_evaluation(e.output, best_train_images=80000, best_test_images=48000 + i * 16)
    expected = ["real", "standard"] + [f"gan:{t.output}@ckpt-{48000 + i * 16}"
                                       for i, t in enumerate(trains)]
    assert {"--seed=0", "--gan_sample_seed=1"} <= set(experiment.command)
    assert all("--seed=0" in e.command for e in evals)
    assert _arms(experiment.final_command()) == expected     # read when the step runs
    again = _plan(tmp_path, "fig8", "demo", classifier_weights="w.weights.h5").steps[-1]
    assert _arms(again.command) == expected                 # and shown by a later dry run
    assert "--classifier_weights=w.weights.h5" in experiment.command
    assert "--per_class_real=20" in experiment.command
    with open(evals[0].output, "w") as f:
        json.dump({"best": {}}, f)
    with pytest.raises(UserError, match="names no best gan_test checkpoint"):
        experiment.final_command()


@pytest.mark.slow   # a real pgan-evaluate --checkpoints all (3 classifiers): ~45 s
def test_best_checkpoint_of_a_real_evaluation_is_an_arm_the_experiment_accepts(
        tmp_path_factory, tmp_path):
    from pgan_tf.eval import evaluate, experiment
    from pgan_tf.eval.classifier import ClassifierConfig

    run_dir, data_dir, _ = tiny_run(tmp_path_factory)   # checkpoints at 16 and 32 images
    output = str(tmp_path / "eval.json")
    results = evaluate.run_evaluation(evaluate.EvalConfig(
        output=output, metrics=("gan_test",), run_dir=run_dir, checkpoints="all",
        num_per_class=2, classifier=ClassifierConfig(epochs=1, batch_size=8, width=8),
        progress=False))
    # The tiny set has no copies: the real classifier used all 24 train records.
    assert results["real_classifier_train"]["num_train"] == 24
    images = plan.best_checkpoint(output)
    assert images == results["checkpoints"][results["best"]["gan_test"]["kimg"]]["images_seen"]
    config = experiment.ExperimentConfig(data_dir=data_dir, output_dir=str(tmp_path / "out"),
                                         arms=(f"gan:{run_dir}@ckpt-{images}",))
    (arm,), _, _ = experiment.validate_experiment(config)
    assert (arm.run_dir, arm.checkpoint) == (run_dir, images)


@pytest.mark.parametrize("scale", scales.SCALES)
def test_table1_runs_keep_three_checkpoints_at_the_final_resolution_after_the_fade_in(
        tmp_path, scale):
    """The training loop's snapshot cadence (`estimate.saved_checkpoints`) at each scale's Table 1
    length: the last three kept checkpoints are all eligible as best (final resolution, alpha 1)."""
    trains = [s for s in _plan(tmp_path, "table1", scale).steps if s.kind == "train"]
    for step in trains:
        config = step.config
        kept = estimate.kept_checkpoints(config)
        saved = estimate.saved_checkpoints(config)
        rolling = saved[-config.keep_checkpoints:]
        assert len(rolling) == 3 and all(kept[n] for n in rolling), (scale, kept)
        assert saved[-1] == round(config.total_kimg * 1000)
        # Not longer than it has to be: one tick less, and the oldest of the three is not.
        shorter = config.replace(total_kimg=config.total_kimg - config.tick_kimg
                                 if config.tick_kimg else 6601.312)
        assert not all(estimate.kept_checkpoints(shorter)[n]
                       for n in estimate.saved_checkpoints(shorter)[-3:])
    # What docs/reproduce.md states: the checkpoints each run keeps and how many may be "best".
    expected = {"paper": ([6001312, 6601312, 6700000], 5),   # + milestones 1000 .. 5000 kimg
                "demo": ([64000, 80000, 84000], 0), "test": ([160, 192, 208], 0)}[scale]
    config = trains[0].config
    kept = estimate.kept_checkpoints(config)
    assert estimate.saved_checkpoints(config)[-3:] == expected[0]
    assert len(kept) - 3 == expected[1] and sum(kept.values()) == 3


def test_table1_stages_map_r_over_4_r_over_2_r():
    assert scales.table1_stages(128) == [("apgan_quarter", 32), ("apgan_half", 64),
                                         ("apgan_full", 128)]
    assert [s for _, s in scales.table1_stages(32)] == [8, 16, 32]
    assert [s for _, s in scales.table1_stages(16)] == [8, 16]   # 4 cannot hold attention


@pytest.mark.parametrize("kwargs, message", [
    (dict(experiment="table3"), "--experiment=table3"),
    (dict(resolution=64), "prepared at 64x64"),
    (dict(classes=("MEL", "NV")), "has classes MEL,NV"),
    (dict(val=0), "no val split"),
])
def test_unusable_data_or_experiment_is_refused(tmp_path, kwargs, message):
    experiment = kwargs.pop("experiment", "table2")
    data = _fake_dataset(str(tmp_path / "data"), **kwargs)
    options = plan.Options(experiment, data, str(tmp_path / "work"))
    with pytest.raises(UserError, match=message):
        plan.build_plan(options, config_from_args)


def test_images_per_resolution_follow_the_official_schedule():
    demo = config_from_args(["--flagfile=" + os.path.join(REPO, "flags", "demo.cfg")])
    # 8 kimg stabilise + 8 kimg fade-in per doubling; lod is an integer through image 8000.
    assert estimate.images_per_resolution(demo) == {4: 8001, 8: 16000, 16: 16000, 32: 79999}
    paper = config_from_args(["--flagfile=" + os.path.join(REPO, "flags", "pgan.cfg")])
    counts = estimate.images_per_resolution(paper)
    assert sum(counts.values()) == 8_000_000 and counts[256] == 1_400_000 - 1
    bench = {r: {"img_per_s": 1000.0 / r} for r in (4, 8, 16, 32)}
    seconds, guessed = estimate.run_seconds(demo, bench)
    assert guessed == [] and seconds == pytest.approx((8001 * 4 + 16000 * 8 + 16000 * 16
                                                       + 79999 * 32) / 1000.0)
    # 4x4 untimed: extrapolated from 8x8's achieved GFLOP/s by this config's FLOPs per image.
    from pgan_tf.bench.flops import training_flops_per_image

    bench = {r: {"img_per_s": 1000.0 / r, "achieved_gflops": 2.0} for r in (8, 16, 32)}
    seconds, guessed = estimate.run_seconds(demo, bench)
    assert guessed == [4] and seconds == pytest.approx(
        8001 * training_flops_per_image(demo, 4) / 2e9 + (16000 * 8 + 16000 * 16 + 79999 * 32)
        / 1000.0)


def _stub_executor(calls, fail_on=None, stop_train_at=None, commands=None):
    """Pretend to run steps: train makes a run dir with config.json and a checkpoint at its total
    (or at `stop_train_at` images, exiting 0 as pgan-train does when a signal stops it), evaluate
    writes a result (best GAN-train at 48 kimg), the experiment one arm per --arms entry."""
    def execute(argv):
        flag = {"pgan_tf.cli.train": "--run_dir=",
                "pgan_tf.cli.experiment": "--output_dir="}.get(argv[2], "--output=")
        step = next(a[len(flag):] for a in argv if a.startswith(flag))
        calls.append(argv[2])
        if commands is not None:
            commands.append(argv)
        if fail_on and fail_on in " ".join(argv):
            return 1
        if argv[2] == "pgan_tf.cli.train":
            os.makedirs(step)
            config = config_from_args(list(argv[3:]))
            with open(os.path.join(step, "config.json"), "w") as f:
                json.dump({"config": config.to_dict(), "dataset_sha256": "abc"}, f)
            images = stop_train_at or round(config.total_kimg * 1000)
            os.makedirs(os.path.join(step, "checkpoints"))
            open(os.path.join(step, "checkpoints", f"ckpt-{images}.index"), "w").close()
        elif argv[2] == "pgan_tf.cli.experiment":
            os.makedirs(step)
            arms = {}
            for arm in _arms(argv):
                run_dir, _, images = arm.partition("@ckpt-")
                gain = _seed_of(run_dir) / 100           # 0.0 for seed 1000, 0.01 for 1001
                arms[arm] = {"run_dir": run_dir[len("gan:"):] or None, "num_train": 7,
                             "accuracy": {"mean": 0.6 + gain, "std": 0.0},
                             "balanced_accuracy": {"mean": 0.5, "std": 0.0},
                             **({"images_seen": int(images), "checkpoint": "c"} if images else {})}
                if arm != "real":
                    arms[arm]["vs_real"] = {
                        "accuracy": _interval(gain), "balanced_accuracy": _interval(0.0),
                        "per_class_recall": {"MEL": {**_interval(0.0), "n": 9},
                                             "DF": {**_interval(0.1 + gain), "n": 2}}}
            with open(os.path.join(step, "results.json"), "w") as f:
                json.dump({"arms": arms, "pretrained": False}, f)
        else:
            _write_evaluation(step, 48000, 80000, 0.7 + _seed_of(step) / 100)
        return 0
    return execute


def _seed_of(path):
    """GAN seed - 1000 of a run (or its evaluation) path: runs/<model>-s<seed>, else 0."""
    name = [part for part in path.split(os.sep) if part][-2 if path.endswith(".json") else -1]
    return int(name.rpartition("-s")[2]) - 1000 if "-s" in name else 0


def test_rerun_skips_finished_steps_and_reruns_the_interrupted_one(tmp_path):
    p = _plan(tmp_path, "table2", "demo")
    # A dataset prepared with the old rotation (reflected borders, no rotation_rule): still read,
    # and the results name its rule.
    info_path = os.path.join(p.data.path, "dataset.json")
    info = json.load(open(info_path))
    info["augmentation"] = {"per_image": 3, "operations": [{"op": "rotate", "mode": "reflect"}]}
    with open(info_path, "w") as f:
        json.dump(info, f)
    calls, lines = [], []
    with pytest.raises(UserError, match="evaluate/apgan stopped with exit code 1"):
        runner.run_plan(p, "cmd", _stub_executor(calls, fail_on="evals/apgan/"), lines.append)
    assert calls == ["pgan_tf.cli.train"] * 3 + ["pgan_tf.cli.evaluate"] * 2
    done = state.read_state(p.folder)["done"]
    assert sorted(done) == ["evaluate/pgan", "train/apgan", "train/apgan_ttur", "train/pgan"]
    assert state.read_state(p.folder)["settings"]["scale"] == "demo"
    calls.clear()
    results = runner.run_plan(p, "cmd", _stub_executor(calls), lines.append)
    assert calls == ["pgan_tf.cli.evaluate"] * 2          # apgan again, then apgan_ttur
    assert sum(line.startswith("[skip]") for line in lines) == 4
    rows = {r["model"]: r for r in results["rows"]}
    assert rows["real"]["ours"]["gan_train"]["mean"] == pytest.approx(80.0)
    assert rows["pgan"]["ours"]["gan_train"]["kimg"] == "48"
    assert rows["apgan_ttur"]["paper"] == {"gan_train": 69.5, "gan_test": 60.0}
    assert results["rotation_rule"] == "reflect_borders"
    text = open(os.path.join(p.folder, report.RESULTS_MD)).read()
    assert "| APGAN+TTUR |" in text and "69.5" in text and "from scratch" in text
    assert os.path.getsize(os.path.join(p.folder, report.RESULTS_PNG)) > 0
    calls.clear()
    runner.run_plan(p, "cmd", _stub_executor(calls), lines.append)
    assert calls == []                                   # everything finished: nothing reruns


def test_fig8_runs_the_shared_evaluations_then_arms_at_their_best_checkpoints(tmp_path):
    p = _plan(tmp_path, "fig8", "test")
    calls, commands = [], []
    results = runner.run_plan(p, "cmd", _stub_executor(calls, commands=commands), lambda _: None)
    assert calls == ["pgan_tf.cli.train"] * 3 + ["pgan_tf.cli.evaluate"] * 3 + [
        "pgan_tf.cli.experiment"]
    runs = [s.output for s in p.steps if s.kind == "train"]
    assert _arms(commands[-1])[2:] == [f"gan:{r}@ckpt-80000" for r in runs]
    rows = {r["model"]: r for r in results["rows"]}
    assert (rows["apgan_ttur"]["kimg"], rows["standard"]["kimg"]) == (80.0, None)
    assert results["fig8_selection"]["selection_fakes_seed"] == 0
    assert results["fig8_selection"]["fig8_fakes_seed"] == 1
    assert results["steps"][-1] == list(commands[-1])
    table2 = os.path.join(str(tmp_path / "work"), "table2")
    assert sorted(state.read_state(table2)["done"])[:3] == [
        "evaluate/apgan", "evaluate/apgan_ttur", "evaluate/pgan"]
    calls.clear()                # table2 now finds its evaluations done: nothing reruns
    runner.run_plan(_plan(tmp_path, "table2", "test"), "cmd", _stub_executor(calls), print)
    assert calls == []
    other = _plan(tmp_path, "table2", "test", classifier_weights="w.weights.h5")
    with pytest.raises(UserError, match="classifier_weights None, not 'w.weights.h5'"):
        state.check_plan(other)  # evaluations made with another classifier are not reused


def test_evaluations_made_with_another_judge_are_redone_and_the_runs_kept(tmp_path):
    p = _plan(tmp_path, "table2", "demo")
    runner.run_plan(p, "cmd", _stub_executor([]), lambda _: None)
    # An older pgan_tf judged with other flags (or recorded none): its evaluations are stale.
    path = os.path.join(p.folder, state.STATE_JSON)
    saved = state.read_state(p.folder)
    saved["done"]["evaluate/pgan"]["args"] = [a.replace("--epochs=10", "--epochs=5")
                                              for a in saved["done"]["evaluate/pgan"]["args"]]
    del saved["done"]["evaluate/apgan"]["args"]
    # Same flags, but an evaluation of an older format (best over every checkpoint, no intervals).
    del saved["done"]["evaluate/apgan_ttur"]["format"]
    with open(path, "w") as f:
        json.dump(saved, f)
    calls, commands = [], []
    runner.run_plan(p, "cmd", _stub_executor(calls, commands=commands), lambda _: None)
    assert calls == ["pgan_tf.cli.evaluate"] * 3
    runs = {s.model: s.output for s in p.steps if s.kind == "train"}
    assert [next(a for a in c if a.startswith("--run_dir=")) for c in commands] == [
        f"--run_dir={runs[m]}" for m in ("pgan", "apgan", "apgan_ttur")]


def test_a_run_stopped_early_with_exit_code_0_is_not_recorded(tmp_path):
    p = _plan(tmp_path, "table2", "demo")
    with pytest.raises(UserError, match="train/pgan stopped at 16,032 of 80,000 images"):
        runner.run_plan(p, "cmd", _stub_executor([], stop_train_at=16032), lambda _: None)
    assert state.read_state(p.folder)["done"] == {}
    state.mark_done(p.steps[0], p)              # a state written before the run was complete
    assert not state.is_done(p.steps[0])


def test_work_dir_of_another_scale_or_other_data_is_refused(tmp_path):
    p = _plan(tmp_path, "table2", "demo")
    os.makedirs(p.folder)
    with open(os.path.join(p.folder, state.STATE_JSON), "w") as f:
        json.dump({"settings": {"scale": "test"}, "done": {}}, f)
    with pytest.raises(UserError, match="other settings \\(scale 'test', not 'demo'\\)"):
        state.check_plan(p)
    os.remove(os.path.join(p.folder, state.STATE_JSON))
    train = p.steps[0]
    os.makedirs(train.output)
    with open(os.path.join(train.output, "config.json"), "w") as f:
        json.dump({"config": train.config.to_dict(), "dataset_sha256": "other"}, f)
    with pytest.raises(UserError, match="trained on other data"):
        state.check_plan(p)
    with open(os.path.join(train.output, "config.json"), "w") as f:
        json.dump({"config": train.config.replace(fmap_max=8).to_dict(),
                   "dataset_sha256": "abc"}, f)
    with pytest.raises(UserError, match="fmap_max 8, not 32"):
        state.check_plan(p)


def test_the_same_dataset_moved_elsewhere_is_accepted_and_its_new_path_recorded(tmp_path,
                                                                                 capsys):
    p = _plan(tmp_path, "table2", "demo")
    state.mark_done(p.steps[0], p)                  # recorded with the dataset at tmp/data
    os.rename(tmp_path / "data", tmp_path / "moved")  # same dataset.json: same sha256
    options = plan.Options("table2", str(tmp_path / "moved"), str(tmp_path / "work"), "demo")
    moved = plan.build_plan(options, config_from_args)
    state.check_plan(moved)
    assert state.read_state(p.folder)["settings"]["data_dir"] == str(tmp_path / "moved")
    assert "(same sha256), recorded" in capsys.readouterr().out
    with open(tmp_path / "moved" / "dataset.json") as f:
        info = json.load(f)
    info["splits"]["train"]["sha256"] = "changed"
    _fake_dataset(str(tmp_path / "other"))
    with open(tmp_path / "other" / "dataset.json", "w") as f:
        json.dump({**info, "resolution": 32}, f)
    options = plan.Options("table2", str(tmp_path / "other"), str(tmp_path / "work"), "demo")
    with pytest.raises(UserError, match="other settings \\(data_dir"):  # other data: refused
        state.check_plan(plan.build_plan(options, config_from_args))


def test_a_run_made_with_another_recipe_is_neither_reused_nor_resumed(tmp_path):
    p = _plan(tmp_path, "table2", "demo")
    train = p.steps[0]
    os.makedirs(train.output)
    saved = train.config.to_dict()
    del saved["real_sampling"]  # a run made before --real_sampling existed: it used the default
    with open(os.path.join(train.output, "config.json"), "w") as f:
        json.dump({"config": {**saved, "tick_kimg": 1.0}, "dataset_sha256": "abc"}, f)
    with pytest.raises(UserError,
                       match="another recipe \\(real_sampling 'dataset', not 'balanced'"):
        state.check_plan(p)
    with open(os.path.join(train.output, "config.json"), "w") as f:  # cadence alone: reusable
        json.dump({"config": {**train.config.to_dict(), "tick_kimg": 1.0},
                   "dataset_sha256": "abc"}, f)
    state.check_plan(p)


def test_dry_run_prints_every_command_and_the_estimate_and_writes_nothing(tmp_path):
    data = _fake_dataset(str(tmp_path / "data"), resolution=32)
    bench = tmp_path / "bench.json"  # pgan-benchmark's schema; every resolution timed
    bench.write_text(json.dumps({"results": {str(r): {"img_per_s": 4000.0 / r}
                                             for r in (4, 8, 16, 32)}}))
    work = tmp_path / "work"
    out = subprocess.run(REPRODUCE + ["--experiment=table2", "--scale=demo", f"--data_dir={data}",
                                      f"--work_dir={work}", "--dry_run", f"--benchmark_json={bench}"],
                         cwd=REPO, env=train_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("pgan_tf.cli.train --flagfile=") == 3
    assert out.stdout.count("pgan_tf.cli.evaluate --run_dir=") == 3
    # 3 runs x (8001 x 4 + 16000 x 8 + 16000 x 16 + 39999 x 32) / 4000 s = 3 x 424 s.
    assert "total to train: 240,000 images, about 21.2 min of training" in out.stdout
    assert not work.exists()


@pytest.mark.slow
def test_table2_end_to_end_at_test_scale_then_rerun_skips_everything(tmp_path):
    data = make_tiny_dataset_with_val(str(tmp_path / "data"))
    command = REPRODUCE + ["--experiment=table2", "--scale=test", f"--data_dir={data}",
                           f"--work_dir={tmp_path / 'work'}"]
    out = subprocess.run(command, cwd=REPO, env=train_env(), capture_output=True, text=True,
                         timeout=1200)
    assert out.returncode == 0, out.stderr[-3000:]
    folder = tmp_path / "work" / "table2"
    results = json.loads((folder / "results.json").read_text())
    assert [r["model"] for r in results["rows"]] == ["real", "pgan", "apgan", "apgan_ttur"]
    for row in results["rows"][1:]:
        assert 0 <= row["ours"]["gan_train"]["mean"] <= 100
        assert 0 <= row["ours"]["gan_test"]["mean"] <= 100
    assert results["pretrained"] is False and (folder / "results.png").stat().st_size > 0
    # The three evaluations share one real classifier: trained by the first, read by the others,
    # so every row's real reference is the same.
    assert len(os.listdir(tmp_path / "work" / plan.JUDGES_DIR)) == 1
    assert out.stderr.count("read from") == 2
    evals = [json.loads((folder / "evals" / m / "results.json").read_text())["real"]
             for m in ("pgan", "apgan", "apgan_ttur")]
    assert evals[0] == evals[1] == evals[2]
    assert json.loads((folder / "evals" / "pgan" / "results.json").read_text())[
        "judge_cache"] == str(tmp_path / "work" / plan.JUDGES_DIR)
    again = subprocess.run(command, cwd=REPO, env=train_env(), capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("[skip]") == 6 and "[run]" not in again.stdout
    # A second GAN seed on the same work dir: only its three runs train and are evaluated.
    more = subprocess.run(command + ["--gan_seeds=1000,1001"], cwd=REPO, env=train_env(),
                          capture_output=True, text=True, timeout=1200)
    assert more.returncode == 0, more.stderr[-3000:]
    ran = [line.split(":")[0] for line in more.stdout.splitlines() if line.startswith("[run]")]
    assert ran == [f"[run] {kind}/{m}-s1001" for kind in ("train", "evaluate")
                   for m in ("pgan", "apgan", "apgan_ttur")]
    assert more.stdout.count("[skip]") == 6
    results = json.loads((folder / "results.json").read_text())
    assert results["gan_seeds"] == [1000, 1001]
    for row in results["rows"][1:]:
        summary = row["ours"]["gan_train"]
        assert [s["gan_seed"] for s in row["seeds"]] == [1000, 1001] and summary["n"] == 2
        assert summary["low"] <= summary["mean"] <= summary["high"]
        # Each seed's best is one of its candidates: a 16x16 checkpoint with alpha = 1.
        assert all(s["gan_train"]["kimg"] in s["candidates"] for s in row["seeds"])


def test_gan_seeds_train_every_model_once_per_seed_beside_the_default_runs(tmp_path):
    p = _plan(tmp_path, "table2", "demo", gan_seeds=(1000, 1001))
    trains = [s for s in p.steps if s.kind == "train"]
    runs = os.path.join(p.folder, plan.RUNS_DIR)
    assert [os.path.relpath(s.output, runs) for s in trains] == [
        "pgan", "apgan", "apgan_ttur", "pgan-s1001", "apgan-s1001", "apgan_ttur-s1001"]
    assert [s.config.seed for s in trains] == [1000] * 3 + [1001] * 3
    assert plan.DEFAULT_GAN_SEED == config_from_args([]).seed   # the seed runs trained with
    evals = [s for s in p.steps if s.kind == "evaluate"]
    assert [s.key for s in evals][3:] == ["evaluate/pgan-s1001", "evaluate/apgan-s1001",
                                          "evaluate/apgan_ttur-s1001"]
    assert evals[3].output == os.path.join(p.folder, "evals", "pgan-s1001", "results.json")
    # The default seed's steps are today's: a work dir made before --gan_seeds is extended.
    assert p.steps[:3] == _plan(tmp_path, "table2", "demo").steps[:3]
    assert plan.parse_gan_seeds(["1000", " 7"]) == (1000, 7)
    for bad in ([], [""], ["1000", "1000"], ["-1"], ["a"], ["1.5"]):
        with pytest.raises(UserError, match="--gan_seeds=.*distinct non-negative integers"):
            plan.parse_gan_seeds(bad)


def test_a_work_dir_is_extended_by_new_gan_seeds_and_summarised_over_them(tmp_path):
    calls, commands = [], []
    runner.run_plan(_plan(tmp_path, "table2", "demo"), "cmd", _stub_executor(calls),
                    lambda _: None)
    assert calls == ["pgan_tf.cli.train"] * 3 + ["pgan_tf.cli.evaluate"] * 3
    calls.clear()
    p = _plan(tmp_path, "table2", "demo", gan_seeds=(1000, 1001, 1002))
    state.check_plan(p)                 # the same --seed, data and scale: accepted
    results = runner.run_plan(p, "cmd", _stub_executor(calls, commands=commands), lambda _: None)
    # Only the new seeds' runs train and are evaluated.
    assert calls == ["pgan_tf.cli.train"] * 6 + ["pgan_tf.cli.evaluate"] * 6
    assert all("-s100" in next(a for a in c if a.startswith(("--run_dir=", "--output=")))
               for c in commands)
    row = {r["model"]: r for r in results["rows"]}["pgan"]
    gan_train = row["ours"]["gan_train"]
    assert [s["gan_seed"] for s in row["seeds"]] == [1000, 1001, 1002]
    assert gan_train["values"] == pytest.approx([70.0, 71.0, 72.0])
    assert (gan_train["mean"], gan_train["std"]) == pytest.approx((71.0, 1.0))
    half = 4.302652729911275 * 1.0 / 3 ** 0.5             # t_{0.975, 2} std / sqrt(3)
    assert (gan_train["low"], gan_train["high"]) == pytest.approx((71 - half, 71 + half))
    assert gan_train["per_class_recall"]["MEL"] == pytest.approx({"mean": 71.0, "n": 5})
    # One best kimg per GAN seed, so the table's "train / test" column stays readable.
    assert gan_train["kimg"] == ", ".join(s["gan_train"]["kimg"] for s in row["seeds"])
    assert gan_train["kimg"].count(", ") == 2
    assert row["seeds"][0]["gan_train"]["accuracy"]["low"] == pytest.approx(65.0)  # bootstrap
    text = open(os.path.join(p.folder, report.RESULTS_MD)).read()
    assert "| PGAN | 71.00 ± 1.00 [68.5, 73.5] (70.0, 71.0, 72.0) |" in text
    assert "MEL (n=5)" in text and "GAN seeds 1000, 1001, 1002" in text
    # Another --seed (classifiers, fakes) on the same work dir is still refused.
    with pytest.raises(UserError, match="seed 0, not 5"):
        state.check_plan(_plan(tmp_path, "table2", "demo", gan_seeds=(1000, 1003), seed=5))


def test_fig8_over_gan_seeds_reports_paired_differences_to_the_real_arm(tmp_path):
    p = _plan(tmp_path, "fig8", "test", gan_seeds=(1000, 1001))
    commands = []
    results = runner.run_plan(p, "cmd", _stub_executor([], commands=commands), lambda _: None)
    assert len(_arms(commands[-1])) == 2 + 3 * 2         # real, standard, 3 models x 2 seeds
    rows = {r["model"]: r for r in results["rows"]}
    assert [s["gan_seed"] for s in rows["apgan_ttur"]["seeds"]] == [1000, 1001]
    diff = rows["apgan_ttur"]["ours"]["vs_real"]
    assert diff["accuracy"]["values"] == pytest.approx([0.0, 1.0])    # points, per GAN seed
    assert diff["per_class_recall"]["DF"]["n"] == 2
    assert diff["per_class_recall"]["DF"]["mean"] == pytest.approx(10.5)
    assert rows["real"]["ours"].get("vs_real") is None
    text = open(os.path.join(p.folder, report.RESULTS_MD)).read()
    assert "| training set | DF (n=2) | MEL (n=9) |" in text       # rarest class first
    assert "best gan_test" in text and "fakes of seed 1" in text


def test_bad_gan_seeds_are_one_line_and_write_nothing(tmp_path):
    data = _fake_dataset(str(tmp_path / "data"), resolution=32)
    work = tmp_path / "work"
    out = subprocess.run(REPRODUCE + ["--experiment=table2", "--scale=demo", f"--data_dir={data}",
                                      f"--work_dir={work}", "--gan_seeds=1000,1001,1000"],
                         cwd=REPO, env=train_env(), capture_output=True, text=True, timeout=120)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and "--gan_seeds=1000,1001,1000" in lines[0]
    assert not work.exists()
