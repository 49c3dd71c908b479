#!/usr/bin/env bash
# The main job, end to end, on the real labelled clips of ../shared/clips:
# condense the clips -> detect + choose thresholds (the seed's, cross-validated by source beside every tuning method)
# -> train every actor's action head from ImageNet weights -> predict three clips with pictures
# -> evaluate on the held-out clips, beside the most-frequent-pair baseline.
# Uses $CASCADE_WEIGHTS when set, else the OpenVINO YOLO11n in ../shared/weights, else yolo11n.pt; and
# $CASCADE_PRETRAINED when set, else the ImageNet MobileNetV2 in ../shared/weights, else torchvision's.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${CASCADE_SHARED:-../shared}
if [ -z "${CASCADE_WEIGHTS:-}" ] && [ -d "$shared/weights/yolo11n_int8_openvino_model" ]; then
  export CASCADE_WEIGHTS="$shared/weights/yolo11n_int8_openvino_model"
fi
if [ -z "${CASCADE_PRETRAINED:-}" ] && [ -d "$shared/weights/mobilenet_v2_imagenet" ]; then
  export CASCADE_PRETRAINED="$shared/weights/mobilenet_v2_imagenet"
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
# every actor's head: MobileNetV2 from ImageNet on the actor's detected box, the settings of
# benchmarks/action_cv.py's 'mnv2 crop' row (its 'crop tsm' row did better but trains 3x longer)
for actor in person ball bird car cat dog; do
  cascade train-head --actor "$actor" --data "$data/labels.csv" --run-dir "$run" --backbone mobilenet_v2 --crop \
    --epochs "${DEMO_EPOCHS:-4}" --imgsz "${DEMO_IMGSZ:-112}" --batch 16 --lr 3e-3
done
cascade predict "$data/BellamyCeleman_running.mp4" "$data/sam2_01_dog.mp4" "$data/dalgu90_car.mp4" \
  --run-dir "$run" --save "$run/pictures"
cascade evaluate --data "$data/labels.csv" --run-dir "$run"
