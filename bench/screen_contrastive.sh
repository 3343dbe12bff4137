#!/usr/bin/env bash
# Contrastive representation distillation (`train --contrastive-weight`) against the plain
# hint, as a continuation of the shipped weights: two runs side by side from INIT (default
# models/default, warm-started from the export), the same seed, data and schedule as 2.7.0's
# rounds (`--distill projection --learning-rate 2e-4`, hint heads on stages 2 and 3 at weight
# 10, EPOCHS x 420 steps of 64 images), one with the contrastive term added. Each is exported
# as 2.7.0 serves (mirror average; feature, teacher projection and stage-3 head joined) and
# compared on the held-out CelebA and in-the-wild people with models/default, and the
# contrastive run with the control (95% intervals over people).
#
# Usage: bench/screen_contrastive.sh [CACHE_DIR] [WEIGHT] [TEMPERATURE]
# Results: runs/crd_{control,w<WEIGHT>_t<TEMPERATURE>}_seed<SEED>/{export,compare_*.json},
# and the contrastive run's vs_control/compare_{celeba,wild}.json. Environment: SEED (default 0),
# EPOCHS (default 6), INIT.
set -euo pipefail
cache=${1:-data_cache/faces112}
weight=${2:-0.1}
temperature=${3:-0.1}
seed=${SEED:-0}
epochs=${EPOCHS:-6}
init=${INIT:-models/default}
py=${PYTHON:-.venv/bin/python}
source "$(dirname "$0")/screen_recipe.sh"
served=(feature teacher_projection stage3_projection)
split=models/default/evaluation/heldout_split.json

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
contrastive=runs/crd_w${weight}_t${temperature}_seed$seed
train_and_export "$control" &
train_and_export "$contrastive" --contrastive-weight "$weight" \
  --contrastive-temperature "$temperature" &
wait
compare_exports models/default "$control/export" "$split" "$control"
compare_exports models/default "$contrastive/export" "$split" "$contrastive"
mkdir -p "$contrastive/vs_control"
compare_exports "$control/export" "$contrastive/export" "$split" "$contrastive/vs_control"
