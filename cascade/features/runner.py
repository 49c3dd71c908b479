"""Computing what the features cache lacks: the entry points every command uses.

:func:`compute_features` keeps the videos the cache does not hold yet and hands them to a runner:
:func:`cascade.features.local.compute_locally` in this process (decoding, embedding, keypoints, motion,
commits every ``commit_every`` seconds), or with ``ray=`` the Ray workers of
:mod:`cascade.features.ray_runner`, which run that same function on their shards. With nothing to
compute it loads no pose model, but still refuses settings that do not match the cache.
:func:`features_dataset` does the same for a dataset's labelled videos, detecting first what the
detections cache lacks (on Ray too with ``--ray``).

Example::

    report = features_dataset("labels.csv", "runs", "all", FeatureSettings(every=4))
    print(report.summary())
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import pandas as pd

from cascade import defaults
from cascade.detect.options import DetectOptions
from cascade.features.cache import FeatureCache
from cascade.features.local import FeatureReport, close_run, compute_locally, open_run
from cascade.features.settings import FeatureSettings
from cascade.ray_pool import RayOptions


def compute_features(videos: Mapping[str, str | Path], run_dir: str | Path, settings: FeatureSettings = FeatureSettings(),
                     detections: pd.DataFrame | None = None, *, commit_every: float = defaults.COMMIT_EVERY_S,
                     ray: RayOptions | None = None, progress: bool = True) -> FeatureReport:
    """Features of the ``videos`` (name -> path) that ``run_dir``'s cache lacks, from their cached
    detections (``detections``: already loaded ones, else the run's cache); with ``ray``, on Ray workers
    (:mod:`cascade.features.ray_runner`), which read the detections from the run's cache. A setting left at
    None is the run's (:meth:`~cascade.features.cache.FeatureCache.resolve`)."""
    settings = FeatureCache(run_dir).resolve(settings)
    if ray is None:
        return compute_locally(videos, run_dir, settings, detections, commit_every=commit_every, progress=progress)
    cache, _, described, todo, report = open_run(videos, run_dir, settings)
    if todo:
        from cascade.features.ray_runner import features_on_ray

        pool = features_on_ray([(v, str(videos[v])) for v in todo], str(Path(run_dir).resolve()), settings, described,
                               ray, progress)
        report.frames, report.seconds, report.failed = pool.frames, pool.seconds, pool.failed
        # counted from the cache: a killed worker's report is lost with it, not the videos it committed
        report.computed = len(set(todo) & cache.videos())
    return close_run(report, videos, cache)


def features_dataset(data, run_dir: str | Path, split: str = "all", settings: FeatureSettings = FeatureSettings(),
                     detect: DetectOptions = DetectOptions(), *, seed: int = defaults.SEED,
                     progress: bool = True) -> FeatureReport:
    """Features of a split's labelled videos that the cache lacks, detecting first what the detections
    cache lacks (``detect``; its Ray flags put both passes on Ray); ``data``: an A2D root, a labels CSV or an
    opened dataset."""
    from cascade.data import open_dataset
    from cascade.detect.runner import detect_dataset

    dataset = open_dataset(data, seed, run_dir)
    detected = detect_dataset(dataset, run_dir, split, detect, seed=seed, progress=progress)
    paths = {v: p for v, p in dataset.video_paths(split).items() if v in set(detected.videos)}
    report = compute_features(paths, run_dir, settings, ray=detect.ray_options, progress=progress)
    report.failed.update(detected.failed)
    return report
