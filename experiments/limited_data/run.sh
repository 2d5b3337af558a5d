#!/usr/bin/env bash
# Limited-data benchmark of --d_augment (issue 13; results in docs/limited_data.md).
# Synthetic ISIC set, 32x32, cut to 20 training images per class; demo widths (flags/demo.cfg),
# uniform label sampling; arms none / fixed p=0.2 / fixed p=0.5 / ada, 3 seeds each, same kimg.
# `ada` is the arm as first run, before --d_augment_p_max existed (p up to 1: --d_augment_p_max=1);
# `ada0.8` is ADA with the default cap p <= 0.8 (ADA §2.2's safe bound).
# Runs one at a time, in the order given as arm:seed (default seed-major over all 12). Usage:
#   experiments/limited_data/run.sh OUT [KIMG [arm:seed ...]]
set -euo pipefail
OUT=${1:?output folder}
KIMG=${2:-6}
PY=${PYTHON:-.venv/bin/python}
export TF_CPP_MIN_LOG_LEVEL=2
mkdir -p "$OUT"
if [ ! -f "$OUT/isic/ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv" ]; then
  "$PY" tools/make_synthetic_isic.py --output_dir "$OUT/isic" --num_images 1000 --seed 1
fi
for cut in full 20; do
  extra=(); [ "$cut" = full ] || extra=(--max_per_class "$cut")
  [ -f "$OUT/data_$cut/dataset.json" ] || "$PY" tools/prepare_dataset.py --input_dir "$OUT/isic" \
    --output_dir "$OUT/data_$cut" --resolution 32 --val_size 150 --seed 1 --workers 1 \
    --noprogress "${extra[@]}"
done
declare -A ARMS=(
  [none]="--d_augment=none"
  [fixed0.2]="--d_augment=fixed --d_augment_p=0.2"
  [fixed0.5]="--d_augment=fixed --d_augment_p=0.5"
  [ada]="--d_augment=ada --d_augment_p=0 --d_augment_speed_kimg=3 --d_augment_p_max=1"
  [ada0.8]="--d_augment=ada --d_augment_p=0 --d_augment_speed_kimg=3 --d_augment_p_max=0.8"
)
ORDER=("${@:3}")
if [ ${#ORDER[@]} -eq 0 ]; then
  for seed in 1 2 3; do for arm in none fixed0.2 fixed0.5 ada0.8; do ORDER+=("$arm:$seed"); done; done
fi
for item in "${ORDER[@]}"; do
    arm=${item%%:*} seed=${item##*:}
    run="$OUT/runs/$arm-s$seed"
    [ -f "$run/results.json" ] && continue
    echo "=== $(date -u +%H:%M:%S) $arm seed $seed"
    # From 16x16, 1-kimg phases: 32x32 stable from kimg 2; every arm trains KIMG kimg (short:
    # the 2 cores were shared by ~8 sessions, load ~10, when this was run).
    # --fmap_base=512 --real_sampling=dataset --minibatch_dict=...32:32: demo.cfg as it was when
    # docs/limited_data.md was measured (32 maps everywhere, dataset-mix reals, minibatch 32 at
    # 32x32); the demo changed all three later.
    # shellcheck disable=SC2086
    "$PY" -m pgan_tf.train --flagfile=flags/demo.cfg --data_dir="$OUT/data_20" --run_dir="$run" \
      --fmap_base=512 --real_sampling=dataset --minibatch_dict=4:32,8:32,16:32,32:32 \
      --seed="$seed" --lod_initial_resolution=16 \
      --lod_training_kimg=1 --lod_transition_kimg=1 \
      --total_kimg="$KIMG" --tick_kimg=0.5 --snapshot_ticks=4 --label_sampling=uniform \
      ${ARMS[$arm]} > "$run.train.log" 2>&1
    "$PY" tools/evaluate.py --run_dir "$run" --data_dir "$OUT/data_full" --metrics gan_test,swd \
      --num_per_class 50 --epochs 5 --classifier_width 16 --output "$run/results.json" \
      --noprogress > "$run.eval.log" 2>&1
    echo "=== $(date -u +%H:%M:%S) $arm seed $seed done"
done
