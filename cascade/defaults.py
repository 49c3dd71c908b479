"""Every default in one place: the settings of the design this follows (the "seed" paper).

The CLI flags and the library's keyword arguments carry these names, so a value changed here
changes both. Where the seed fixed a value, the comment says so; where we chose, it says why.
"""

from __future__ import annotations

from cascade.labels import GROUP_NAMES

# Detection (stage 1)
DETECTOR_WEIGHTS = "yolo11n.pt"  # Ultralytics' standard COCO model; downloaded by Ultralytics
WEIGHTS_ENV = "CASCADE_WEIGHTS"  # environment variable naming weights when --weights is absent
IMGSZ = 320  # A2D clips are 320 px high
DETECT_CONF = 0.5  # seed: a detection counts at confidence >= 0.5
KEEP_CONF = 0.05  # boxes kept in the cache, so --conf can be re-chosen without re-detecting
NMS_IOU = 0.7  # Ultralytics' predict default
MAX_DET = 300  # Ultralytics' predict default
STRIDE = 1  # seed: every frame
DETECT_BATCH = {"cuda": 256, "cpu": 4}  # frames per forward pass, by device type (--batch)
DECODE_CHUNK = 64  # frames a decoding worker hands over at once, at most one batch (--chunk)
PREFETCH = 4  # chunks each decoding worker keeps ready (--prefetch)
COMMIT_EVERY_S = 30.0  # how often detect commits finished videos to the cache

# Thresholds (stage 2)
DEFAULT_THRESHOLDS = {"person": 0.1, "ball": 0.107, "bird": 0.1, "car": 0.1, "cat": 0.161, "dog": 0.267}
assert tuple(DEFAULT_THRESHOLDS) == GROUP_NAMES
CONSTANT_THRESHOLD = 0.15  # the seed's constant baseline
PSO_PARTICLES = 40
PSO_ITERS = 10
PSO_RESTARTS = 4
PSO_BOUNDS = (0.1, 0.4)  # seed
# The seed's published thresholds: cross-validated by source on 126 real clips (benchmarks/actor_cv.py),
# no tuning method beat them (margin, chosen by a by-video CV on 52 clips, lost 5 points of F1)
THRESHOLD_METHOD = "builtin"
MARGIN_BOUNDS = (0.01, 0.95)  # car and person need thresholds near 0.8, bird flocks near 0.02
SHRINK_BOUNDS = (0.05, 0.95)  # below 0.05 a group is present on one frame in twenty
SHRINK_FOLDS = 5  # inner folds by source that must back each move away from the seed's thresholds
SHRINK_MIN_GAIN = 0.05  # ... and the group's held-out F1 gain they must show together
MARGIN_RULES = ("cat-dog",)  # a kitten is often also seen as a dog: keep the higher of the two
CV_FOLDS = 5  # --cv: folds of videos when asked for without a number
PSO_OPTIONS = {"c1": 0.5, "c2": 0.3, "w": 0.9}  # pyswarms' documented example settings
GRID_STEP = 0.01  # per-group grid search resolution over the same bounds
FITNESS = "prf1"

# Action heads (stage 3)
BACKBONE = "resnet34"  # seed: ResNet-34
PRETRAINED = "imagenet"  # torchvision's ImageNet weights, or the state dict $CASCADE_PRETRAINED names
PRETRAINED_ENV = "CASCADE_PRETRAINED"  # a folder (or file) of torchvision state dicts named <backbone>*.pt
FREEZE_BN = False  # seed: batch norm statistics update while fine-tuning
EPOCHS = 15
BATCH = 4
LR = 1e-3
MOMENTUM = 0.9
STEP_EPOCHS = 7
GAMMA = 0.1
HEAD_IMGSZ = 224
AMP = True  # on CUDA: bf16 autocast and channels-last (off: the seed's fp32 steps)
CROP = False  # seed: heads see the whole frame
VAL_FRACTION = 0.1  # share of train videos held out to pick the best epoch
TEST_FRACTION = 0.3  # clip-level labels without a split column: share of clips (per stratum) made test
CLIP_FRAMES = 8  # clip-level labels: frames spread over each clip that carry its labels
CROP_PAD = 0.1  # --crop: pad the actor's box by this share of its size on each side
HEAD_FRAMES = 5  # frames per video a head looks at in predict when --frames is not given
TEMPORAL = "none"  # single-frame heads, the seed's, until real labelled data shows that TSM heads do better
CLIP_LEN = 8  # --temporal tsm: frames per clip, the TSM paper's 8 segments
CLIP_STRIDE = 2  # --temporal tsm: frames between clip frames: 8 frames span 15 of A2D's ~25 fps, over half a second
# --head: a small model on cached features (features) or a whole network fine-tuned on decoded frames
# (finetune, the seed's). Features: 33.6 F1 against 33.8 for the best fine-tuned row (crop + TSM) and 28.6
# for the crop head, 3 folds by source of one run, at 33x less training time (benchmarks/action_cv.py)
HEAD = "features"
HEAD_CHOICES = ("finetune", "features")

