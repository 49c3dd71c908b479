"""Detecting what the cache lacks: the entry points every command uses.

:func:`detect_videos` opens the run's cache, keeps the videos it does not hold yet and hands them to
a runner (:mod:`cascade.detect.local` on this machine, :mod:`cascade.detect.ray_runner` on a Ray
cluster with ``ray=``). With nothing left to detect it starts no
worker and loads no model, but still refuses options that do not match the cache.
:func:`detect_dataset` does the same for the labelled videos of a dataset's split. Both take one
:class:`~cascade.detect.options.DetectOptions`, built once (by the CLI from its flags) and passed as it
is, to Ray workers too. Stage 1 stops at the cache: scoring is :mod:`cascade.scores`' job.

Example::

    report = detect_videos({"clip": "clip.mp4"}, "runs", DetectOptions(weights="yolo11n.pt", stride=2))
    print(report.summary())
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from cascade import defaults
from cascade.detect.cache import DetectionCache
from cascade.detect.options import DetectOptions
from cascade.detect.report import DetectReport
from cascade.errors import CascadeError


def detect_videos(
    videos: Mapping[str, str | Path],
    run_dir: str | Path,
    options: DetectOptions = DetectOptions(),
    *,
    detector=None,
    frame_counts: Mapping[str, int] | None = None,
    commit_every: float = defaults.COMMIT_EVERY_S,
    progress: bool = True,
) -> DetectReport:
    """Detect every (``stride``-th) frame of the videos not yet in ``run_dir``'s cache, with ``options`` as
    the cache takes them (:meth:`~cascade.detect.cache.DetectionCache.resolve`: what was not given is what the
    cached rows were made with; a given stride or weights that contradict them are one error line).

    ``detector`` reuses a loaded :class:`~cascade.detect.detector.Detector` instead of loading
    ``options.weights``. ``frame_counts`` (video -> frames, e.g. from videoset.csv) only sizes the
    progress bar. The report's ``videos`` are the given videos now in the cache.
    """
    cache = DetectionCache(run_dir)
    chosen = cache.resolve(options)  # what was not given is the run's; a given stride or weights that differ: refused
    cached = cache.videos()
    todo = [(v, str(p)) for v, p in sorted(videos.items()) if v not in cached]
    if not todo:
        if detector:
            cache.check_settings(detector.describe())
        return DetectReport(str(cache.path), {**(cache.meta or {}), "stride": chosen.stride},
                            videos_cached=len(videos), videos=sorted(videos))
    if detector is None and options.weights is None and chosen.weights is not None:
        _recorded_weights_there(cache, chosen.weights)
    if chosen.ray:
        from cascade.detect.ray_runner import run_on_ray as run
    else:
        from cascade.detect.local import run_locally as run
    report = run(todo, cache, chosen, detector, frame_counts or {}, commit_every, progress)
    report.videos_cached = len(videos) - len(todo)
    report.videos = sorted(v for v in videos if v not in report.failed)
    return report


def _recorded_weights_there(cache: DetectionCache, weights: str) -> None:
    """Refuse, in one line that says what to do, to detect more of a run whose recorded weights are gone
    (other weights would be refused by the cache)."""
    from cascade.detect.detector import resolve_weights  # torch: only when there is something to detect

    try:
        resolve_weights(weights)
    except CascadeError:
        raise CascadeError(f"{cache.path}: detected with the weights {weights}, which are not there any more; put "
                           f"them back there, or use another --run-dir (or delete {cache.path}) to detect with "
                           "other weights") from None


def detect_dataset(data, run_dir: str | Path, split: str = "all", options: DetectOptions = DetectOptions(), *,
                   seed: int = defaults.SEED, detector=None, commit_every: float = defaults.COMMIT_EVERY_S,
                   progress: bool = True) -> DetectReport:
    """Detect what the cache lacks for the labelled videos of a split, as :func:`detect_videos` does.

    ``data`` is an A2D root, a labels CSV, or an opened :class:`~cascade.data.base.Dataset`;
    ``seed`` splits clip-level labels that come without a split.
    """
    from cascade.data import open_dataset

    dataset = open_dataset(data, seed, run_dir)
    counts = getattr(dataset, "videos", None)
    frame_counts = dict(zip(counts.video, counts.frames)) if counts is not None else None
    return detect_videos(dataset.video_paths(split), run_dir, options, detector=detector, frame_counts=frame_counts,
                         commit_every=commit_every, progress=progress)
