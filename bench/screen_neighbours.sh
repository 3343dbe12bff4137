#!/usr/bin/env bash
# Teacher-mined batches or random batches (`train --neighbour-group`), at the short budget of
# the people screen (6 epochs x 420 steps x 64 images of the 2.0.0 recipe): per seed, a
# control and a run whose batches are groups of an image and its nearest training images in
# the teacher's space, trained side by side (2 processes), exported as 2.4.0 is served
# (mirror average, feature and projection joined), and compared on the held-out CelebA and
# in-the-wild people with 95% intervals over people.
#
# Usage: bench/screen_neighbours.sh [CACHE_DIR] [GROUP] [SEED ...]
#   (CACHE_DIR from `python -m training prepare` + `python -m training teacher`)
# Results: runs/neighbours_<GROUP>_seed<S>/compare_{celeba,wild}.json, against
# runs/neighbours_0_seed<S> (the control); a run already exported is not trained again.
set -euo pipefail
cache=${1:-data_cache/faces112}
group=${2:-4}
shift $(($# > 2 ? 2 : $#))
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(0 1)
py=${PYTHON:-.venv/bin/python}
labelled=(orl extended_yaleb yale taiwan_frontal frll)
data=("${labelled[@]/#/--data=$cache/}"
      --data "celeba=$cache/celeba_subset" --data "celeba=$cache/celeba_aligned_small")
wild=("celeba=$cache/celeba_subset" "celeba=$cache/celeba_aligned_small"
      "$cache/frll" "$cache/taiwan_frontal")

train_and_export() {  # run directory, seed, group
  local run=$1
  [ -f "$run/export/model.onnx" ] && return 0  # trained and exported by an earlier call
  "$py" -m training train --preset teacher --out "$run" --teacher "$cache" "${data[@]}" \
    --unlabelled "$cache/utkface" --epochs 6 --steps-per-epoch 420 --seed "$2" \
    --neighbour-group "$3" --verbose 2 >"$run.log" 2>&1
  "$py" -m training export --checkpoint "$run/final.keras" --out "$run/export" \
    --no-saved-model --mirror-average --embedding-layer feature teacher_projection \
    >>"$run.log" 2>&1
}

mkdir -p runs
for seed in "${seeds[@]}"; do
  control=runs/neighbours_0_seed$seed
  run=runs/neighbours_${group}_seed$seed
  train_and_export "$control" "$seed" 0 &
  train_and_export "$run" "$seed" "$group" &
  wait
  "$py" -m training compare --models "$control/export" "$run/export" --split "$control/split.json" \
    --data "celeba=$cache/celeba_subset" --out "$run/compare_celeba.json"
  "$py" -m training compare --models "$control/export" "$run/export" --split "$control/split.json" \
    --data "${wild[@]}" --impostors 200000 --out "$run/compare_wild.json"
done