# Features cache (cascade features; heads with --head features)
FEATURE_EVERY = 8  # every 8th detected frame: 6 of a condensed 48-frame clip. Measured with benchmarks/action_cv.py
# --every 2/4/8 (RESULTS.md, 2026-12-02): F1 within fold noise of every 2 and 4 at 1/4 and 1/2 of their features cost
FEATURE_BACKBONE = "mobilenet_v2"  # the lightest backbone with ImageNet weights here; 1280-d pooled embedding
FEATURE_IMGSZ = 128  # the square each frame and box is resized to before an image backbone
VIDEO_IMGSZ = 160  # the square of each window's frames before I3D
# I3D: consecutive frames per window, about 2.6 s at VIDEO_FPS. benchmarks/action_cv.py (same folds, 3 fold seeds):
# 32 frames beat 16 in every comparison made: tube + linear 38.3 against 37.4, + kinetics 38.5 against 35.0,
# frame + tube 38.9 against 36.8 (most frequent pair 28.5); 8 frames 36.1. Outside the pipeline (one clip-level
# vector, true actors given, 3 fold seeds) 32 frames led 16 by 4.5 on the original clips and on the condensed ones
VIDEO_FRAMES = 32
VIDEO_FPS = 12.5  # I3D: frames per second of a window (every 2nd frame of a 25 fps video), half Kinetics' 25
POSE_WEIGHTS = "yolo11n-pose.pt"  # Ultralytics' smallest pose model (COCO keypoints); Ultralytics downloads it
POSE_MIN_IOU = 0.3  # a pose detection gives its keypoints to the person box it overlaps at least this much
LINK_MIN_IOU = 0.3  # boxes of one class in consecutive sampled frames are one actor from this overlap
#: What a feature head may read: appearance (an image backbone's box and frame embeddings), video (I3D's tube
#: and frame window; video-tube, video-frame: one of them), kinetics (the frame window's 400 Kinetics
#: log-probabilities), motion (box geometry and motion), pose (person keypoints; the person head only)
FEATURE_KIND_CHOICES = ("appearance", "video", "video-tube", "video-frame", "kinetics", "motion", "pose")
VIDEO_KINDS = ("video", "video-tube", "video-frame", "kinetics")  # kinds only I3D features give
FEATURE_KINDS = ("appearance", "motion", "pose")  # the default on an image backbone's features
# The default on I3D's: the actor's tube alone. benchmarks/action_cv.py (127 clips, 3 folds by source x 3 fold
# seeds, 2026-12-05): at 16 frames tube + linear 37.4, the frame window 34.8, frame + tube 36.8, + kinetics 35.0,
# + motion + pose 35.3; at 32 frames tube 38.3, frame + tube 38.9, + kinetics 38.5; the old default (MobileNetV2
# appearance + motion + pose, MLP) 37.1 and the most frequent pair 28.5. Every row lies within one standard
# error (about 2.5) of the best, so the simplest input wins (at 32 frames also the steadiest: seeds 37.9-39.0)
VIDEO_FEATURE_KINDS = ("video-tube",)
FEATURE_WINDOW = 5  # sampled frames a feature head sees around each key frame
# --feature-model: linear (logistic regression) or mlp (one hidden layer). action_cv, same folds: linear 36.9 and
# MLP 37.1 on MobileNetV2, linear ahead on I3D's tube (37.4 / 36.4) and frame + tube (36.8 / 36.0): the simpler
FEATURE_MODEL = "linear"
FEATURE_MODEL_CHOICES = ("linear", "mlp")
FEATURE_EPOCHS = 150  # full-batch Adam steps of an MLP feature head: seconds on 2 cores
FEATURE_HIDDEN = 32  # the MLP's hidden layer: few hundred samples per head; 32 trains 2x faster than 64
FEATURE_LR = 3e-3
FEATURE_WEIGHT_DECAY = 1e-2
#: L2 strengths a linear feature head chooses among by an inner cross-validation by source (the penalty
#: times the squared weights, added to the mean cross-entropy of standardised inputs)
FEATURE_L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
FEATURE_INNER_FOLDS = 3  # inner folds by source: the linear head's L2 and every feature head's pair cut

