"""MODEL_CARD.md: contents from config.json and the evaluation record, atomic writes,
and the card in every SavedModel and sample export, refreshed by run-mode evaluation."""
import json
import os

import pytest

from pgan_tf import model_card
from tests.eval_fixtures import tiny_run

SAVED = {"config": {"data_dir": "/data/isic", "resolution": 256, "attention_stages": [64],
                    "attention_type": "snl", "g_lr": 0.001, "d_lr": 0.004,
                    "precision": "float32", "total_kimg": 8000.0, "seed": 1000},
         "classes": ["MEL", "NV"], "dataset_sha256": "ab" * 32}


def _run_dir(tmp_path, saved=SAVED):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(saved))
    return str(run)


@pytest.mark.parametrize("stages, g_lr, d_lr, name", [
    ([], 0.001, 0.004, "pgan"), ([64], 0.001, 0.001, "apgan"), ([32, 64], 0.001, 0.004,
                                                                 "apgan_ttur")])
def test_model_name_follows_paper_table_2(stages, g_lr, d_lr, name):
    assert model_card.model_name({"attention_stages": stages, "g_lr": g_lr, "d_lr": d_lr}) == name


def test_unevaluated_card_has_data_hash_config_use_and_licence():
    text = model_card.model_card_markdown(SAVED, 8_000_000)
    assert text.splitlines()[0] == \
        "<!-- pgan_tf model card: images_seen=8000000 stage_resolution=256 -->"
    assert "# Model card: apgan_ttur generator at kimg 8000" in text
    assert f"dataset sha256: `{'ab' * 32}`" in text and "`/data/isic`" in text
    assert "| d_lr | 0.004 |" in text and "| attention_stages | 64 |" in text
    assert "classes: MEL, NV" in text
    assert "Not evaluated at this checkpoint" in text and "Not run at this checkpoint" in text
    assert "**Not for diagnosis**" in text and "CC BY-NC" in text
    assert "d_augment" not in text  # only fields the config has
    assert "stopped early" not in text


def test_evaluated_card_lists_the_numbers_and_the_memorization_audit():
    evaluation = {"results": "/r/results.json", "memorization_threshold": 8.0,
                  "metrics": {"gan_train/accuracy": 0.61234, "swd/avg": 12.5,
                              "memorization/fraction_below_threshold": 0.0,
                              "memorization/pixel_p50": 40.25}}
    text = model_card.model_card_markdown({**SAVED, "config": {**SAVED["config"],
                                                               "d_augment": "ada"}},
                                          4000, stage_resolution=64, evaluation=evaluation)
    assert "| GAN-train accuracy | 0.6123 |" in text
    assert "| SWD x 1e3 (average over levels) | 12.5 |" in text
    assert "GAN-test" not in text  # not measured: not shown
    assert "Full results: `/r/results.json`" in text
    assert "RMS pixel distance < 8 (grey levels)" in text and "image: 0" in text
    assert "median RMS distance to the nearest training image: 40.25" in text
    assert "| d_augment | ada |" in text
    assert "stopped early: trained up to 64x64, nearest-upsampled to 256x256" in text


def test_evaluation_record_round_trip_replaces_per_checkpoint(tmp_path):
    run = _run_dir(tmp_path)
    assert model_card.read_evaluations(run) == {}
    model_card.record_evaluation(run, 32, {"swd/avg": 3.0}, "/a.json")
    model_card.record_evaluation(run, 16, {"swd/avg": 5.0}, "/b.json")
    model_card.record_evaluation(run, 32, {"swd/avg": 2.0, "memorization/fraction_below_threshold":
                                           0.5}, "/c.json", memorization_threshold=8)
    record = model_card.read_evaluations(run)
    assert sorted(record) == [16, 32]
    assert record[32] == {"kimg": 0.032, "results": "/c.json", "memorization_threshold": 8.0,
                          "metrics": {"swd/avg": 2.0, "memorization/fraction_below_threshold": 0.5}}
    assert sorted(os.listdir(run)) == ["config.json", "evaluations.json"]  # no temp file left
    (tmp_path / "run" / "evaluations.json").write_text("{not json")
    assert model_card.read_evaluations(run) == {}  # damaged: cards lose numbers, nothing fails


