#!/usr/bin/env bash
# Lazy gradient penalty: training-step time for --gp_interval=1, 4, 8, alternating (k=1, k=4,
# k=8, then again), never two runs at once: at the demo's widths (flags/demo.cfg: 16x16 and
# 32x32 at the demo's minibatches) and at full width (flags/apgan_ttur.cfg, 32x32, minibatch 4).
# Run it alone on the machine. 8 warm-up steps trace both step variants (with and without the
# penalty); 16 timed steps are a whole number of cycles of every k, so their mean is the
# average step. Then: python experiments/lazy_gp/summary.py OUT (medians, ratios to k=1).
# usage: [ROUNDS=3] [OUT=experiments/lazy_gp/out] [PYTHON=.venv/bin/python] experiments/lazy_gp/step_time.sh
set -eu
cd "$(dirname "$0")/../.."
export TF_CPP_MIN_LOG_LEVEL=2
PY=${PYTHON:-.venv/bin/python}
O=${OUT:-experiments/lazy_gp/out}
mkdir -p "$O"
COMMON="--skip_prepare --skip_export --warmup_steps=8 --steps=${STEPS:-16}"
for round in $(seq 1 "${ROUNDS:-3}"); do
  for cfg in demo16 demo32 full32; do
    case $cfg in
      demo16) F="--flagfile=flags/demo.cfg --resolutions=16 --batch=32";;
      demo32) F="--flagfile=flags/demo.cfg --resolutions=32 --batch=16";;
      full32) F="--flagfile=flags/apgan_ttur.cfg --resolutions=32 --batch=4";;
    esac
    for k in 1 4 8; do
      echo "$(date +%T) round $round $cfg k=$k"
      # shellcheck disable=SC2086  # F and COMMON are lists of flags
      $PY tools/benchmark.py $F $COMMON --gp_interval=$k \
        --output="$O/${cfg}_k${k}_r${round}.json" > "$O/${cfg}_k${k}_r${round}.log" 2>&1
    done
  done
done
echo "$(date +%T) done"
