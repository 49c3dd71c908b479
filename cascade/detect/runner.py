"""Detecting what the cache lacks: the entry points every command uses.

:func:`detect_videos` opens the run's cache, keeps the videos it does not hold yet and hands them to
a runner (:mod:`cascade.detect.local` on this machine, :mod:`cascade.detect.ray_runner` on a Ray
cluster with ``ray=``). With nothing left to detect it starts no
worker and loads no model, but still refuses options that do not match the cache.
:func:`detect_dataset` does the same for the labelled videos of a dataset's split, and reports the
mean actor score of those videos.

Example::

    report = detect_videos({"clip": "clip.mp4"}, "runs", weights="yolo11n.pt", stride=2)
    print(report.summary())
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from cascade import defaults
from cascade.detect.cache import DetectionCache, load_detections
from cascade.detect.options import DetectOptions
from cascade.detect.report import DetectReport


def detect_videos(
    videos: Mapping[str, str | Path],
    run_dir: str | Path,
    *,
    detector=None,
    frame_counts: Mapping[str, int] | None = None,
    commit_every: float = defaults.COMMIT_EVERY_S,
    progress: bool = True,
    **options,
) -> DetectReport:
    """Detect every (``stride``-th) frame of the videos not yet in ``run_dir``'s cache.

    ``options`` are :class:`~cascade.detect.options.DetectOptions` names (weights, imgsz, stride,
    batch, chunk, prefetch, workers, device, ray, ray_cpus_per_worker, ray_gpus_per_worker). ``detector`` reuses a loaded
    :class:`~cascade.models.detector.Detector` instead of loading ``weights``. ``frame_counts``
    (video -> frames, e.g. from videoset.csv) only sizes the progress bar.
    """
    chosen = DetectOptions(**options)
    cache = DetectionCache(run_dir)
    cache.merge_shards()
    cached = cache.videos()
    todo = [(v, str(p)) for v, p in sorted(videos.items()) if v not in cached]
    if not todo:
        from cascade.models.detector import resolve_weights  # no torch import unless asked for weights

        asked = {"stride": chosen.stride, **({"model": resolve_weights(chosen.weights)} if chosen.weights else {})}
        cache.check_settings({**(detector.describe() if detector else {}), **asked})
        return DetectReport(str(cache.path), {**(cache.meta or {}), **asked}, videos_cached=len(videos))
    if chosen.ray:
        from cascade.detect.ray_runner import run_on_ray as run
    else:
        from cascade.detect.local import run_locally as run
    report = run(todo, cache, chosen, detector, frame_counts or {}, commit_every, progress)
    report.videos_cached = len(videos) - len(todo)
    return report


def detect_dataset(data, run_dir: str | Path, split: str = "all", conf: float = defaults.DETECT_CONF,
                   seed: int = defaults.SEED, progress: bool = True, **options) -> DetectReport:
    """Detect what the cache lacks for the labelled videos of a split; report their mean actor scores.

    ``data`` is an A2D root, a labels CSV, or an opened :class:`~cascade.data.release.Dataset`;
    ``seed`` splits clip-level labels that come without a split.
    """
    from cascade.data import open_dataset
    from cascade.scores import group_scores

    dataset = open_dataset(data, seed, run_dir)
    paths = dataset.video_paths(split)
    counts = getattr(dataset, "videos", None)
    frame_counts = dict(zip(counts.video, counts.frames)) if counts is not None else None
    report = detect_videos(paths, run_dir, frame_counts=frame_counts, progress=progress, **options)
    detected = [v for v in paths if v not in report.failed]
    if detected:
        scores = group_scores(load_detections(run_dir, detected), conf)
        report.mean_scores, report.scores_conf = scores.mean().round(3).to_dict(), conf
    return report
