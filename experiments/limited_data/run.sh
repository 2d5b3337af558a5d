#!/usr/bin/env bash
# Limited-data benchmark of --d_augment in the regime where D overfits (docs/limited_data.md).
# Synthetic ISIC-layout set (1,000 images), 32x32, training split cut to 20 images per class
# (--max_per_class 20; what the cut leaves out is the spare split the held-out reals come from).
# Every flag a result depends on is pinned here, so a later change of flags/demo.cfg does not
# change this benchmark: the paper's APGAN+TTUR flagfile plus the demo's widths and schedule as
# they were when this script was written.
#
#   experiments/limited_data/run.sh OUT STAGE [arm:seed ...]
#     STAGE probe  : the `none` arm alone, seed 1, PROBE_KIMG (300) kimg, judged every 16 kimg
#     STAGE arms   : the listed arm:seed runs (default none/diffaug/ada x seeds 1-3) to ARM_KIMG
#                    (1.5x the probe's turn, or 300 when it did not turn), judged at the same kimg
#   experiments/limited_data/summarize.py OUT [--json F --png F]  (tables, traces, the turn)
#
# Smoke test at a tiny size (minutes, not a measurement):
#   RES=16 NUM_IMAGES=300 VAL_SIZE=40 LOD_KIMG=0.1 ARM_KIMG=0.6 EVAL_EVERY_KIMG=0.3 \
#     NUM_PER_CLASS=8 EPOCHS=1 experiments/limited_data/run.sh /tmp/ld_smoke arms none:1 ada:1 diffaug:1
set -euo pipefail
OUT=${1:?output folder}
STAGE=${2:?probe or arms}
PY=${PYTHON:-.venv/bin/python}
RES=${RES:-32}
NUM_IMAGES=${NUM_IMAGES:-1000}
VAL_SIZE=${VAL_SIZE:-150}
PROBE_KIMG=${PROBE_KIMG:-300}
ARM_KIMG=${ARM_KIMG:-300}
EVAL_EVERY_KIMG=${EVAL_EVERY_KIMG:-16}
LOD_KIMG=${LOD_KIMG:-8}
NUM_PER_CLASS=${NUM_PER_CLASS:-50}
EPOCHS=${EPOCHS:-10}
# ADA's speed as a few percent of the run (ADA: 500 kimg on runs of 5,000-25,000 kimg, 2-10 %):
# one thirtieth of the arms' length, 10 kimg at 300 kimg.
SPEED_KIMG=${SPEED_KIMG:-$("$PY" -c "print(max(${ARM_KIMG} / 30, 0.05))")}
export TF_CPP_MIN_LOG_LEVEL=2
mkdir -p "$OUT/runs" "$OUT/judges"

if [ ! -f "$OUT/isic/ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv" ]; then
  "$PY" tools/make_synthetic_isic.py --output_dir "$OUT/isic" --num_images "$NUM_IMAGES" --seed 1
fi
for cut in full 20; do
  extra=(); [ "$cut" = full ] || extra=(--max_per_class "$cut")
  [ -f "$OUT/data_$cut/dataset.json" ] || "$PY" tools/prepare_dataset.py --input_dir "$OUT/isic" \
    --output_dir "$OUT/data_$cut" --resolution "$RES" --val_size "$VAL_SIZE" --seed 1 --workers 1 \
    --noprogress "${extra[@]}"
done

# The pinned recipe. Widths: official nf capped at 32 (32 maps at 4x4 and 8x8, 16 at 16x16, 8 at
# 32x32). Schedule: 8-kimg phases from 4x4, then RES until the end. Minibatch 16 at 32x32. Uniform
# classes for G and class-balanced reals for D. G EMA 0.99. A tick every 4 kimg, a kept
# checkpoint every EVAL_EVERY_KIMG. --heldout_per_class=8 in every arm: the same training images
# everywhere, and r_v is logged in `none` and `diffaug` too.
TICK_KIMG=$("$PY" -c "print(min(4.0, ${EVAL_EVERY_KIMG}))")
SNAPSHOT_TICKS=$("$PY" -c "print(max(1, round(${EVAL_EVERY_KIMG} / ${TICK_KIMG})))")
RECIPE=(--flagfile=flags/apgan_ttur.cfg --resolution="$RES" --attention_stages=auto
        --fmap_base=128 --fmap_max=32 --latent_size=32
        --minibatch_dict=4:32,8:32,16:32,32:16 --lod_initial_resolution=4
        --lod_training_kimg="$LOD_KIMG" --lod_transition_kimg="$LOD_KIMG"
        --label_sampling=uniform --real_sampling=balanced --g_smoothing=0.99
        --tick_kimg="$TICK_KIMG" --snapshot_ticks="$SNAPSHOT_TICKS" --keep_checkpoints=3
        --keep_checkpoint_every_kimg="$EVAL_EVERY_KIMG" --image_snapshot_ticks=4
        --heldout_per_class=8 --d_augment_min_res=16)
declare -A ARMS=(
  [none]="--d_augment=none"
  [diffaug]="--d_augment=diffaug --diffaug_policy=translation,cutout"
  [ada]="--d_augment=ada --d_augment_heuristic=rv --d_augment_target=0.5 --d_augment_p=0
         --d_augment_p_max=0.8 --d_augment_ops=blit,geom --d_augment_interval=4
         --d_augment_speed_kimg=$SPEED_KIMG"
)

train_and_judge() {  # arm seed kimg
  local arm=$1 seed=$2 kimg=$3 run="$OUT/runs/$1-s$2"
  [ -f "$run/gan_test.json" ] && [ -f "$run/swd.json" ] && return
  echo "=== $(date -u +%H:%M:%S) $arm seed $seed to $kimg kimg"
  # shellcheck disable=SC2086
  "$PY" -m pgan_tf.train "${RECIPE[@]}" --data_dir="$OUT/data_20" --run_dir="$run" \
    --seed="$seed" --total_kimg="$kimg" ${ARMS[$arm]} > "$run.train.log" 2>&1
  # GAN-test: a judge trained on the full set less the run's held-out reals (pgan-evaluate leaves
  # them out by id), once per held-out set, i.e. per seed (cached); SWD against the run's own
  # training reals (the 20 a class), the criterion that picks an arm's best checkpoint.
  "$PY" tools/evaluate.py --run_dir "$run" --data_dir "$OUT/data_full" --metrics gan_test \
    --checkpoints all --num_per_class "$NUM_PER_CLASS" --epochs "$EPOCHS" \
    --classifier_width 16 --classifier_learning_rate 0.01 --classifier_balanced \
    --judge_cache "$OUT/judges" --output "$run/gan_test.json" --noprogress > "$run.eval.log" 2>&1
  "$PY" tools/evaluate.py --run_dir "$run" --data_dir "$OUT/data_20" --metrics swd \
    --checkpoints all --num_per_class "$NUM_PER_CLASS" --output "$run/swd.json" \
    --noprogress >> "$run.eval.log" 2>&1
  echo "=== $(date -u +%H:%M:%S) $arm seed $seed done"
}

case "$STAGE" in
  probe) train_and_judge none 1 "$PROBE_KIMG" ;;
  arms)
    ORDER=("${@:3}")
    if [ ${#ORDER[@]} -eq 0 ]; then
      for seed in 1 2 3; do for arm in none diffaug ada; do ORDER+=("$arm:$seed"); done; done
    fi
    for item in "${ORDER[@]}"; do train_and_judge "${item%%:*}" "${item##*:}" "$ARM_KIMG"; done ;;
  *) echo "STAGE must be probe or arms" >&2; exit 2 ;;
esac
