"""Flags every subcommand shares, the one way flags reach the library, and the one way results print.

A flag is named as the library's keyword argument it feeds (``--head-frames`` -> ``head_frames``)
and reaches it through :func:`flags_for`, which picks the parsed flags by the parameter names of a
function or a settings class; the detector's flags become one
:class:`~cascade.detect.options.DetectOptions` through :func:`detect_options`. :func:`unread_flags`
lists any flag that no call read: the entry point treats that as a bug, so a flag can never be
silently ignored (as ``--stride`` once was by ``predict``). A flag that decides what a run's cache holds
(``--stride``, ``--weights``, ``--imgsz``; ``--every``, ``--pretrained`` and the other features' flags)
defaults to None, "the run's": the library takes it from what the run's cache records, else the default,
and refuses a given one that contradicts the cache.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, TextIO

from cascade import defaults
from cascade.detect.options import DetectOptions

if TYPE_CHECKING:
    from cascade.pipeline import CascadeSettings

#: Parsed names that belong to the command line itself, not to the library.
CLI_ONLY = frozenset({"command", "run", "json", "_read"})


def flags_for(args: argparse.Namespace, function: Callable) -> dict[str, Any]:
    """The parsed flags named like ``function``'s parameters (or a settings class's fields), ready to
    pass by keyword; each is marked as read."""
    parameters = inspect.signature(function).parameters
    names = [name for name in parameters if name in vars(args) and name not in CLI_ONLY]
    vars(args).setdefault("_read", set()).update(names)
    return {name: getattr(args, name) for name in names}


def detect_options(args: argparse.Namespace) -> DetectOptions:
    """The detector's flags as the one object the library passes on (:func:`add_detect_options`)."""
    return DetectOptions(**flags_for(args, DetectOptions))


def cascade_settings(args: argparse.Namespace) -> "CascadeSettings":
    """The flags of ``predict`` and ``evaluate`` as one :class:`~cascade.pipeline.CascadeSettings`."""
    from cascade.pipeline import CascadeSettings  # the heads' modules load torch: only when a command runs

    from cascade.instances.actions import InstanceSettings
    from cascade.instances.tracking import TrackSettings

    tracks = TrackSettings(method=cli_flag(args, "track_method"))
    instances = InstanceSettings(tracks=tracks, **flags_for(args, InstanceSettings))
    return CascadeSettings(**flags_for(args, CascadeSettings), detect=detect_options(args), instances=instances)


def add_instance_options(parser: argparse.ArgumentParser) -> None:
    """How actor instances are followed and their actions named over time (``predict``, ``evaluate``)."""
    group = parser.add_argument_group("instances")
    group.add_argument("--track-method", choices=defaults.TRACK_METHOD_CHOICES, default=defaults.TRACK_METHOD,
                       help="how each actor's boxes are linked into instances (default: %(default)s, measured in "
                            "benchmarks/tracking.py)")
    group.add_argument("--smooth", choices=defaults.SMOOTH_CHOICES, default=defaults.SMOOTH,
                       help="smoothing of an instance's actions over its sampled frames: none, a median, or viterbi "
                            "(a change of action must win by --switch-cost) (default: %(default)s)")
    group.add_argument("--switch-cost", type=float, default=defaults.SWITCH_COST,
                       help="--smooth viterbi: log-probability a change of action must win by (default: %(default)s)")
    group.add_argument("--labels-from-instances", action=argparse.BooleanOptionalAction,
                       default=defaults.LABELS_FROM_INSTANCES,
                       help="report a pair when some instance holds it for --instance-min-seconds, instead of the "
                            "head's answer over the whole video (default: %(default)s)")
    group.add_argument("--instance-min-seconds", dest="min_seconds", type=float, default=defaults.INSTANCE_MIN_SECONDS,
                       help="--labels-from-instances: how long (default: %(default)s)")


def cli_flag(args: argparse.Namespace, name: str) -> Any:
    """A flag the command line uses itself (where to write results, say), marked as read."""
    vars(args).setdefault("_read", set()).add(name)
    return getattr(args, name)


def unread_flags(args: argparse.Namespace) -> set[str]:
    """Flags that no library call read (a bug in the command's wiring)."""
    return set(vars(args)) - CLI_ONLY - vars(args).get("_read", set())


