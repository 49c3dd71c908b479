#!/usr/bin/env bash
# The main job, end to end, on the real labelled clips of ../shared/clips:
# condense the clips -> detect + tune thresholds (margin search, cross-validated beside the seed's PSO)
# -> train two action heads -> predict three clips with pictures -> evaluate on the held-out clips.
# Uses $CASCADE_WEIGHTS when set, else the OpenVINO YOLO11n in ../shared/weights, else yolo11n.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${CASCADE_SHARED:-../shared}
if [ -z "${CASCADE_WEIGHTS:-}" ] && [ -d "$shared/weights/yolo11n_int8_openvino_model" ]; then
  export CASCADE_WEIGHTS="$shared/weights/yolo11n_int8_openvino_model"
fi
data=${DEMO_DATA:-runs/demo-clips}
run=${DEMO_RUN:-runs/demo}
cascade sample-clips "$shared/clips/labels.csv" "$data" --frames-per-clip "${DEMO_FRAMES:-48}" --overwrite
cascade tune-thresholds --data "$data/labels.csv" --run-dir "$run" --cv 5
for actor in adult dog; do  # small and short: no ImageNet weights here, so this shows the machinery
  cascade train-head --actor "$actor" --data "$data/labels.csv" --run-dir "$run" \
    --epochs "${DEMO_EPOCHS:-2}" --imgsz "${DEMO_IMGSZ:-112}"
done
cascade predict "$data/BellamyCeleman_running.mp4" "$data/sam2_01_dog.mp4" "$data/dalgu90_car.mp4" \
  --run-dir "$run" --save "$run/pictures"
cascade evaluate --data "$data/labels.csv" --run-dir "$run"
