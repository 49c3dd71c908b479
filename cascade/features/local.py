"""Computing features in this process: what a single run does, and what each Ray worker does on its shard.

:func:`compute_locally` keeps the videos the cache does not hold yet and, for each, decodes its
sampled frames once, embeds the whole frame and every actor box above the counting confidence,
gives person boxes their keypoints, links boxes across the sampled frames and measures their motion
(:func:`video_features`), then commits finished videos every ``commit_every`` seconds (and at the
end), so a killed run loses at most that much. With nothing to compute it loads no pose model, but
still refuses settings that do not match the cache. It sits below both entry points that use it:
:func:`cascade.features.runner.compute_features` (one process, or Ray with ``ray=``) and the Ray
workers of :mod:`cascade.features.ray_runner`, which never import the runner that deals them work.

Example::

    report = compute_locally({"clip": "clip.mp4"}, "runs", FeatureSettings(every=4))
    print(report.summary())
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from cascade import defaults
from cascade.data.frames import frame_rate, read_frames
from cascade.detect.cache import load_detections
from cascade.errors import CascadeError
from cascade.features.cache import SCHEMA, WHOLE_FRAME, FeatureCache
from cascade.features.embeddings import Embedder
from cascade.features.motion import MOTION_COLUMNS, link_boxes, track_motion
from cascade.features.pose import PoseModel, normalise_keypoints
from cascade.features.settings import FeatureSettings
from cascade.features.video import ClipJob, VideoEmbedder, centre_square, tube_box
from cascade.labels import COCO_CLASSES, group

log = logging.getLogger(__name__)
PERSON = group("person").coco_class


@dataclass
class FeatureReport:
    """What a features run did: videos computed and already cached, frames, time, the cache's size."""

    cache: str
    settings: dict
    videos: list[str] = field(default_factory=list)  # the given videos now in the cache
    computed: int = 0
    cached: int = 0
    frames: int = 0  # sampled frames computed by this run
    seconds: float = 0.0
    cache_bytes: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # video -> why it could not be decoded

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        text = (f"features: {self.computed} video(s) computed ({self.frames} sampled frames, {self.seconds:.1f} s, "
                f"{self.frames_per_s:.1f} frames/s), {self.cached} already cached -> {self.cache} "
                f"({self.cache_bytes / 2**20:.1f} MiB)")
        if self.failed:
            text += f"\n{len(self.failed)} video(s) skipped, not decodable: " + "; ".join(self.failed.values())
        return text

    def to_json(self) -> dict:
        return {**self.__dict__, "frames_per_s": self.frames_per_s}


@functools.lru_cache(maxsize=2)
def embedder_for(settings: FeatureSettings) -> Embedder | VideoEmbedder:
    """One embedder per settings in a process (an image backbone's, or I3D's for ``i3d``): predict asks for
    features video after video, a Ray worker shard after shard."""
    return VideoEmbedder(settings) if settings.video else Embedder(settings)


@functools.lru_cache(maxsize=2)
def pose_model_for(weights: str) -> PoseModel:
    """One pose model per weights in a process (loaded only when a video needs keypoints computed): a Ray
    worker computes shard after shard."""
    return PoseModel(weights)


def open_run(videos: Mapping[str, str | Path], run_dir: str | Path, settings: FeatureSettings
             ) -> tuple[FeatureCache, Embedder, dict, list[str], FeatureReport]:
    """``run_dir``'s features cache, checked against ``settings`` (already resolved against it,
    :meth:`~cascade.features.cache.FeatureCache.resolve`) as this process's embedder describes them; the
    embedder; that description; the ``videos`` the cache lacks, sorted; and a report counting the others as
    cached."""
    cache = FeatureCache(run_dir)
    embedder = embedder_for(settings)
    described = settings.describe(embedder.init, embedder.weights_file)
    cache.check_settings(described)
    cached = cache.videos()
    todo = sorted(v for v in videos if v not in cached)
    return cache, embedder, described, todo, FeatureReport(str(cache.path), described, cached=len(videos) - len(todo))


def close_run(report: FeatureReport, videos: Mapping[str, str | Path], cache: FeatureCache) -> FeatureReport:
    """``report`` with the given videos now in the cache and the cache's size on disk."""
    report.videos = sorted(v for v in videos if v not in report.failed)
    report.cache_bytes = sum(p.stat().st_size for p in cache.path.rglob("*.parquet")) if cache.path.is_dir() else 0
    return report


def compute_locally(videos: Mapping[str, str | Path], run_dir: str | Path, settings: FeatureSettings = FeatureSettings(),
                    detections: pd.DataFrame | None = None, *, commit_every: float = defaults.COMMIT_EVERY_S,
                    progress: bool = True) -> FeatureReport:
    """Features of the ``videos`` (name -> path) that ``run_dir``'s cache lacks, computed in this process
    from their cached detections (``detections``: already loaded ones, else the run's cache); a setting left
    at None is the run's (:meth:`~cascade.features.cache.FeatureCache.resolve`)."""
    settings = FeatureCache(run_dir).resolve(settings)
    cache, embedder, described, todo, report = open_run(videos, run_dir, settings)
    if todo:
        _compute_here(todo, videos, run_dir, cache, settings, described, embedder, detections, commit_every, progress,
                      report)
    return close_run(report, videos, cache)


