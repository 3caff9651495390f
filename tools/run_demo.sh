#!/usr/bin/env bash
# The README's main job: train RetinaFace-MobileNet0.25 on the bundled synthetic
# WIDER-format data set with stock mmdet tooling, test it with the WIDER Face
# metric (easy/medium/hard AP) and draw a few predictions with landmarks.
# `make demo` runs setup and data generation first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python
CONFIG="${CONFIG:-configs/retinaface/retinaface_mnet025_1xb16-12e_widerface-synthetic.py}"
WORK="${WORK_DIR:-work_dirs/$(basename "${CONFIG%.py}")}"
export PYTHONUNBUFFERED=1

start=$(date +%s)
echo "[demo] 1/3 training $CONFIG -> $WORK (stock mmdet tools/train.py)"
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK"
CKPT="$(cat "$WORK/last_checkpoint")"
trained=$(date +%s)

echo "[demo] 2/3 testing $CKPT with the WIDER Face metric (stock mmdet tools/test.py)"
rm -rf "$WORK/test"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK/test" \
  --show-dir vis --cfg-options default_hooks.visualization.score_thr=0.5
tested=$(date +%s)

echo "[demo] 3/3 summary"
"$PY" tools/misc/demo_summary.py "$WORK/test" \
  --train-seconds $((trained - start)) --test-seconds $((tested - trained))
