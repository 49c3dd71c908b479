"""Stage 1: run the detector over every frame of every video into a resumable detections cache.

The cache is ``RUN/detections.parquet``: one row per kept box (``video``, ``frame``, ``cls`` as the
COCO id, ``conf``, ``x1 y1 x2 y2`` in original pixels) and one row with ``cls = -1`` for each frame
where nothing was kept, so that every processed frame appears and frame counts are exact. Boxes are
kept down to ``keep_conf`` (0.05) so the counting confidence can be re-chosen later without running
the detector again. The file's metadata records the model, image size and stride.

Speed comes from keeping the GPU busy: worker processes decode videos into chunks of frames
(shared memory, pinned), the main process groups chunks of the same frame size into batches and
hands them to :class:`~cascade.models.detector.Detector`, which letterboxes, infers and
suppresses on the device. Finished videos are committed every ``COMMIT_EVERY_S`` seconds by
rewriting the file atomically, so a killed run loses at most the videos since the last commit and
the next run skips what is already there. A video that cannot be decoded is skipped with a warning
and listed in the report.

Example::

    report = detect_videos({"clip": "clip.mp4"}, "runs", weights="yolo11n.pt")
    print(report.summary())
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from cascade import defaults
from cascade.data.decoding import DecodedChunks, _Chunk
from cascade.data.frames import declared_frame_count
from cascade.errors import CascadeError
from cascade.fileio import atomic_path
from cascade.models.detector import Detector, resolve_weights
from cascade.models.device import select_device
from cascade.workers import default_workers, worker_context

log = logging.getLogger(__name__)

CACHE_NAME = "detections.parquet"
META_KEY = b"cascade"
SCHEMA = pa.schema(
    [
        ("video", pa.string()), ("frame", pa.int32()), ("cls", pa.int16()), ("conf", pa.float32()),
        ("x1", pa.float32()), ("y1", pa.float32()), ("x2", pa.float32()), ("y2", pa.float32()),
    ]
)
NO_BOX = -1


class DetectionCache:
    """``RUN/detections.parquet``: read once, appended in memory, rewritten atomically on commit."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / CACHE_NAME
        self.tables: list[pa.Table] = []
        self.meta: dict | None = None
        if self.path.exists():
            try:
                table = pq.read_table(self.path)
            except (pa.ArrowInvalid, OSError) as exc:
                raise CascadeError(f"{self.path}: unreadable detections cache ({exc}); delete it to detect again") from None
            raw = (table.schema.metadata or {}).get(META_KEY)
            self.meta = json.loads(raw) if raw else None
            self.tables.append(table.cast(SCHEMA.with_metadata(table.schema.metadata)))

    def videos(self) -> set[str]:
        """Videos already in the cache (complete: videos are only ever committed whole)."""
        return set().union(*(set(t.column("video").unique().to_pylist()) for t in self.tables))

    def check_settings(self, settings: dict) -> None:
        """Refuse to mix detections made by another model, image size or stride in one cache
        (only the settings given are compared)."""
        if self.meta is None:
            return
        keys = [k for k in ("model", "imgsz", "stride", "keep_conf") if k in settings]
        differ = [k for k in keys if self.meta.get(k) != settings[k]]
        if differ:
            was = ", ".join(f"{k}={self.meta.get(k)}" for k in differ)
            raise CascadeError(
                f"{self.path}: made with {was}; use another --run-dir or delete the cache to detect with new settings"
            )

    def commit(self, new: list[pa.Table], settings: dict) -> None:
        """Add finished videos and rewrite the file atomically."""
        if not new:
            return
        self.tables.extend(new)
        self.meta = settings
        table = pa.concat_tables(self.tables).replace_schema_metadata({META_KEY: json.dumps(settings)})
        self.tables = [table]
        with atomic_path(self.path) as tmp:
            pq.write_table(table, tmp, compression="zstd")

    def to_frame(self) -> pd.DataFrame:
        """The whole cache as a DataFrame (empty, with the right columns, if nothing is cached)."""
        if not self.tables:
            return SCHEMA.empty_table().to_pandas()
        return pa.concat_tables(self.tables).to_pandas()


def load_detections(run_dir: str | Path, videos: list[str] | None = None) -> pd.DataFrame:
    """The cached detections of a run directory; with ``videos``, only their rows are read."""
    path = Path(run_dir) / CACHE_NAME
    if not path.exists():
        raise CascadeError(f"{path}: no detections cache; run `cascade detect` first")
    if videos is None:
        return DetectionCache(run_dir).to_frame()
    try:
        return pq.read_table(path, filters=[("video", "in", list(videos))]).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise CascadeError(f"{path}: unreadable detections cache ({exc}); delete it to detect again") from None


