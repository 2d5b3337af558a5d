#!/usr/bin/env bash
# Ours vs the PyTorch peer (facebookresearch/pytorch_GAN_zoo b75dee4), one full
# D+G iteration, float32, 2 threads, alternating peer/ours, 2 rounds x 3 configs, never two at once.
# usage: PEER=DIR TORCH_PY=PY [OUT=DIR] experiments/peer/side_by_side.sh TIMER
#   TIMER: the peer-side timing script (a harness that times one pytorch_GAN_zoo iteration and
#   writes JSON; it is not part of this repository); PEER: a pytorch_GAN_zoo checkout.
# Then: python experiments/peer/summary.py OUT  (medians and ratios, Markdown).
set -u
H=${1:?usage: experiments/peer/side_by_side.sh TIMER (the peer-side timing script, outside the repo)}
H=$(realpath "$H")  # before the cd below: a relative path is the caller's
cd "$(dirname "$0")/../.."
export TF_CPP_MIN_LOG_LEVEL=2
PY=${PYTHON:-.venv/bin/python}
PEER=${PEER:?set PEER to a pytorch_GAN_zoo checkout (b75dee4) outside the repo}; TPY=${TORCH_PY:?set TORCH_PY to a python with torch + numpy}
O=${OUT:-side_by_side_out}; mkdir -p "$O"
for round in 1 2; do
  for cfg in full32b4 w32r32b16 w32r16b16; do
    case $cfg in
      full32b4)  P="--resolution 32 --batch 4 --steps 3";                   U="--resolutions=32 --batch=4 --steps=3";;
      w32r32b16) P="--resolution 32 --batch 16 --steps 5 --max-width 32";  U="--resolutions=32 --batch=16 --steps=5 --fmap_max=32 --latent_size=32";;
      w32r16b16) P="--resolution 16 --batch 16 --steps 5 --max-width 32";  U="--resolutions=16 --batch=16 --steps=5 --fmap_max=32 --latent_size=32";;
    esac
    echo "$(date +%T) round $round $cfg peer"
    $TPY $H --repo $PEER --peer-rev b75dee4 --classes 7 --threads 2 $P --out $O/peer_${cfg}_r$round.json > $O/peer_${cfg}_r$round.log 2>&1
    echo "$(date +%T) round $round $cfg ours"
    $PY tools/benchmark.py --flagfile=flags/apgan_ttur.cfg $U --skip_prepare --skip_export --output=$O/ours_${cfg}_r$round.json > $O/ours_${cfg}_r$round.log 2>&1
  done
done
echo "$(date +%T) done"
