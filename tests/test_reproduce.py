"""pgan-reproduce (issue 11 part 4): the plans of Tables 1/2 and Fig. 8 at every scale, the schedule
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
    assert {(s.config.resolution, s.config.total_kimg) for s in trains} == {(128, 6000.0)}
    evals = [s for s in p.steps if s.kind == "evaluate"]
    assert [s.model for s in evals] == [s.model for s in trains]
    assert all("--checkpoints=all" in s.command and "--classifier_weights=imagenet" in s.command
               and "--num_per_class=1000" in s.command and "--epochs=50" in s.command
               for s in evals)
    assert all(s.folder == str(tmp_path / "work" / "table1") for s in p.steps)


def test_table2_demo_plan_uses_demo_widths_and_attention_at_r_over_2(tmp_path):
    p = _plan(tmp_path, "table2", "demo")
    configs = {s.model: s.config for s in p.steps if s.kind == "train"}
    assert list(configs) == ["pgan", "apgan", "apgan_ttur"]
    assert [c.attention_stages for c in configs.values()] == [(), (16,), (16,)]
    assert [(c.d_lr, c.g_lr) for c in configs.values()] == [(0.001, 0.001), (0.001, 0.001),
                                                            (0.004, 0.001)]
    assert {(c.resolution, c.total_kimg, c.fmap_max) for c in configs.values()} == {(32, 80.0, 32)}
    assert not any(a.startswith("--classifier_weights") for s in p.steps for a in s.command)


def test_fig8_plan_trains_in_table2_then_runs_every_arm(tmp_path):
    p = _plan(tmp_path, "fig8", "demo", classifier_weights="w.weights.h5")
    *trains, experiment = p.steps
    assert {s.folder for s in trains} == {str(tmp_path / "work" / "table2")}
    arms = next(a for a in experiment.command if a.startswith("--arms=")).split("=", 1)[1]
    assert arms.split(",") == ["real", "standard"] + [f"gan:{s.output}" for s in trains]
    assert "--classifier_weights=w.weights.h5" in experiment.command
    assert "--per_class_real=20" in experiment.command


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
    assert estimate.images_per_resolution(demo) == {4: 8001, 8: 16000, 16: 16000, 32: 39999}
    paper = config_from_args(["--flagfile=" + os.path.join(REPO, "flags", "pgan.cfg")])
    counts = estimate.images_per_resolution(paper)
    assert sum(counts.values()) == 8_000_000 and counts[256] == 1_400_000 - 1
    bench = {r: {"img_per_s": 1000.0 / r} for r in (4, 8, 16, 32)}
    seconds, guessed = estimate.run_seconds(demo, bench)
    assert guessed == [] and seconds == pytest.approx((8001 * 4 + 16000 * 8 + 16000 * 16
                                                       + 39999 * 32) / 1000.0)
    # 4x4 untimed: extrapolated from 8x8's achieved GFLOP/s by this config's FLOPs per image.
    from pgan_tf.bench.flops import training_flops_per_image

    bench = {r: {"img_per_s": 1000.0 / r, "achieved_gflops": 2.0} for r in (8, 16, 32)}
    seconds, guessed = estimate.run_seconds(demo, bench)
    assert guessed == [4] and seconds == pytest.approx(
        8001 * training_flops_per_image(demo, 4) / 2e9 + (16000 * 8 + 16000 * 16 + 39999 * 32)
        / 1000.0)


def _stub_executor(calls, fail_on=None, stop_train_at=None):
    """Pretend to run steps: train makes a run dir with config.json and a checkpoint at its total
    (or at `stop_train_at` images, exiting 0 as pgan-train does when a signal stops it), evaluate
    writes a result."""
    def execute(argv):
        flag = "--run_dir=" if argv[2] == "pgan_tf.cli.train" else "--output="
        step = next(a[len(flag):] for a in argv if a.startswith(flag))
        calls.append(argv[2])
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
        else:
            accuracy = 0.5 + 0.1 * len(calls) / 100
            best = {m: {"kimg": "80", "accuracy": accuracy, "balanced_accuracy": 0.4}
                    for m in ("gan_train", "gan_test")}
            os.makedirs(os.path.dirname(step), exist_ok=True)
            with open(step, "w") as f:
                json.dump({"best": best, "real": {"accuracy": 0.8, "balanced_accuracy": 0.7},
                           "pretrained": False}, f)
        return 0
    return execute


def test_rerun_skips_finished_steps_and_reruns_the_interrupted_one(tmp_path):
    p = _plan(tmp_path, "table2", "demo")
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
    assert rows["apgan_ttur"]["paper"] == {"gan_train": 69.5, "gan_test": 60.0}
    text = open(os.path.join(p.folder, report.RESULTS_MD)).read()
    assert "| APGAN+TTUR |" in text and "69.5" in text and "from scratch" in text
    assert os.path.getsize(os.path.join(p.folder, report.RESULTS_PNG)) > 0
    calls.clear()
    runner.run_plan(p, "cmd", _stub_executor(calls), lines.append)
    assert calls == []                                   # everything finished: nothing reruns


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
    again = subprocess.run(command, cwd=REPO, env=train_env(), capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("[skip]") == 6 and "[run]" not in again.stdout
