#!/usr/bin/env bash
# A second hint head, on stage 3's output map, trained with the network (`train
# --stage3-hint-weight`): 2.4.0's weights continued for 6 epochs x 420 steps x 64 images
# (`--init-from models/resnet18-2.7.0 --distill projection --learning-rate 2e-4`, the continuation
# screen's budget, docs/research.md) with the stage-3 head added, then exported twice:
# as 2.4.0 serves (feature + teacher_projection) and with the stage-3 head joined as a third
# view. Both are compared with 2.4.0 on the held-out CelebA and in-the-wild people (95%
# intervals over people). The same continuation without the head is runs/cont_0_seed<S>
# (research/screen_neighbours.sh with NAME=cont; figures in research/results/continuation_*).
#
# Usage: research/screen_stage3.sh [CACHE_DIR] [WEIGHT] [SEED ...]
# Results: runs/<NAME>_w<WEIGHT>_seed<S>/{served,joined}/compare_{celeba,wild}.json, against
# whatever models/resnet18-2.7.0 is when it runs (2.4.0 for the figures above; 2.5.0, itself this
# screen's seed 0, makes it a second continuation). Environment: NAME (default stage3), INIT
# (the starting weights, default models/resnet18-2.7.0: an export, or a run's .keras checkpoint,
# loaded by layer name with its heads and classes), TRAIN_ARGS (more `train` arguments, e.g.
# "--stage2-hint-weight 10") and HEADS (the hint heads the joined view adds; default
# stage3_projection).
set -euo pipefail
cache=${1:-data_cache/faces112}
weight=${2:-10}
shift $(($# > 2 ? 2 : $#))
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(0 1)
py=${PYTHON:-.venv/bin/python}
name=${NAME:-stage3}
init=${INIT:-models/resnet18-2.7.0}
read -r -a extra <<<"${TRAIN_ARGS:-}"
read -r -a heads <<<"${HEADS:-stage3_projection}"
source "$(dirname "$0")/screen_recipe.sh"

train_and_score() {  # run directory, seed
  local run=$1
  if [ ! -f "$run/final.keras" ]; then
    train_recipe "$run" --epochs 6 --steps-per-epoch 420 --seed "$2" --init-from "$init" \
      --distill projection --learning-rate 2e-4 --stage3-hint-weight "$weight" "${extra[@]}" \
      >"$run.log" 2>&1
  fi
  local view layers
  for view in served joined; do
    layers=(feature teacher_projection)
    [ "$view" = served ] || layers+=("${heads[@]}")
    [ -f "$run/$view/compare_wild.json" ] && continue
    export_as_served "$run" "${layers[@]}" >>"$run.log" 2>&1
    rm -rf "${run:?}/$view" && mv "$run/export" "$run/$view"
    compare_exports models/resnet18-2.7.0 "$run/$view" models/resnet18-2.7.0/evaluation/heldout_split.json \
      "$run/$view" >>"$run.log" 2>&1
  done
}

mkdir -p runs
for seed in "${seeds[@]}"; do
  train_and_score "runs/${name}_w${weight}_seed$seed" "$seed" &
done
wait