@dataclass
class DetectReport:
    """What a detect run did: counts, speed, and the videos it had to skip."""

    cache: str
    settings: dict
    videos_done: int = 0
    videos_cached: int = 0
    frames: int = 0
    seconds: float = 0.0
    failed: dict[str, str] = field(default_factory=dict)
    mean_scores: dict[str, float] = field(default_factory=dict)  # filled by the CLI: mean actor score per group
    scores_conf: float | None = None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        lines = [
            f"detected {self.frames} frames of {self.videos_done} videos in {self.seconds:.1f} s "
            f"({self.fps:.0f} frames/s); {self.videos_cached} videos were already cached",
            f"cache: {self.cache} (model {self.settings.get('model')}, imgsz {self.settings.get('imgsz')}, "
            f"stride {self.settings['stride']})",
        ]
        if self.mean_scores:
            shown = ", ".join(f"{g} {v:.3f}" for g, v in self.mean_scores.items())
            lines.append(f"mean actor scores over the cache at conf {self.scores_conf}: {shown}")
        if self.failed:
            lines.append(f"skipped {len(self.failed)} video(s) that could not be decoded:")
            lines += [f"  {reason}" for reason in self.failed.values()]
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {**self.__dict__, "fps": self.fps}


class _Batcher:
    """Collects decoded chunks by frame size, runs full batches, and assembles finished videos.

    Chunks are moved to the detector's device as they arrive (from pinned memory, asynchronously),
    so a batch is concatenated on the device; results stay numpy arrays per video until the video
    is finished and becomes one Arrow table.
    """

    def __init__(self, detector: Detector, batch: int) -> None:
        self.detector, self.batch = detector, batch
        self.pending: dict[tuple, list[_Chunk]] = {}
        self.found: dict[str, list[tuple[np.ndarray, ...]]] = {}
        self.done_frames: dict[str, int] = {}
        self.expected: dict[str, int] = {}
        self.failed: dict[str, str] = {}
        self.frames_finished = 0

    def add(self, chunk: _Chunk) -> list[str]:
        """Queue a chunk; return the videos that became complete."""
        if chunk.error:
            log.warning("skipping %s: %s", chunk.video, chunk.error)
            self.failed[chunk.video] = chunk.error
            self.found.pop(chunk.video, None)
            return []
        if len(chunk.numbers):
            chunk.frames = chunk.frames.to(self.detector.device, non_blocking=True)
            key = tuple(chunk.frames.shape[1:])
            self.pending.setdefault(key, []).append(chunk)
            while sum(len(c.numbers) for c in self.pending.get(key, ())) >= self.batch:
                self._run(key)
        if chunk.end:
            self.expected[chunk.video] = chunk.total
        return self._complete()

    def flush(self) -> list[str]:
        for key in list(self.pending):
            while self.pending.get(key):
                self._run(key)
        return self._complete()

    def _take(self, key: tuple) -> tuple[torch.Tensor, list[tuple[str, np.ndarray]]]:
        """Up to one batch of frames of this size, and (video, frame numbers) for each piece."""
        chunks, frames, pieces, taken = self.pending[key], [], [], 0
        while chunks and taken < self.batch:
            chunk = chunks[0]
            take = min(self.batch - taken, len(chunk.numbers))
            frames.append(chunk.frames[:take])
            pieces.append((chunk.video, chunk.numbers[:take].numpy()))
            taken += take
            if take == len(chunk.numbers):
                chunks.pop(0)
            else:
                chunks[0] = _Chunk(chunk.video, chunk.frames[take:], chunk.numbers[take:], chunk.end, chunk.total)
        if not chunks:
            del self.pending[key]
        return torch.cat(frames), pieces

    def _run(self, key: tuple) -> None:
        batch, pieces = self._take(key)
        real = len(batch)
        if self.detector.fixed_shape and real < self.batch:  # a fixed-shape export recompiles on a new batch size
            batch = torch.cat([batch, batch[-1:].expand(self.batch - real, *batch.shape[1:])])
        found = self.detector(batch)
        offset = 0
        for video, numbers in pieces:
            mine = (found.image >= offset) & (found.image < offset + len(numbers))
            local = found.image[mine] - offset
            empty = np.setdiff1d(np.arange(len(numbers)), local)
            self.found.setdefault(video, []).append(
                (numbers[local], found.cls[mine], found.conf[mine], found.boxes[mine], numbers[empty])
            )
            self.done_frames[video] = self.done_frames.get(video, 0) + len(numbers)
            offset += len(numbers)

    def _complete(self) -> list[str]:
        finished = [v for v, n in self.expected.items() if self.done_frames.get(v, 0) == n]
        for video in finished:
            self.frames_finished += self.expected.pop(video)
            self.done_frames.pop(video, None)
        return finished

    def table(self, video: str) -> pa.Table:
        """The finished video's rows: boxes, plus one NO_BOX row per empty frame, by frame then confidence."""
        parts = self.found.pop(video, [])
        frames = np.concatenate([p[0] for p in parts] + [p[4] for p in parts]).astype(np.int32)
        n_boxes = sum(len(p[0]) for p in parts)
        n_empty = len(frames) - n_boxes
        cls = np.concatenate([p[1] for p in parts] + [np.full(n_empty, NO_BOX)]).astype(np.int16)
        conf = np.concatenate([p[2] for p in parts] + [np.zeros(n_empty)]).astype(np.float32)
        boxes = np.concatenate([p[3] for p in parts] + [np.full((n_empty, 4), np.nan)]).astype(np.float32)
        order = np.lexsort((-conf, frames))
        columns = [pa.array(np.full(len(frames), video)), frames[order], cls[order], conf[order],
                   *(boxes[order, i] for i in range(4))]
        return pa.Table.from_arrays([pa.array(c) for c in columns], schema=SCHEMA)


