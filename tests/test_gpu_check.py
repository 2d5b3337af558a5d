"""tools/gpu_check.sh (dry run: the command matrix) and its table over existing bench JSONs."""
import json
import os
import shutil
import subprocess

from pgan_tf.bench import check_table

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "tools", "gpu_check.sh")


def test_dry_run_lists_every_precision_xla_and_quality_run(tmp_path):
    subprocess.run(["bash", "-n", SCRIPT], check=True)
    out = subprocess.run(["bash", SCRIPT, str(tmp_path / "out"), "--dry_run"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    bench = [l for l in out if "tools/benchmark.py" in l]
    assert len(bench) == 3 * 2 * 3  # precisions x XLA x (full, full batch 4, demo)
    for precision in ("float32", "mixed_float16", "mixed_bfloat16"):
        for jit in ("--jit_compile", "--nojit_compile"):
            assert sum(f"--precision={precision} {jit} " in l for l in bench) == 3
    train = [l for l in out if "pgan_tf.train" in l]
    assert len(train) == 9 and sum("--precision=mixed_float16" in l for l in train) == 3
    assert sum("tools/evaluate.py --flagfile=flags/demo_eval.cfg" in l for l in out) == 9
    assert out[-1].endswith(f"-m pgan_tf.bench.check_table {tmp_path / 'out'}")
    assert not (tmp_path / "out").exists()  # a dry run writes nothing


def test_table_reads_bench_jsons_and_aggregates_seeds(tmp_path, capsys):
    os.makedirs(tmp_path / "bench")
    for name in ("cpu_demo.json", "cpu_full_width_bf16.json"):
        shutil.copy(os.path.join(REPO, "docs", "results", name), tmp_path / "bench" / name)
    for seed, (gan_test, swd) in enumerate([(0.6, 40.0), (0.8, 50.0)]):
        folder = tmp_path / "quality" / "mixed_float16" / f"seed{seed}"
        os.makedirs(folder)
        (folder / "results.json").write_text(json.dumps({
            "gan_test": {"balanced_accuracy": gan_test}, "real": {"balanced_accuracy": 0.9},
            "swd": {"avg": swd}}))
    check_table.main(str(tmp_path))
    text = capsys.readouterr().out
    assert "| cpu_demo.json | float32 | off | 8 | 32 | 2.18e+03 | 20% | 715 |" in text
    assert "| cpu_full_width_bf16.json | mixed_bfloat16 | off | 64 |" in text
    assert "| mixed_float16 | 2 | 0.700 ± 0.141 | 0.900 ± 0.000 | 45.00 ± 7.07 |" in text
