#!/usr/bin/env bash
# Screening of model variants for the default model (input size, grey/colour, stage-1 stride):
# every variant gets the same short budget (3 epochs x 60 steps x batch 64, cosine schedule)
# on the same prepared data and identity split (seed 0), then is exported and scored on the
# held-out people. Results: runs/screen/<variant>/eval/report.json and a summary table.
#
# Usage: bench/screen_variants.sh [CACHE_DIR]   (CACHE_DIR from `python -m training prepare`)
set -euo pipefail
cache=${1:-data_cache/faces112}
py=${PYTHON:-.venv/bin/python}
out=runs/screen
data=(--data "$cache/orl" --data "$cache/extended_yaleb" --data "$cache/yale"
      --data "celeba=$cache/celeba_subset" --data "celeba=$cache/celeba_aligned_small")
budget=(--epochs 3 --steps-per-epoch 60 --warmup-epochs 0.5 --patience 0)

run_variant() {  # name, then train overrides
  local name=$1; shift
  local run=$out/$name
  "$py" -m training train --preset default "${data[@]}" "${budget[@]}" "$@" \
    --out "$run" --verbose 2
  "$py" -m training export --checkpoint "$run/final.keras" --out "$run/export" --no-saved-model
  "$py" -m training evaluate --model "$run/export" --split "$run/split.json" --out "$run/eval"
}

run_variant rgb112_s2 --input-size 112 --channels 3 --stage1-stride 2
run_variant grey112_s2 --input-size 112 --channels 1 --stage1-stride 2
run_variant rgb64_s2 --input-size 64 --channels 3 --stage1-stride 2
run_variant rgb112_s1 --input-size 112 --channels 3 --stage1-stride 1
"$py" - "$out" <<'PY'
import json, sys
from pathlib import Path
rows = []
for report in sorted(Path(sys.argv[1]).glob("*/eval/report.json")):
    r = json.loads(report.read_text())
    rows.append((report.parts[-3], r))
print(json.dumps({name: r.get("metrics", r) for name, r in rows}, indent=1)[:4000])
PY
