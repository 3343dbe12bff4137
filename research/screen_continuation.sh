#!/usr/bin/env bash
# One change to 2.7.0's continuation round against the same round without it: two runs from
# INIT (default models/resnet18-2.7.0, warm-started from the export) with the same seed, data and
# schedule as 2.7.0's rounds (`--distill projection --learning-rate 2e-4`, hint heads on
# stages 2 and 3 at weight 10, EPOCHS x 420 steps of 64 images), the arm adding the given
# `train` arguments. A run already trained (final.keras) or exported is reused, so the
# control (runs/crd_control_seed<SEED>, first trained by research/screen_contrastive.sh) serves
# every arm of the same SEED and EPOCHS. Each run is exported as 2.7.0 serves (mirror
# average; feature, teacher projection and stage-3 head joined) and compared on the held-out
# CelebA and in-the-wild people with models/resnet18-2.7.0, and the arm with the control (95%
# intervals over people).
#
# Usage: research/screen_continuation.sh CACHE_DIR ARM_NAME [TRAIN_ARGUMENT ...]
# Results: runs/{crd_control,ARM_NAME}_seed<SEED>/{export,compare_*.json} and the arm's
# vs_control/compare_{celeba,wild}.json. Environment: SEED (default 0), EPOCHS (default 6),
# INIT.
set -euo pipefail
cache=$1
name=$2
seed=${SEED:-0}
epochs=${EPOCHS:-6}
init=${INIT:-models/resnet18-2.7.0}
py=${PYTHON:-.venv/bin/python}
source "$(dirname "$0")/screen_recipe.sh"
served=(feature teacher_projection stage3_projection)
split=models/resnet18-2.7.0/evaluation/heldout_split.json

train_and_export() {  # run directory, then any further `train` arguments
  local run=$1
  if [ ! -f "$run/final.keras" ]; then
    train_recipe "$run" --epochs "$epochs" --steps-per-epoch 420 --seed "$seed" \
      --init-from "$init" --distill projection --learning-rate 2e-4 \
      --stage3-hint-weight 10 --stage2-hint-weight 10 "${@:2}" >"$run.log" 2>&1
  fi
  [ -f "$run/export/metadata.json" ] || export_as_served "$run" "${served[@]}" >>"$run.log" 2>&1
}

mkdir -p runs
control=runs/crd_control_seed$seed
arm=runs/${name}_seed$seed
train_and_export "$control" &
train_and_export "$arm" "${@:3}" &
wait
for run in "$control" "$arm"; do
  [ -f "$run/compare_wild.json" ] || compare_exports models/resnet18-2.7.0 "$run/export" "$split" "$run"
done
mkdir -p "$arm/vs_control"
compare_exports "$control/export" "$arm/export" "$split" "$arm/vs_control"
