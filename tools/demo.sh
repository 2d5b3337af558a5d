#!/usr/bin/env bash
# `make demo`: synthetic ISIC-layout data → TFRecords → a small APGAN+TTUR trained on the CPU →
# GAN-train/GAN-test and SWD → exported samples with their model card. Everything lands under
# the folder given ($1).
set -euo pipefail
OUT=${1:-demo_out}
PY=${PYTHON:-.venv/bin/python}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
step() { printf '\n=== %s\n' "$*"; }
# Wall time per step, printed at the end and added to results.json (tools/demo_timings.py).
now() { if [ -n "${EPOCHREALTIME:-}" ]; then echo "${EPOCHREALTIME/,/.}"; else date +%s; fi; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
T=$(now)

step "1/5 synthetic ISIC 2018 layout -> $OUT/isic"
if [ ! -f "$OUT/isic/ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv" ]; then
  "$PY" tools/make_synthetic_isic.py --output_dir "$OUT/isic" --num_images 1000 --seed 1
fi

step "2/5 prepare TFRecords (32x32, lesion-grouped split) -> $OUT/data"
if [ ! -f "$OUT/data/dataset.json" ]; then
  "$PY" tools/prepare_dataset.py --input_dir "$OUT/isic" --output_dir "$OUT/data" \
    --resolution 32 --val_size 150 --seed 1 --workers 2
fi
"$PY" - "$OUT/data/dataset.json" <<'PYEOF'
import json, sys
info = json.load(open(sys.argv[1]))
print("classes:", ", ".join(info["classes"]))
for split, s in info["splits"].items():
    print(f"{split:5s} {len(s['images']):4d} images  " + "  ".join(f"{k} {v}" for k, v in s["counts"].items()))
PYEOF

DATA_S=$(since "$T"); T=$(now)

step "3/5 train APGAN+TTUR (flags/demo.cfg) -> $OUT/run"
"$PY" -m pgan_tf.train --flagfile=flags/demo.cfg --data_dir="$OUT/data" --run_dir="$OUT/run"
echo
echo "Fake grids: $OUT/run/grids/   Log: $OUT/run/log.txt"
echo "TensorBoard: tensorboard --logdir $OUT/run/tensorboard  (HParams tab: after step 4/5)"

TRAIN_S=$(since "$T"); T=$(now)

step "4/5 GAN-train / GAN-test / SWD (small classifier, few epochs: CPU demo numbers) -> $OUT/results.json"
"$PY" tools/evaluate.py --flagfile=flags/demo_eval.cfg --run_dir "$OUT/run" \
  --data_dir "$OUT/data" --output "$OUT/results.json"
EVALUATE_S=$(since "$T"); T=$(now)

# After the evaluation, so that the samples' MODEL_CARD.md carries its numbers.
step "5/5 export samples of the EMA generator -> $OUT/samples"
"$PY" tools/export_samples.py --run_dir "$OUT/run" --num_per_class 16 --seed 0 --grid \
  --output_dir "$OUT/samples" --overwrite --noprogress
echo "Sample grid: $OUT/samples/grid.png   Labels: $OUT/samples/labels.csv"
EXPORT_S=$(since "$T")

# make demo passes the install's seconds (0 when .venv was already installed).
echo
"$PY" tools/demo_timings.py "$OUT/results.json" "install=${PGAN_TF_INSTALL_SECONDS:-0}" \
  "data=$DATA_S" "train=$TRAIN_S" "export=$EXPORT_S" "evaluate=$EVALUATE_S"
echo "Report (open in a browser; images embedded): $OUT/report.html   Markdown: $OUT/report.md"
