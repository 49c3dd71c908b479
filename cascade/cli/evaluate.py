"""``cascade evaluate``: challenge P/R/F1 of the cascade, the actor stage and each head."""

from __future__ import annotations

import argparse

from cascade.cli.common import add_common, add_detect_options, add_split, emit

HELP = "score the cascade on labelled videos (challenge P/R/F1, actor-stage and per-head tables; CSVs in RUN/evaluate)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    add_split(parser, "test")
    parser.add_argument("--builtin-thresholds", action="store_true",
                        help="evaluate with the built-in thresholds instead of RUN/thresholds.json")
    add_detect_options(parser, conf=False)


def run(args: argparse.Namespace) -> None:
    from cascade.evaluation import evaluate

    report = evaluate(args.data, args.run_dir, args.split, args.builtin_thresholds, progress=not args.json,
                      weights=args.weights, imgsz=args.imgsz, device=args.device, batch=args.batch,
                      workers=args.workers)
    emit(args, report)
