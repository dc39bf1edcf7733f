#!/usr/bin/env bash
# The five-loss study, then the FL_DL gamma sweep and learning-rate search: one run per
# configs/study_*.json, one after another (same data, same budget), then the table.
# Usage: scripts/run_study.sh DATA REALDIR RUNS   (deepssetracer on PATH)
set -euo pipefail
data=$1 real=$2 runs=$3
cd "$(dirname "$0")/.."
mkdir -p "$runs"
for name in fl_dl ce fl dl ce_dl fl_dl_gamma1 fl_dl_gamma5 fl_dl_gamma8 fl_dl_lr3e-4 fl_dl_lr3e-3; do
  [ -f "$runs/study_$name/deepssetracer.onnx" ] && continue  # finished earlier
  resume=()
  [ -f "$runs/study_$name/checkpoint.pt" ] && resume=(--resume)
  deepssetracer train "configs/study_$name.json" --data "$data" --real-val "$real" \
    --out "$runs/study_$name" "${resume[@]}" > "$runs/study_$name.out" 2>&1
done
python scripts/study_table.py "$runs"
