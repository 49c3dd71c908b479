#!/usr/bin/env bash
# The main job, end to end, on the real labelled clips of ../shared/clips:
# condense the clips -> detect + choose thresholds (the seed's, cross-validated by source beside every tuning method)
# -> features of every second frame (ImageNet MobileNetV2 embeddings, person keypoints, box motion), once
# -> train every actor's light head on them, in seconds, no network training -> predict three clips with pictures
# -> evaluate on the held-out clips, beside the most-frequent-pair baseline.
# Uses $CASCADE_WEIGHTS when set, else the OpenVINO YOLO11n in ../shared/weights, else yolo11n.pt;
# $CASCADE_PRETRAINED when set, else the ImageNet MobileNetV2 in ../shared/weights, else torchvision's; and
# $CASCADE_POSE when set, else the OpenVINO YOLOv8n-pose in ../shared/weights, else yolo11n-pose.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${CASCADE_SHARED:-../shared}
if [ -z "${CASCADE_WEIGHTS:-}" ] && [ -d "$shared/weights/yolo11n_int8_openvino_model" ]; then
  export CASCADE_WEIGHTS="$shared/weights/yolo11n_int8_openvino_model"
fi
if [ -z "${CASCADE_PRETRAINED:-}" ] && [ -d "$shared/weights/mobilenet_v2_imagenet" ]; then
  export CASCADE_PRETRAINED="$shared/weights/mobilenet_v2_imagenet"
fi
pose=${CASCADE_POSE:-}
if [ -z "$pose" ]; then
  pose=yolo11n-pose.pt  # Ultralytics downloads it
  if [ -d "$shared/weights/yolov8n-pose_int8_openvino_model" ]; then pose="$shared/weights/yolov8n-pose_int8_openvino_model"; fi
fi
data=${DEMO_DATA:-runs/demo-clips}
run=${DEMO_RUN:-runs/demo}
if [ -f "$shared/clips/labels.csv" ]; then
  labels="$shared/clips/labels.csv"
else  # no ../shared: fetch the labelled clips (180 MB, once) into the cache folder; prints their labels CSV
  labels=$(cascade demo-data)
fi
# 12 frames per clip: detecting 127 clips x 12 frames takes about 90 s on 2 cores (48 took 6 minutes)
cascade sample-clips "$labels" "$data" --frames-per-clip "${DEMO_FRAMES:-12}" --overwrite
cascade tune-thresholds --data "$data/labels.csv" --run-dir "$run" --cv 5
# every actor's head on cached features, as benchmarks/action_cv.py's 'feat app+motion+pose' row (which beat
# its fine-tuned 'mnv2 crop' row); the features of every second frame of the 12, computed once, here
cascade features --data "$data/labels.csv" --run-dir "$run" --every 2 --pose-weights "$pose"
for actor in person ball bird car cat dog; do
  cascade train-head --actor "$actor" --data "$data/labels.csv" --run-dir "$run" --head features --every 2 \
    --pose-weights "$pose"
done
cascade predict "$data/BellamyCeleman_running.mp4" "$data/sam2_01_dog.mp4" "$data/dalgu90_car.mp4" \
  --run-dir "$run" --save "$run/pictures"
cascade evaluate --data "$data/labels.csv" --run-dir "$run"
