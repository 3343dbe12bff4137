#!/usr/bin/env bash
# How much does verification on new people gain from more training people? The 2.0.0 recipe
# (`--preset teacher`) on a nested, seeded share of the training people and of the unlabelled
# faces (`train --people-fraction`), every run the same number of steps (that of the full
# data), the same held-out people; each run exported as 2.4.0 is served (mirror average,
# feature and projection joined) and compared with the full-data run on the held-out CelebA
# and in-the-wild people, with 95% intervals over people.
#
# Usage: research/screen_people.sh [CACHE_DIR] [EPOCHS] [FRACTION ...]
#   (CACHE_DIR from `python -m training prepare` + `python -m training teacher`)
#   SEED=1 research/screen_people.sh ... trains replicates (runs/people_share_<F>_seed1), which
#   are compared with the seed-0 full-data run too: the screen's own noise.
#   STEPS=N sets the steps per epoch (default 420, one pass over the full data of the
#   shipped cache); keep it fixed across the runs of one screen.
# Results: runs/people_share_<F>/ and runs/people_share_<F>/compare_{celeba,wild}.json;
# a run already exported is not trained again.
set -euo pipefail
cache=${1:-data_cache/faces112}
epochs=${2:-6}
shift $(($# > 2 ? 2 : $#))
fractions=("$@")
[ ${#fractions[@]} -gt 0 ] || fractions=(1.0 0.5 0.25)
py=${PYTHON:-.venv/bin/python}
seed=${SEED:-0}  # weights, shuffling, augmentation; another seed is a replicate (same people)
suffix=$([ "$seed" = 0 ] || echo "_seed$seed")
steps=${STEPS:-420}  # one pass over the full data: (17,229 labelled + 9,674 unlabelled) // 64
source "$(dirname "$0")/screen_recipe.sh"

for fraction in "${fractions[@]}"; do
  run=runs/people_share_$fraction$suffix
  [ -f "$run/export/model.onnx" ] && continue  # trained and exported by an earlier call
  train_recipe "$run" --people-fraction "$fraction" --epochs "$epochs" \
    --steps-per-epoch "$steps" --seed "$seed"
  export_as_served "$run"
done

full=runs/people_share_1.0
for fraction in "${fractions[@]}"; do
  run=runs/people_share_$fraction$suffix
  [ "$run" = "$full" ] && continue
  compare_held_out "$full" "$run"
done
