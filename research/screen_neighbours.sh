#!/usr/bin/env bash
# Teacher-mined batches or random batches (`train --neighbour-group`), at the short budget of
# the people screen (6 epochs x 420 steps x 64 images of the 2.0.0 recipe): per seed, a
# control and a run whose batches are groups of an image and its nearest training images in
# the teacher's space, trained side by side (2 processes), exported as 2.4.0 is served
# (mirror average, feature and projection joined), and compared on the held-out CelebA and
# in-the-wild people with 95% intervals over people.
#
# Usage: research/screen_neighbours.sh [CACHE_DIR] [GROUP] [SEED ...]
#   (CACHE_DIR from `python -m training prepare` + `python -m training teacher`)
# Results: runs/<NAME>_<GROUP>_seed<S>/compare_{celeba,wild}.json, against
# runs/<NAME>_0_seed<S> (the control); a run already exported is not trained again.
# Environment: NAME (default neighbours), EPOCHS (6), STEPS (420 per epoch), and for a
# continuation of trained weights INIT (a checkpoint or export, `train --init-from`), with
# TRAIN_ARGS for anything else `train` takes (e.g. "--distill projection --learning-rate 5e-4").
# Every seed holds out the shipped model's people (models/resnet18-2.7.0/evaluation/heldout_split.json):
# `--seed` varies the weights, batches and augmentations; the split's own seed stays 0.
set -euo pipefail
cache=${1:-data_cache/faces112}
group=${2:-4}
shift $(($# > 2 ? 2 : $#))
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(0 1)
py=${PYTHON:-.venv/bin/python}
name=${NAME:-neighbours}
read -r -a extra <<<"${TRAIN_ARGS:-}"
[ -z "${INIT:-}" ] || extra+=(--init-from "$INIT")
source "$(dirname "$0")/screen_recipe.sh"

train_and_export() {  # run directory, seed, group
  local run=$1
  [ -f "$run/export/model.onnx" ] && return 0  # trained and exported by an earlier call
  train_recipe "$run" --epochs "${EPOCHS:-6}" --steps-per-epoch "${STEPS:-420}" \
    --seed "$2" --neighbour-group "$3" "${extra[@]}" >"$run.log" 2>&1
  export_as_served "$run" >>"$run.log" 2>&1
}

mkdir -p runs
for seed in "${seeds[@]}"; do
  control=runs/${name}_0_seed$seed
  run=runs/${name}_${group}_seed$seed
  train_and_export "$control" "$seed" 0 &
  train_and_export "$run" "$seed" "$group" &
  wait
  compare_held_out "$control" "$run"
done
