#!/usr/bin/env bash
# The main job, end to end, on a small real release built from ../shared/clips:
# sample release -> detect + tune thresholds (PSO) -> train two action heads -> predict -> evaluate.
# Uses $CASCADE_WEIGHTS when set, else the OpenVINO YOLO11n in ../shared/weights, else yolo11n.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${CASCADE_SHARED:-../shared}
if [ -z "${CASCADE_WEIGHTS:-}" ] && [ -d "$shared/weights/yolo11n_int8_openvino_model" ]; then
  export CASCADE_WEIGHTS="$shared/weights/yolo11n_int8_openvino_model"
fi
data=${DEMO_DATA:-sample}
run=${DEMO_RUN:-runs/demo}
cascade sample-release "$data" --clips "$shared/clips" --overwrite
cascade tune-thresholds --data "$data" --run-dir "$run"
for actor in adult dog; do
  cascade train-head --actor "$actor" --data "$data" --run-dir "$run" --epochs "${DEMO_EPOCHS:-3}"
done
cascade predict "$data/clips320H/walk_b.mp4" --run-dir "$run"
cascade predict "$data/clips320H/dog_c.mp4" --run-dir "$run"
cascade evaluate --data "$data" --run-dir "$run"
