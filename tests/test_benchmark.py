"""tools/benchmark.py end to end on a tiny model, plus the report's derived checks and the options.

Timings are never asserted (targets are measured, not tested); what is checked is the JSON
schema, that the derived numbers follow from the measured ones, and the FLOP count by hand.
"""
import json
import os
import subprocess
import sys

import pytest

from pgan_tf.bench.options import BenchmarkOptions, check_options
from pgan_tf.config import TrainConfig
from pgan_tf.errors import UserError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(REPO, "tools", "benchmark.py")
# nf = min(32 / 2^stage, 8) = 8 channels at 4x4 and 8x8; latent 8, 3 classes.
TINY_FLAGS = ["--resolution=8", "--num_classes=3", "--latent_size=8", "--fmap_base=32",
              "--fmap_max=8"]
RESULT_KEYS = {"img_per_s", "gflop_per_img", "achieved_gflops", "fraction_of_conv_peak",
               "peak_memory_mb"}


def _run(args, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO)
    return subprocess.run([sys.executable, TOOL, *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def _tiny_gflop_per_image():
    """4 G_fwd + 12 D_fwd at 8x8 for the tiny nets, layer by layer (see tests/test_flops.py)."""
    g = 2 * (11 * 128 + 16 * 9 * 64 + 16 * 16 * 64 + 64 * 9 * 64 + 64 * 8 * 3)
    d = 2 * (64 * 3 * 8 + 64 * 9 * 64 + 16 * 16 * 64 + 16 * 9 * 9 * 8 + 128 * 8 + 8 * 4)
    return (4 * g + 12 * d) / 1e9


@pytest.mark.slow  # end to end, minutes on 2 cores: `make test-slow`
def test_tool_writes_issue_schema(tmp_path):
    out = tmp_path / "bench" / "tiny.json"
    proc = _run([*TINY_FLAGS, "--resolutions=4,8", "--batch=4", "--steps=2",
                 "--prepare_images=30", "--workers=1", "--pipeline_images=16",
                 "--export_images=3", f"--work_dir={tmp_path}", f"--output={out}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert os.listdir(out.parent) == ["tiny.json"]  # written atomically, no temp file left
    assert [p for p in os.listdir(tmp_path) if p.startswith("pgan_bench_")] == []  # cleaned up
    data = json.loads(out.read_text())
    assert {"conv_peak_gflops", "results", "pipeline", "prepare", "export", "machine",
            "config"} <= set(data)
    peak = data["conv_peak_gflops"]
    assert peak == max(data["machine"]["conv_peak_samples"]) > 0
    assert set(data["results"]) == {"4", "8"}
    for res, r in data["results"].items():
        assert RESULT_KEYS <= set(r)
        assert r["batch"] == 4 and len(r["step_seconds"]) == 2
        assert r["img_per_s"] == pytest.approx(4 / min(r["step_seconds"]))
        assert r["achieved_gflops"] == pytest.approx(r["img_per_s"] * r["gflop_per_img"])
        assert r["fraction_of_conv_peak"] == pytest.approx(r["achieved_gflops"] / peak)
        assert r["peak_memory_mb"] > 0
    assert data["results"]["8"]["gflop_per_img"] == pytest.approx(_tiny_gflop_per_image())
    assert set(data["pipeline"]) == {"4", "8"}
    assert all(p["img_per_s"] > 0 and p["images"] == 16 for p in data["pipeline"].values())
    assert {"images", "seconds", "img_per_s"} <= set(data["prepare"])
    assert data["prepare"]["images"] == 30 and data["prepare"]["resolution"] == 8
    assert data["export"]["images"] == 3 and data["export"]["img_per_s"] > 0
    assert data["machine"]["tensorflow"] and data["machine"]["device"] == "CPU"
    cfg = data["config"]
    assert (cfg["fmap_base"], cfg["fmap_max"], cfg["jit_compile"], cfg["precision"]) == (
        32, 8, False, "float32")
    assert cfg["batch"] == {"4": 4, "8": 4}
    assert data["checks"]["growing_ratio"]["8"] == pytest.approx(1.0)  # the reference itself
    assert "| res | batch |" in proc.stdout and "\n| 8 | 4 |" in proc.stdout


def test_bad_resolution_fails_before_tensorflow(tmp_path):
    proc = _run([*TINY_FLAGS, "--resolutions=4,12", f"--output={tmp_path / 'x.json'}"], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --resolutions: 12 is not a power of two in [4, --resolution=8]"]
    assert not (tmp_path / "x.json").exists()


def test_check_options_paper_batch_and_mbstd():
    cfg = TrainConfig(resolution=64)
    check_options(BenchmarkOptions(), cfg)  # paper minibatches are multiples of 4
    with pytest.raises(UserError, match="--batch=6 at 8x8 is not a multiple of"):
        check_options(BenchmarkOptions(resolutions=(8,), batch=6), cfg)
    with pytest.raises(UserError, match="--steps=0"):
        check_options(BenchmarkOptions(steps=0), cfg)


def test_derived_checks_by_hand():
    from pgan_tf.bench.report import derived_checks

    result = {"results": {"8": {"img_per_s": 10.0, "gflop_per_img": 1.0},
                          "64": {"img_per_s": 1.0, "gflop_per_img": 8.0}},
              "pipeline": {"8": {"img_per_s": 50.0}}}
    checks = derived_checks(result)
    # 64x64: 1 s per image for 8 GFLOP -> 0.125 s per GFLOP; 8x8 predicted 0.125 s, took 0.1 s.
    assert checks["growing_ratio"] == {"8": pytest.approx(0.8), "64": pytest.approx(1.0)}
    assert checks["pipeline_over_step"] == {"8": pytest.approx(5.0)}
    assert checks["reference_resolution"] == 64


def test_cpu_description_names_family_model_and_vector_extensions():
    from pgan_tf.bench.report import cpu_description
    zen3 = ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n"
            "model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 fma\n\n"
            "processor\t: 1\nmodel name\t: other\nflags\t\t: avx512f\n")
    assert cpu_description(zen3) == {"model": "AMD EPYC", "family": "25", "model_number": "1",
                                      "features": ["avx2", "fma"]}
    zen4 = zen3.replace("model\t\t: 1", "model\t\t: 17").replace(
        "avx2 fma\n\n", "avx2 fma avx512f avx512_bf16\n\n")
    described = cpu_description(zen4)
    assert described["model_number"] == "17"
    assert described["features"] == ["avx2", "fma", "avx512f", "avx512_bf16"]
    assert cpu_description("")["features"] == []
