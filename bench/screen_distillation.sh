#!/usr/bin/env bash
# Teacher or no teacher, at the same short budget: every variant trains 3 epochs x 60 steps x
# batch 64 (cosine schedule, client-style augmentation) on the same prepared data and
# identity split (seed 0), is exported, and is scored on the held-out in-the-wild people
# (CelebA, FRLL, Taiwanese). Variants: no teacher; projection (hint) term; similarity-matrix
# term; both. Only the teacher variants can use the unlabelled faces, so they get them: that
# is part of what a teacher buys. Results: runs/screen_distill/<variant>/eval/report.json and
# a Markdown table on stdout.
#
# Usage: bench/screen_distillation.sh [CACHE_DIR]   (after `training prepare` and `teacher`)
set -euo pipefail
cache=${1:-data_cache/faces112}
py=${PYTHON:-.venv/bin/python}
out=runs/screen_distill
data=(--data "$cache/orl" --data "$cache/extended_yaleb" --data "$cache/yale"
      --data "$cache/taiwan_frontal" --data "$cache/frll"
      --data "celeba=$cache/celeba_subset" --data "celeba=$cache/celeba_aligned_small")
wild=("celeba=$cache/celeba_subset" "celeba=$cache/celeba_aligned_small" "$cache/frll"
      "$cache/taiwan_frontal")
budget=(--epochs 3 --steps-per-epoch 60 --warmup-epochs 0.5)

run_variant() {  # name, then train overrides
  local name=$1; shift
  local run=$out/$name
  "$py" -m training train --preset teacher "${data[@]}" "${budget[@]}" "$@" \
    --out "$run" --verbose 2
  "$py" -m training export --checkpoint "$run/final.keras" --out "$run/export" --no-saved-model
  "$py" -m training evaluate --model "$run/export" --split "$run/split.json" \
    --data "${wild[@]}" --out "$run/eval"
}

teacher=(--teacher "$cache" --unlabelled "$cache/utkface")
run_variant none --distill none
run_variant projection --distill projection "${teacher[@]}"
run_variant similarity --distill similarity "${teacher[@]}"
run_variant both --distill both "${teacher[@]}"
"$py" - "$out" <<'PY'
import json, sys
from pathlib import Path
print("| variant | 10-fold acc | AUC | EER | TAR@FAR=1e-3 |")
print("|---|---|---|---|---|")
for name in ("none", "projection", "similarity", "both"):
    r = json.loads((Path(sys.argv[1]) / name / "eval" / "report.json").read_text())
    print(f"| {name} | {r['accuracy']['mean']:.4f} | {r['auc']:.4f} | {r['eer']:.4f} "
          f"| {r['tar_at_far']['0.001']:.4f} |")
PY
