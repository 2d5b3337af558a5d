#!/usr/bin/env bash
# Lazy gradient penalty: the demo's quality at --gp_interval=1, 4, 8 over the seeds of
# docs/performance.md's demo figures (1000, 1001, 1002), alternating k within each seed, never two
# runs at once. Each run: `make demo`'s training (flags/demo.cfg) and evaluation
# (flags/demo_eval.cfg: GAN-train, GAN-test, SWD) on the demo data. Run it alone: 9 trainings
# of 4.5-5.5 min and 9 evaluations of ~80 s on the 2-core AMD EPYC Zen 4 (about an hour).
# Each OUT/k<k>_s<seed>.results.json holds GAN-test
# (balanced accuracy) and SWD as pgan-evaluate writes them, for the checkpoints at kimg 88, 96,
# 104, 112 and 120 (a checkpoint every 8 kimg, the last 5 kept: checkpoint cadence does not change
# the run, so each is the end of a shorter demo); .train_seconds the training time. Then
# python experiments/lazy_gp/frontier.py OUT: training seconds against GAN-test per (k, kimg).
# usage: DATA=demo_out/data [OUT=experiments/lazy_gp/quality] [PYTHON=.venv/bin/python] \
#        experiments/lazy_gp/quality.sh
set -eu
cd "$(dirname "$0")/../.."
export TF_CPP_MIN_LOG_LEVEL=2
PY=${PYTHON:-.venv/bin/python}
DATA=${DATA:?set DATA to the prepared demo data, e.g. demo_out/data}
O=${OUT:-experiments/lazy_gp/quality}
mkdir -p "$O"
for seed in ${SEEDS:-1000 1001 1002}; do
  for k in 1 4 8; do
    run="$O/k${k}_s${seed}"
    echo "$(date +%T) seed $seed k=$k"
    start=$(date +%s)
    "$PY" -m pgan_tf.train --flagfile=flags/demo.cfg --data_dir="$DATA" --run_dir="$run" \
      --seed="$seed" --gp_interval="$k" --snapshot_ticks=2 --keep_checkpoints=5 > "$run.train.log" 2>&1
    echo "$(( $(date +%s) - start ))" > "$run.train_seconds"
    "$PY" tools/evaluate.py --flagfile=flags/demo_eval.cfg --run_dir "$run" --data_dir "$DATA" \
      --checkpoints=all --output "$run.results.json" > "$run.eval.log" 2>&1
  done
done
echo "$(date +%T) done"