def _compute_here(todo: list[str], videos: Mapping[str, str | Path], run_dir: str | Path, cache: FeatureCache,
                  settings: FeatureSettings, described: dict, embedder: Embedder, detections: pd.DataFrame | None,
                  commit_every: float, progress: bool, report: FeatureReport) -> None:
    """Compute ``todo`` in this process into ``cache`` (``run_dir``'s, already opened and checked), committing
    every ``commit_every`` seconds (see the module docstring)."""
    if detections is None:
        detections = load_detections(run_dir, todo)
    pose = pose_model_for(settings.pose_weights)
    start = last_commit = time.monotonic()
    done: list[pa.Table] = []
    for video in tqdm(todo, desc="features", unit="video", disable=not progress):
        try:
            table = video_features(Path(videos[video]), video, detections[detections.video == video], settings,
                                   embedder, pose)
        except CascadeError as exc:
            log.warning("skipping a video: %s", exc)
            report.failed[video] = str(exc)
            continue
        done.append(table)
        report.frames += int(np.sum(table.column("cls").to_numpy() == WHOLE_FRAME))
        if time.monotonic() - last_commit >= commit_every:
            report.computed += cache.commit(done, described)
            done, last_commit = [], time.monotonic()
    report.computed += cache.commit(done, described) if done else 0
    report.seconds = time.monotonic() - start


def video_features(path: Path, video: str, rows: pd.DataFrame, settings: FeatureSettings,
                   embedder: Embedder | VideoEmbedder, pose: PoseModel) -> pa.Table:
    """One video's rows (see :mod:`cascade.features.cache`) from its detections ``rows``."""
    if rows.empty:
        raise CascadeError(f"{path}: no detected frames; detect it first")
    numbers = settings.sampled(rows.frame.unique())
    decoded = read_frames(path, numbers)  # the sampled frames: pose, and an image backbone's embeddings
    kept = rows[rows.cls.isin(COCO_CLASSES) & (rows.conf >= settings.conf) & rows.frame.isin(numbers)]
    kept = kept.sort_values(["frame", "cls", "conf"], ascending=[True, True, False], kind="stable")
    boxes = kept[["x1", "y1", "x2", "y2"]].to_numpy(np.float32)
    height, width = next(iter(decoded.values())).shape[:2]

    whole = pd.DataFrame({"video": video, "frame": numbers, "cls": WHOLE_FRAME, "conf": 1.0, "x1": 0.0, "y1": 0.0,
                          "x2": float(width), "y2": float(height), "track": -1})
    for name in MOTION_COLUMNS:
        whole[name] = 0.0
    whole[["cx", "cy", "width", "height"]] = (0.5, 0.5, 1.0, 1.0)
    actors = kept[["video", "frame", "cls", "conf", "x1", "y1", "x2", "y2"]].reset_index(drop=True)
    actors["track"] = -1
    motion = np.zeros((len(actors), len(MOTION_COLUMNS)), np.float32)
    fps = frame_rate(path)
    for cls, of_class in actors.groupby("cls"):
        by_frame = [of_class.index[of_class.frame == n].to_numpy() for n in numbers]
        tracks = link_boxes([boxes[index] for index in by_frame])
        for index, ids in zip(by_frame, tracks):
            actors.loc[index, "track"] = ids
        for _, track in actors.loc[of_class.index].groupby("track"):
            moved = track_motion(track.frame.to_numpy(), boxes[track.index], fps, (height, width))
            motion[track.index] = np.stack(list(moved.columns().values()), axis=1)
    actors[list(MOTION_COLUMNS)] = motion

    kinetics: list[np.ndarray | None] = [None] * (len(numbers) + len(actors))
    if isinstance(embedder, VideoEmbedder):
        embeddings, log_probs = _video_embeddings(path, rows, numbers, actors, boxes, (height, width), fps, settings,
                                                  embedder)
        kinetics[: len(numbers)] = list(log_probs[: len(numbers)])
    else:
        embeddings = embedder([(decoded[n], None) for n in numbers]
                              + [(decoded[int(f)], b) for f, b in zip(actors.frame, boxes)])
    keypoints: list[np.ndarray | None] = [None] * len(actors)
    people = actors.index[actors.cls == PERSON]
    for number, index in actors.loc[people].groupby("frame").groups.items():
        found = pose.keypoints([decoded[int(number)]], [boxes[index]])[0]
        for row, values in zip(index, normalise_keypoints(found, boxes[index])):
            keypoints[row] = values
    table = pd.concat([whole, actors], ignore_index=True)
    table["embedding"] = list(embeddings)
    table["keypoints"] = [None] * len(whole) + keypoints
    table["kinetics"] = kinetics
    return pa.Table.from_pandas(table, schema=SCHEMA, preserve_index=False)


def _video_embeddings(path: Path, rows: pd.DataFrame, numbers: list[int], actors: pd.DataFrame, boxes: np.ndarray,
                      frame_size: tuple[int, int], fps: float, settings: FeatureSettings,
                      embedder: VideoEmbedder) -> tuple[np.ndarray, np.ndarray]:
    """I3D features of each sampled frame's window (its centred square), then of each actor box's tube
    (:mod:`cascade.features.video`),
    the tubes following the class's boxes detected at the counting confidence in every frame of the window."""
    windows = embedder.windows(numbers, fps, int(rows.frame.max()))
    counted = rows[rows.cls.isin(COCO_CLASSES) & (rows.conf >= settings.conf)]
    by_class = {int(cls): {int(n): b[["x1", "y1", "x2", "y2"]].to_numpy(float) for n, b in of_class.groupby("frame")}
                for cls, of_class in counted.groupby("cls")}
    jobs = [ClipJob(n, windows[n], centre_square(frame_size)) for n in numbers]
    jobs += [ClipJob(int(f), windows[int(f)], tube_box(box, by_class.get(int(c), {}), windows[int(f)], int(f), frame_size))
             for f, c, box in zip(actors.frame, actors.cls, boxes)]
    return embedder(path, jobs)
