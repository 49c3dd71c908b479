"""``cascade train-head --actor dog``: train one group's ResNet-34 action head."""

from __future__ import annotations

import argparse

from cascade import defaults
from cascade.cli.common import add_common, add_temporal_options, emit, flags_for, show_progress

HELP = "train one actor's ResNet-34 action head on the annotated train frames; writes RUN/heads/<group>.pt"


def configure(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument("--actor", required=True,
                        help="adult, baby (both the person head), ball, bird, car, cat or dog")
    parser.add_argument("--epochs", type=int, default=defaults.EPOCHS, help="(default: %(default)s, the seed's)")
    parser.add_argument("--batch", type=int, default=defaults.BATCH, help="(default: %(default)s, the seed's)")
    parser.add_argument("--lr", type=float, default=defaults.LR, help="SGD learning rate (default: %(default)s)")
    parser.add_argument("--imgsz", type=int, default=defaults.HEAD_IMGSZ, help="input size (default: %(default)s)")
    parser.add_argument("--crop", action=argparse.BooleanOptionalAction, default=defaults.CROP,
                        help="feed the actor's padded box instead of the whole frame (default: whole frame)")
    add_temporal_options(parser, training=True)
    parser.add_argument("--pretrained", choices=defaults.PRETRAINED_CHOICES, default=defaults.PRETRAINED,
                        help="initial weights (default: %(default)s; falls back to random with a warning)")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=defaults.AMP,
                        help="on CUDA, bf16 autocast and channels-last memory (default: on; off = the seed's fp32)")
    parser.add_argument("--val-fraction", type=float, default=defaults.VAL_FRACTION,
                        help="share of train videos held out to pick the best epoch (default: %(default)s)")


def run(args: argparse.Namespace) -> None:
    from cascade.heads.training import train_head

    emit(args, train_head(**flags_for(args, train_head), progress=show_progress()))