def test_write_and_refresh_follow_the_cards_own_checkpoint(tmp_path):
    run = _run_dir(tmp_path)
    folder = tmp_path / "export"
    folder.mkdir()
    assert model_card.refresh_card(str(folder), run) is None  # no card: nothing written
    assert not os.listdir(folder)
    model_card.write_model_card(str(folder), run, 32, stage_resolution=8)
    assert model_card.card_checkpoint(str(folder)) == (32, 8)
    model_card.record_evaluation(run, 16, {"swd/avg": 5.0}, "/b.json")  # another checkpoint
    model_card.refresh_card(str(folder), run)
    assert "Not evaluated" in (folder / "MODEL_CARD.md").read_text()
    model_card.record_evaluation(run, 32, {"swd/avg": 7.5}, "/a.json")
    model_card.refresh_card(str(folder), run)
    text = (folder / "MODEL_CARD.md").read_text()
    assert "| SWD x 1e3 (average over levels) | 7.5 |" in text and "trained up to 8x8" in text
    assert os.listdir(folder) == ["MODEL_CARD.md"]


def test_saved_model_export_and_evaluation_carry_the_card(tmp_path_factory, tmp_path):
    from pgan_tf.eval import evaluate, sample_export

    run_dir, _, _ = tiny_run(tmp_path_factory)
    saved = json.load(open(os.path.join(run_dir, "config.json")))
    saved_model = os.path.join(run_dir, "export", "generator")
    assert model_card.card_checkpoint(saved_model) == (32, 16)
    card = open(os.path.join(saved_model, "MODEL_CARD.md")).read()
    assert f"dataset sha256: `{saved['dataset_sha256']}`" in card and "kimg 0.032" in card
    sample_export.export_samples(sample_export.ExportConfig(run_dir=run_dir, output_dir=str(tmp_path / "out"),
                                              num_per_class=1, progress=False))
    assert "synthetic images exported" in (tmp_path / "out" / "MODEL_CARD.md").read_text()
    results = evaluate.run_evaluation(evaluate.EvalConfig(
        output=str(tmp_path / "r.json"), metrics=("swd",), run_dir=run_dir, num_per_class=4,
        progress=False))
    card = open(os.path.join(saved_model, "MODEL_CARD.md")).read()
    assert f"| SWD x 1e3 (average over levels) | {results['swd']['avg']:.4g} |" in card
    assert model_card.read_evaluations(run_dir)[32]["results"] == str(tmp_path / "r.json")


def test_card_of_synthetic_data_never_speaks_of_isic_licences():
    dataset = {"source": "isic2018", "synthetic": True, "classes": ["MEL", "NV"]}
    text = model_card.model_card_markdown(SAVED, 8000, dataset=dataset)
    assert "**synthetic**" in text and "trained on synthetic lesion-like images" in text
    assert "CC BY-NC" not in text and "ISIC:" not in text and "dermoscopic" not in text
    real = model_card.model_card_markdown(SAVED, 8000, dataset={**dataset, "synthetic": False})
    assert "CC BY-NC" in real and "ISIC 2018 Task 3 / HAM10000 dermoscopy" in real
    folders = model_card.model_card_markdown(SAVED, 8000, dataset={"source": "folders",
                                                                   "synthetic": False})
    assert "class folders" in folders and "does not record it" in folders


def test_card_cites_table_2_and_states_the_output_range():
    text = model_card.model_card_markdown(SAVED, 8000)
    assert "paper Table 2" in text and "Table 1" not in text
    assert "clipped" in text and "-1.14 ... 1.47" in text


def test_card_reads_the_datasets_json_beside_data_dir_or_its_split(tmp_path):
    data = tmp_path / "data"
    (data / "train").mkdir(parents=True)
    (data / "dataset.json").write_text(json.dumps({"source": "isic2018", "synthetic": True}))
    for data_dir in (data, data / "train"):
        run = tmp_path / f"run_{data_dir.name}"
        run.mkdir()
        (run / "config.json").write_text(json.dumps(
            {**SAVED, "config": {**SAVED["config"], "data_dir": str(data_dir)}}))
        path = model_card.write_model_card(str(tmp_path), str(run), 4000)
        assert "**synthetic**" in open(path).read()
    assert model_card.read_dataset_info(str(tmp_path / "absent")) is None


def test_demo_writes_the_sample_card_after_the_evaluation():
    from tests.eval_fixtures import REPO

    script = open(os.path.join(REPO, "tools", "demo.sh")).read()
    evaluate, export = script.index("tools/evaluate.py"), script.index("tools/export_samples.py")
    assert evaluate < export   # the export's MODEL_CARD.md reads the evaluation record