# Instances over time (cascade predict's instances; cascade.instances)
# --track-method: how cached boxes are linked into actor instances. On 24 hand-labelled clips (benchmarks/tracking.py,
# 79 actors, 1,098 boxes) BoT-SORT (no camera-motion compensation on boxes alone) made 22-24 identity switches and
# 1.23-1.27 tracks per actor, ByteTrack 25-26 and 1.27-1.28, IoU with motion 61-98 and 1.8-2.4
TRACK_METHOD = "botsort"
TRACK_METHOD_CHOICES = ("iou", "bytetrack", "botsort")
TRACK_MAX_GAP = 2  # detected frames a track may miss and go on (a detector's blink)
TRACK_MIN_FRAMES = 3  # detected frames a track needs to be an instance (a flicker is not an actor)
# --smooth: an instance's actions over its key frames (cascade.instances.timeline). On the 24 hand-labelled clips
# (benchmarks/tracking.py, heads from other sources) every smoothing named the same share of instance boxes
# (F1 28.6-29.5, the top-pair baseline 28.7), while Viterbi cut an instance into 1.03-1.07 segments, median 1.29
# and none 1.35, where the labelled actors change action into 2.1 runs: smoothing hides real changes, so none
SMOOTH = "none"
SMOOTH_CHOICES = ("none", "median", "viterbi")
SMOOTH_WINDOW = 3  # --smooth median: key frames per median
SWITCH_COST = 2.0  # --smooth viterbi: log-probability a change of action must win by
# The video's labels from its whole-video head (True: from its instances' segments). benchmarks/action_cv.py
# --instances (i3d tube linear, 3 folds x 3 fold seeds): 37.4 from the head, 35.1 from the instances
LABELS_FROM_INSTANCES = False
INSTANCE_MIN_SECONDS = 1.0  # labels from instances: a pair some instance holds this long in one segment
INSTANCE_MATCH_IOU = 0.5  # evaluate's instance score: a labelled box and a track's box are one actor from this

# Demo data (cascade demo-data)
DATA_ENV = "CASCADE_DATA"  # folder for what cascade downloads; else the platform's cache (pooch.os_cache)
DEMO_FOLDER = "demo-clips"  # the demo clips' folder inside it
DEMO_URL_ENV = "CASCADE_DEMO_URL"  # a mirror's base URL, in place of each manifest URL's scheme and host
DEMO_RETRIES = 3  # tries after the first, per clip: pooch waits 1 s, 2 s, 3 s between them
DOWNLOAD_TIMEOUT_S = 30  # seconds without a byte before a download counts as failed (pooch's default)

SEED = 0
RUN_DIR = "runs"
DEVICE = "auto"  # the first CUDA GPU when there is one, else the CPU
THRESHOLDS = "auto"  # the run's thresholds.json, else the built-in defaults (see THRESHOLD_SOURCES)

# Choices: the library validates against these and the CLI offers them.
SPLIT_CHOICES = ("train", "test", "all")
FITNESS_CHOICES = ("prf1", "p", "f1")  # maximise P*R*F1 (the seed's), P or F1
METHOD_CHOICES = ("builtin", "shrink", "margin", "pso", "grid", "constant")  # see cascade.thresholds.methods
BACKBONE_CHOICES = ("resnet34", "resnet18", "mobilenet_v2")  # torchvision models (cascade.backbones.torchvision_nets)
FEATURE_BACKBONE_CHOICES = BACKBONE_CHOICES + ("i3d",)  # i3d: DeepMind's Kinetics-400 video network
TEMPORAL_CHOICES = ("none", "tsm")  # a single frame; ResNet-34 with temporal shift modules over a clip
#: Where a cascade's thresholds come from: ``auto`` the run's file, else the built-in defaults;
#: ``file`` the run's file, which must exist; ``builtin`` the built-in defaults, whatever the run holds.
THRESHOLD_SOURCES = ("auto", "file", "builtin")