def detect_videos(
    videos: Mapping[str, str | Path],
    run_dir: str | Path,
    weights: str | None = None,
    imgsz: int | None = None,
    stride: int = defaults.STRIDE,
    batch: int | None = None,
    device: str = "auto",
    workers: int | None = None,
    detector: Detector | None = None,
    frame_counts: Mapping[str, int] | None = None,
    commit_every: float = defaults.COMMIT_EVERY_S,
    progress: bool = True,
) -> DetectReport:
    """Detect every (``stride``-th) frame of the videos not yet in ``run_dir``'s cache.

    ``frame_counts`` (video -> frames, e.g. from videoset.csv) only sizes the progress bar; videos
    it lacks are asked of their container. Finished videos are committed at least every
    ``commit_every`` seconds.
    """
    if stride < 1:
        raise CascadeError(f"--stride must be at least 1, got {stride}")
    cache = DetectionCache(run_dir)
    cached = cache.videos()
    todo = [(v, str(p)) for v, p in sorted(videos.items()) if v not in cached]
    if not todo:  # nothing to detect: start no worker, load no model, but refuse other settings
        asked = {"stride": stride, **({"model": resolve_weights(weights)} if weights else {})}
        cache.check_settings({**(detector.describe() if detector else {}), **asked})
        return DetectReport(str(cache.path), {**(cache.meta or {}), **asked}, videos_cached=len(videos))
    on_gpu = detector.device.type == "cuda" if detector else select_device(device).type == "cuda"
    batch = batch or (256 if on_gpu else 4)
    workers = default_workers(len(todo)) if workers is None else workers
    loader = DataLoader(
        DecodedChunks(todo, stride, chunk=min(batch, 64)), batch_size=None, num_workers=workers,
        pin_memory=on_gpu, multiprocessing_context=worker_context() if workers else None,
        prefetch_factor=4 if workers else None,
    )
    chunks = iter(loader)  # start decoding while the model loads
    detector = detector or Detector(weights, imgsz=imgsz, device=device)
    settings = {**detector.describe(), "stride": stride}
    cache.check_settings(settings)
    report = DetectReport(str(cache.path), settings, videos_cached=len(videos) - len(todo))
    batcher = _Batcher(detector, batch)
    new: list[pa.Table] = []
    last_commit = start = time.monotonic()
    total = _expected_frames(todo, stride, frame_counts or {})
    with tqdm(total=total, unit="frame", desc="detect", disable=not progress) as bar:
        try:
            for chunk in chunks:
                new += [batcher.table(v) for v in batcher.add(chunk)]
                bar.update(len(chunk.numbers))
                if new and time.monotonic() - last_commit >= commit_every:
                    cache.commit(new, settings)
                    report.videos_done += len(new)
                    new, last_commit = [], time.monotonic()
            new += [batcher.table(v) for v in batcher.flush()]
        finally:
            cache.commit(new, settings)  # on an interrupt too: finished videos are never lost
            report.videos_done += len(new)
    report.frames = batcher.frames_finished
    report.seconds = time.monotonic() - start
    report.failed = batcher.failed
    return report


def _expected_frames(videos: list[tuple[str, str]], stride: int, known: Mapping[str, int]) -> int:
    total = 0
    for video, path in videos:
        try:
            total += -(-(known.get(video) or declared_frame_count(path)) // stride)
        except CascadeError:  # a missing or unreadable video: reported when it is decoded
            pass
    return total


def detect_dataset(dataset, split: str, run_dir: str | Path, progress: bool = True, **options) -> DetectReport:
    """Detect what the cache lacks for the labelled videos of a split of a dataset."""
    videos = dataset.labelled_videos(split)
    counts = getattr(dataset, "videos", None)
    frame_counts = dict(zip(counts.video, counts.frames)) if counts is not None else None
    return detect_videos(dict(zip(videos.video, videos.path)), run_dir, frame_counts=frame_counts,
                         progress=progress, **options)