def add_common(parser: argparse.ArgumentParser, data: bool = True) -> None:
    """--data, --run-dir, --device, --json, and --seed with --data (it seeds training, tuning and the split
    of clip-level labels that have none)."""
    if data:
        parser.add_argument(
            "--data", type=Path, required=True,
            help="A2D release root (folder with videoset.csv) or a labels CSV (video, [frame,] labels)",
        )
    parser.add_argument("--run-dir", type=Path, default=Path(defaults.RUN_DIR),
                        help="where caches, thresholds and heads live (default: %(default)s)")
    parser.add_argument("--device", default=defaults.DEVICE, help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    if data:
        parser.add_argument("--seed", type=int, default=defaults.SEED,
                            help="random seed; also splits clip-level labels that have no split column "
                                 "(recorded in RUN/split.json) (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout instead of text")


def add_split(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--split", choices=defaults.SPLIT_CHOICES, default=default, help="which videos to use (default: %(default)s)")


def add_thresholds(parser: argparse.ArgumentParser, default: str) -> None:
    """--thresholds: which thresholds a command applies (``evaluate`` defaults to the run's file, so that
    built-in thresholds are never evaluated by accident; ``predict`` falls back to them)."""
    parser.add_argument("--thresholds", choices=defaults.THRESHOLD_SOURCES, default=default,
                        help="the run's thresholds.json, else the built-in ones (auto); the file only, which must "
                             "exist (file); the built-in ones (builtin) (default: %(default)s)")


def add_pair_cut(parser: argparse.ArgumentParser) -> None:
    """--pair-cut: report more than the most probable pair of an actor (cascade.heads.pairs)."""
    parser.add_argument("--pair-cut", type=float, default=None, metavar="P",
                        help="also report every other pair of an actor whose head gives it probability P or more "
                             "(default: the cut each feature head chose on its training clips by an inner "
                             "cross-validation, else only the most probable pair, the seed's)")


def add_temporal_options(parser: argparse.ArgumentParser, training: bool) -> None:
    """--temporal, --clip-len, --clip-stride: what a head is trained on (``training``), or what every head
    of the run must have been trained on (predict, evaluate: each head as trained when left out)."""
    if training:
        parser.add_argument("--temporal", choices=defaults.TEMPORAL_CHOICES, default=defaults.TEMPORAL,
                            help="none: one frame per sample; tsm: the backbone with temporal shift modules over a clip "
                                 "of frames around each annotated frame (default: %(default)s)")
        parser.add_argument("--clip-len", type=int, default=defaults.CLIP_LEN,
                            help="frames per clip with --temporal tsm (default: %(default)s)")
        parser.add_argument("--clip-stride", type=int, default=defaults.CLIP_STRIDE,
                            help="frames from one clip frame to the next with --temporal tsm (default: %(default)s)")
        return
    as_trained = "(default: each head as it was trained)"
    parser.add_argument("--temporal", choices=defaults.TEMPORAL_CHOICES, default=None,
                        help=f"refuse any head not trained with this --temporal {as_trained}")
    parser.add_argument("--clip-len", type=int, default=None,
                        help=f"refuse any head not trained on clips of this many frames {as_trained}")
    parser.add_argument("--clip-stride", type=int, default=None,
                        help=f"refuse any head not trained with this --clip-stride {as_trained}")


def add_detect_options(parser: argparse.ArgumentParser, conf: bool = True) -> None:
    """The detector's flags (:class:`~cascade.detect.options.DetectOptions`), for every command that
    may have to detect first. ``--conf`` is left out where the confidence is the one stored with the
    tuned thresholds. ``--device`` comes from :func:`add_common`."""
    group = parser.add_argument_group("detection")
    group.add_argument("--weights", default=None,
                       help=f"YOLO weights (.pt, .yaml or exported folder) (default: the run's, else "
                            f"${defaults.WEIGHTS_ENV}, else {defaults.DETECTOR_WEIGHTS}, downloaded by Ultralytics)")
    group.add_argument("--imgsz", type=int, default=None,
                       help=f"detector input size (default: the run's, else {defaults.IMGSZ}; exports with a fixed "
                            "size use theirs)")
    group.add_argument("--stride", type=int, default=None,
                       help=f"detect every N-th frame (default: the run's, else {defaults.STRIDE}, every frame)")
    batches = ", ".join(f"{n} on {d.upper() if d == 'cpu' else 'GPU'}" for d, n in defaults.DETECT_BATCH.items())
    group.add_argument("--batch", type=int, default=None, help=f"frames per forward pass (default: {batches})")
    group.add_argument("--chunk", type=int, default=defaults.DECODE_CHUNK,
                       help="frames a decoding worker hands over at once, at most one batch (default: %(default)s)")
    group.add_argument("--prefetch", type=int, default=defaults.PREFETCH,
                       help="chunks each decoding worker keeps ready (default: %(default)s)")
    group.add_argument("--workers", type=int, default=None,
                       help="decoding processes, 0 to decode in this process (default: on a GPU cores - 1, or "
                            "cores - 2 above 4 cores, at most one per video; on the CPU 0, as the detector's "
                            "threads use every core)")
    group.add_argument("--ray", default=None, metavar="ADDRESS",
                       help="detect on Ray: local (start Ray here), auto (join this machine's cluster) or "
                            "ray://host:port; needs pip install 'cascade[ray]' (default: this process)")
    group.add_argument("--ray-cpus-per-worker", type=float, default=None, metavar="N",
                       help="CPUs per Ray worker (one detector each) (default: 1)")
    group.add_argument("--ray-gpus-per-worker", type=float, default=None, metavar="N",
                       help="GPUs per Ray worker (default: 1 where the cluster has GPUs, else 0)")
    if conf:
        group.add_argument("--conf", type=float, default=defaults.DETECT_CONF,
                           help="detection confidence that counts towards a score (default: %(default)s)")


_RESULTS: list = []  # the real stdout while a command runs (see reserve_stdout)


class _ToStderr(io.TextIOBase):
    """A stream that writes to whatever ``sys.stderr`` is when it writes: a handler bound to it (as
    Ultralytics binds one when first imported) never holds a stream that is later replaced or closed."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@contextlib.contextmanager
def reserve_stdout() -> Iterator[TextIO]:
    """Keep stdout for results while a command runs: anything else that prints to stdout (Ultralytics'
    "Loading ..." lines, a library's print) goes to stderr. Results are written to the stream this
    yields, also available as :func:`results_stream`."""
    import logging

    results, to_stderr = sys.stdout, _ToStderr()
    moved = [h for h in logging.getLogger("ultralytics").handlers if getattr(h, "stream", None) is results]
    for handler in moved:  # Ultralytics bound its handler to stdout when it was imported
        handler.setStream(to_stderr)
    sys.stdout = to_stderr  # handlers and prints created from now on write to stderr
    _RESULTS.append(results)
    try:
        yield results
    finally:
        _RESULTS.pop()
        sys.stdout = results
        for handler in moved:
            handler.setStream(results)


def results_stream() -> TextIO:
    """Where results go: the real stdout (inside :func:`reserve_stdout`), else the current one."""
    return _RESULTS[-1] if _RESULTS else sys.stdout


def show_progress() -> bool:
    """Progress bars (on stderr) when a person watches stderr, not in logs and pipes."""
    return sys.stderr.isatty()


def emit(args: argparse.Namespace, result: Any) -> None:
    """Print a result object: its ``summary()`` as text, or its ``to_json()`` with --json."""
    stream = results_stream()
    if args.json:
        json.dump(result.to_json(), stream, indent=2)
        stream.write("\n")
    else:
        stream.write(result.summary() + "\n")


def add_feature_options(parser: argparse.ArgumentParser) -> None:
    """How the features cache is made (:class:`~cascade.features.settings.FeatureSettings`): ``features``
    and ``train-head --head features``. Each defaults to None, the run's: what its features cache records,
    else the default (``--conf`` too: the features' confidence, so ``features`` adds the detector's flags
    without theirs)."""
    group = parser.add_argument_group("features")
    run = "the run's features', else"
    group.add_argument("--every", type=int, default=None,
                       help=f"features of every N-th detected frame (default: {run} {defaults.FEATURE_EVERY})")
    group.add_argument("--feature-backbone", choices=defaults.FEATURE_BACKBONE_CHOICES, default=None,
                       help="the network whose pooled embedding describes frames and boxes; i3d: DeepMind's "
                            "Kinetics-400 video network over a window of frames around each sampled frame, the "
                            f"whole frame and each actor's tube (default: {run} {defaults.FEATURE_BACKBONE})")
    group.add_argument("--feature-imgsz", type=int, default=None,
                       help=f"square size frames and boxes are resized to for it (default: {run} "
                            f"{defaults.FEATURE_IMGSZ}, i3d {defaults.VIDEO_IMGSZ})")
    group.add_argument("--video-frames", type=int, default=None,
                       help=f"i3d: consecutive frames per window (default: {run} {defaults.VIDEO_FRAMES})")
    group.add_argument("--video-fps", type=float, default=None,
                       help="i3d: frames per second of a window: every round(video fps / this)-th frame "
                            f"(default: {run} {defaults.VIDEO_FPS})")
    group.add_argument("--pose-weights", default=None,
                       help="Ultralytics pose model for person keypoints (.pt or exported folder) "
                            f"(default: {run} {defaults.POSE_WEIGHTS}, which Ultralytics downloads)")
    group.add_argument("--conf", type=float, default=None,
                       help=f"boxes from this detection confidence get features (default: {run} {defaults.DETECT_CONF})")
    if "--pretrained" not in parser._option_string_actions:
        group.add_argument("--pretrained", default=None, metavar="imagenet|kinetics|FILE",
                           help=f"the backbone's weights: imagenet or kinetics, its published weights (the file "
                                f"${defaults.PRETRAINED_ENV} names or holds, else torchvision's download; i3d: else "
                                "fetched once into cascade's data folder), or a file: a torchvision state dict; "
                                f"i3d: an .npz of its arrays or DeepMind's i3d-kinetics-400.ckpt (default: {run} "
                                f"{defaults.PRETRAINED})")


def feature_settings(args: argparse.Namespace):
    """The features' flags as one :class:`~cascade.features.settings.FeatureSettings`."""
    from cascade.features.settings import FeatureSettings

    return FeatureSettings(**flags_for(args, FeatureSettings))
