"""``cascade train-head --actor dog``: train one group's action head (a feature head by default)."""

from __future__ import annotations

import argparse

from cascade import defaults
from cascade.cli.common import (add_common, add_feature_options, add_temporal_options, emit, feature_settings,
                                flags_for, show_progress)

HELP = ("train one actor's action head on the labelled train frames: a small model on cached features (default, "
        "seconds) or a fine-tuned network (--head finetune: ResNet-34, resnet18, mobilenet_v2); writes RUN/heads/<group>.pt")


def configure(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument("--split", choices=("train", "all"), default="train",
                        help="the labelled videos it learns from: train, or all once the held-out ones have been "
                             "evaluated (default: %(default)s)")
    parser.add_argument("--actor", required=True,
                        help="adult, baby (both the person head), ball, bird, car, cat or dog")
    parser.add_argument("--epochs", type=int, default=defaults.EPOCHS, help="(default: %(default)s, the seed's)")
    parser.add_argument("--batch", type=int, default=defaults.BATCH, help="(default: %(default)s, the seed's)")
    parser.add_argument("--lr", type=float, default=defaults.LR, help="SGD learning rate (default: %(default)s)")
    parser.add_argument("--imgsz", type=int, default=defaults.HEAD_IMGSZ, help="input size (default: %(default)s)")
    parser.add_argument("--crop", action=argparse.BooleanOptionalAction, default=defaults.CROP,
                        help="feed the actor's padded box instead of the whole frame; with clip-level labels, the "
                             "group's most confident detected box in each frame, as predict takes it (default: whole frame)")
    add_temporal_options(parser, training=True)
    parser.add_argument("--backbone", choices=defaults.BACKBONE_CHOICES, default=defaults.BACKBONE,
                        help="the torchvision network of the head (default: %(default)s, the seed's)")
    parser.add_argument("--pretrained", default=None, metavar="imagenet|none|FILE",
                        help=f"first weights: imagenet (the state dict ${defaults.PRETRAINED_ENV} names for the backbone, "
                             "else torchvision's download, else random with a warning), none (random), or a torchvision "
                             f"state dict file of the backbone (default: {defaults.PRETRAINED}; --head features: the "
                             f"run's features', else {defaults.PRETRAINED})")
    parser.add_argument("--freeze-bn", action=argparse.BooleanOptionalAction, default=defaults.FREEZE_BN,
                        help="keep batch norm's pretrained statistics while fine-tuning (default: update them, the seed's)")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=defaults.AMP,
                        help="on CUDA, bf16 autocast and channels-last memory (default: on; off = the seed's fp32)")
    parser.add_argument("--head", choices=defaults.HEAD_CHOICES, default=defaults.HEAD,
                        help="features: a small model on the run's features cache, computed where it lacks them (seconds "
                             "to train); finetune: a whole network on decoded frames, the seed's (default: %(default)s, "
                             "measured in benchmarks/action_cv.py)")
    parser.add_argument("--features", type=lambda text: tuple(text.split(",")), default=None,
                        metavar="KINDS", help="--head features: what it reads, of " + ",".join(defaults.FEATURE_KIND_CHOICES)
                        + " (pose: the person head only; video, video-tube, video-frame, kinetics: with "
                        "--feature-backbone i3d) (default: " + ",".join(defaults.VIDEO_FEATURE_KINDS) + " on I3D "
                        "features, " + ",".join(defaults.FEATURE_KINDS) + " on an image backbone's)")
    parser.add_argument("--feature-model", choices=defaults.FEATURE_MODEL_CHOICES, default=defaults.FEATURE_MODEL,
                        help="--head features: linear (logistic regression, its L2 chosen by an inner cross-validation "
                             "by source) or mlp (one hidden layer) (default: %(default)s)")
    parser.add_argument("--window", type=int, default=defaults.FEATURE_WINDOW,
                        help="--head features: sampled frames it sees around each frame (default: %(default)s)")
    add_feature_options(parser)
    parser.add_argument("--val-fraction", type=float, default=defaults.VAL_FRACTION,
                        help="share of train videos held out to pick the best epoch (default: %(default)s)")


def run(args: argparse.Namespace) -> None:
    from cascade.heads.training import train_head

    emit(args, train_head(**flags_for(args, train_head), feature_settings=feature_settings(args),
                          progress=show_progress()))
