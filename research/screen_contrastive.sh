#!/usr/bin/env bash
# Contrastive representation distillation (`train --contrastive-weight`) against the plain
# hint, as a continuation of the shipped weights: research/screen_continuation.sh with the
# contrastive term as the arm's change.
#
# Usage: research/screen_contrastive.sh [CACHE_DIR] [WEIGHT] [TEMPERATURE]
# Results: runs/crd_{control,w<WEIGHT>_t<TEMPERATURE>}_seed<SEED>/{export,compare_*.json},
# and the contrastive run's vs_control/compare_{celeba,wild}.json. Environment: SEED (default 0),
# EPOCHS (default 6), INIT.
set -euo pipefail
cache=${1:-data_cache/faces112}
weight=${2:-0.1}
temperature=${3:-0.1}
exec "$(dirname "$0")/screen_continuation.sh" "$cache" "crd_w${weight}_t${temperature}" \
  --contrastive-weight "$weight" --contrastive-temperature "$temperature"
