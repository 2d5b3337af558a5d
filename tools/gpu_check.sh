#!/usr/bin/env bash
# Everything a GPU owner should run once, then one table:
#   1. the training step at every precision (float32, mixed_float16, mixed_bfloat16) x XLA off/on:
#      full official widths (flags/apgan_ttur.cfg) at the paper's minibatch per resolution, full
#      width at 32x32 batch 4, and the demo widths (flags/demo.cfg, batch 32) -> OUT/bench/*.json;
#   2. quality per precision: the demo recipe (flags/demo.cfg) trained in each precision of
#      $QUALITY_PRECISIONS with seeds $SEEDS, each evaluated like `make demo` (flags/demo_eval.cfg:
#      GAN-test, real reference, SWD) -> OUT/quality/<precision>/seed<s>/results.json;
#   3. one Markdown table of both (python -m pgan_tf.bench.check_table OUT).
# Usage: bash tools/gpu_check.sh [OUT] [--dry_run]   (--dry_run prints the commands only)
# Env: PYTHON (default .venv/bin/python), SEEDS ("1 2 3"), QUALITY_PRECISIONS, STEPS (10).
set -euo pipefail
OUT=gpu_check_out
DRY=0
for arg in "$@"; do
  case "$arg" in
    --dry_run) DRY=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "error: unknown option $arg (try --help)" >&2; exit 2 ;;
    *) OUT=$arg ;;
  esac
done
PY=${PYTHON:-.venv/bin/python}
SEEDS=${SEEDS:-"1 2 3"}
QUALITY_PRECISIONS=${QUALITY_PRECISIONS:-"float32 mixed_float16 mixed_bfloat16"}
STEPS=${STEPS:-10}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
run() {  # print, then run unless --dry_run
  printf '+ %s\n' "$*"
  if [ "$DRY" = 0 ]; then "$@"; fi
}

for precision in float32 mixed_float16 mixed_bfloat16; do
  for jit in nojit_compile jit_compile; do
    tag="${precision}_${jit%_compile}"  # e.g. float32_nojit, mixed_float16_jit
    common=(--precision="$precision" --"$jit" --steps="$STEPS" --skip_prepare --skip_export)
    run "$PY" tools/benchmark.py --flagfile=flags/apgan_ttur.cfg "${common[@]}" \
      --resolutions=8,16,32,64,128,256 --output="$OUT/bench/full_${tag}.json"
    run "$PY" tools/benchmark.py --flagfile=flags/apgan_ttur.cfg "${common[@]}" \
      --resolutions=32 --batch=4 --output="$OUT/bench/full_b4_${tag}.json"
    run "$PY" tools/benchmark.py --flagfile=flags/demo.cfg "${common[@]}" \
      --resolutions=8,16,32 --batch=32 --output="$OUT/bench/demo_${tag}.json"
  done
done

DATA="$OUT/data"
if [ ! -f "$DATA/dataset.json" ]; then  # the demo's data (tools/demo.sh steps 1-2)
  run "$PY" tools/make_synthetic_isic.py --output_dir "$OUT/isic" --num_images 1000 --seed 1
  run "$PY" tools/prepare_dataset.py --input_dir "$OUT/isic" --output_dir "$DATA" \
    --resolution 32 --val_size 150 --seed 1 --workers 2 --noprogress
fi
for precision in $QUALITY_PRECISIONS; do
  for seed in $SEEDS; do
    run_dir="$OUT/quality/$precision/seed$seed"
    run "$PY" -m pgan_tf.train --flagfile=flags/demo.cfg --data_dir="$DATA" \
      --run_dir="$run_dir/run" --precision="$precision" --seed="$seed"
    run "$PY" tools/evaluate.py --flagfile=flags/demo_eval.cfg --run_dir="$run_dir/run" \
      --data_dir="$DATA" --output="$run_dir/results.json"
  done
done

run "$PY" -m pgan_tf.bench.check_table "$OUT"
