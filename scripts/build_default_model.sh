#!/usr/bin/env bash
# Rebuilds the shipped default model (models/default) from the shared face sets, exactly as
# it was built: prepare -> train -> export -> evaluate on held-out people (calibrates the
# threshold into metadata.json). Re-running resumes: prepare skips done crops, train resumes
# from runs/default/backup. CPU is fine (about 70 min of training on 2 cores); a GPU is used
# automatically when TensorFlow sees one.
#
# Usage: scripts/build_default_model.sh [FACES_DIR] [RUN_DIR]
set -euo pipefail
faces=${1:-../shared/data/faces}
run=${2:-runs/default_v1}
py=${PYTHON:-.venv/bin/python}
cache=data_cache/faces112

"$py" -m training prepare --size 112 --out "$cache" \
  --data "$faces/orl" --data "$faces/extended_yaleb" --data "$faces/yale" \
  --data "celeba=$faces/celeba_subset" --data "celeba=$faces/celeba_aligned_small"

"$py" -m training train --preset default --out "$run" \
  --data "$cache/orl" --data "$cache/extended_yaleb" --data "$cache/yale" \
  --data "celeba=$cache/celeba_subset" --data "celeba=$cache/celeba_aligned_small"

"$py" -m training export --checkpoint "$run/best.keras" --out models/default \
  --name default --version 1.0.0
"$py" -m training evaluate --model models/default --split "$run/split.json" \
  --out models/default/evaluation --calibrate
