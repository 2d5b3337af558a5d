"""GPU plan on paper: schedule FLOPs against an image-by-image sum, hours, the Markdown table."""
import pytest

from pgan_tf import cli

tf = cli.import_tensorflow()

from pgan_tf.bench import flops, gpu_plan  # noqa: E402
from pgan_tf.config import TrainConfig  # noqa: E402
from pgan_tf.training.builders import schedule_params  # noqa: E402
from pgan_tf.training.schedule import stage_at  # noqa: E402

# 4 stable 20, fade 8 20, 8 stable 20, fade 16 20, 16 stable to the end (90 images).
TINY = dict(resolution=16, num_classes=3, latent_size=8, fmap_base=32, fmap_max=8,
            lod_training_kimg=0.02, lod_transition_kimg=0.02, total_kimg=0.09)


def test_schedule_flops_equal_an_image_by_image_sum():
    config = TrainConfig(**TINY)
    params = schedule_params(config)
    rows, total = gpu_plan.schedule_flops(config, params)
    expected = 0
    for i in range(90):  # independent: the stage of every single image
        stage = stage_at(i, params)
        expected += flops.training_flops_per_image(config, stage.resolution, stage.fading)
    assert total == expected
    assert [(r["resolution"], r["fading"]) for r in rows] == [
        (4, False), (8, True), (8, False), (16, True), (16, False)]
    assert [r["images"] for r in rows] == [21, 19, 21, 19, 10]  # fades start one image late


def test_paper_schedule_shows_8m_images_and_hours_scale_with_peak():
    config = TrainConfig(resolution=256, total_kimg=8000, lod_training_kimg=600,
                         lod_transition_kimg=600)
    counts = gpu_plan.images_per_phase(schedule_params(config), 8_000_000)
    assert sum(counts.values()) == 8_000_000 and counts[(256, False)] == 800_000
    hours = gpu_plan.gpu_hours(19.5e12 * 0.5 * 3600)  # one hour of A100 fp32 at 50%
    assert hours["A100 SXM"]["fp32"][0.5] == pytest.approx(1.0)
    assert hours["H100 SXM"]["bf16"][0.3] == pytest.approx(19.5 * 0.5 / (989 * 0.3))


def test_markdown_lists_every_phase_and_gpu_precision():
    config = TrainConfig(**TINY)
    rows, total = gpu_plan.schedule_flops(config, schedule_params(config))
    text = gpu_plan.markdown(rows, total, gpu_plan.gpu_hours(total))
    assert text.count("| fade-in |") == 2 and "| **total** | | 0.09 |" in text
    assert "| H100 SXM | tf32 | 494.7 |" in text and "hours at 70%" in text
