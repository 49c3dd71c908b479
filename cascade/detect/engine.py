"""The batch engine: decoded chunks of frames in, one Arrow table per finished video out.

Chunks (consecutive frames of one video, from the decoding workers) are moved to the detector's
device as they arrive, queued by frame size, and cut into batches of exactly ``batch`` frames,
across videos: a batch may end inside one video and start inside the next. A short last batch is
padded with copies of its last frame, so every forward pass has the same shape (a fixed-shape
export needs it, and a frame's result then never depends on how full its batch was). What a batch
finds is split back per video as :class:`FoundFrames`; when all of a video's frames are back, the
video becomes one table in the cache's schema.

Example::

    engine = BatchEngine(detector, batch=256)
    for chunk in chunks:
        for video in engine.add(chunk):
            table = engine.table(video)
    finished = engine.flush()
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import torch

from cascade.detect.decoding import Chunk
from cascade.detect.cache import NO_BOX, SCHEMA
from cascade.detect.detector import Detector

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FoundFrames:
    """What one batch found in a run of one video's frames."""

    box_frames: np.ndarray  # (K,) frame number of each kept box
    cls: np.ndarray  # (K,) COCO ids
    conf: np.ndarray  # (K,)
    boxes: np.ndarray  # (K, 4) x1 y1 x2 y2, original pixels
    empty_frames: np.ndarray  # frame numbers where nothing was kept


@dataclass(frozen=True)
class _Piece:
    """A run of one video's frames inside a batch."""

    video: str
    numbers: np.ndarray  # 1-based frame numbers


class BatchEngine:
    """Batches chunks by frame size, runs the detector, and assembles each video's rows."""

    def __init__(self, detector: Detector, batch: int) -> None:
        self.detector, self.batch = detector, batch
        self.pending: dict[tuple, list[Chunk]] = {}
        self.found: dict[str, list[FoundFrames]] = {}
        self.done_frames: dict[str, int] = {}
        self.expected: dict[str, int] = {}
        self.failed: dict[str, str] = {}
        self.frames_finished = 0

    def add(self, chunk: Chunk) -> list[str]:
        """Queue a chunk; return the videos that became complete."""
        if chunk.error:
            log.warning("skipping a video: %s", chunk.error)
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
        """Run what is queued (short batches, padded) and return the videos that became complete."""
        for key in list(self.pending):
            while self.pending.get(key):
                self._run(key)
        return self._complete()

    def _take(self, key: tuple) -> tuple[torch.Tensor, list[_Piece]]:
        """Up to one batch of frames of this size, and the run of frames each video contributed."""
        chunks, frames, pieces, taken = self.pending[key], [], [], 0
        while chunks and taken < self.batch:
            chunk = chunks[0]
            take = min(self.batch - taken, len(chunk.numbers))
            frames.append(chunk.frames[:take])
            pieces.append(_Piece(chunk.video, chunk.numbers[:take].numpy()))
            taken += take
            if take == len(chunk.numbers):
                chunks.pop(0)
            else:
                chunks[0] = Chunk(chunk.video, chunk.frames[take:], chunk.numbers[take:], chunk.end, chunk.total)
        if not chunks:
            del self.pending[key]
        return torch.cat(frames), pieces

    def _run(self, key: tuple) -> None:
        batch, pieces = self._take(key)
        real = len(batch)
        if real < self.batch:  # the same shape for every pass: see the module docstring
            batch = torch.cat([batch, batch[-1:].expand(self.batch - real, *batch.shape[1:])])
        found = self.detector(batch)
        offset = 0
        for piece in pieces:
            mine = (found.image >= offset) & (found.image < offset + len(piece.numbers))
            local = found.image[mine] - offset
            empty = np.setdiff1d(np.arange(len(piece.numbers)), local)
            self.found.setdefault(piece.video, []).append(FoundFrames(
                piece.numbers[local], found.cls[mine], found.conf[mine], found.boxes[mine], piece.numbers[empty]))
            self.done_frames[piece.video] = self.done_frames.get(piece.video, 0) + len(piece.numbers)
            offset += len(piece.numbers)

    def _complete(self) -> list[str]:
        finished = [v for v, n in self.expected.items() if self.done_frames.get(v, 0) == n]
        for video in finished:
            self.frames_finished += self.expected.pop(video)
            self.done_frames.pop(video, None)
        return finished

    def table(self, video: str) -> pa.Table:
        """The finished video's rows, and forget them: see :func:`video_table`."""
        return video_table(video, self.found.pop(video, []))


def video_table(video: str, parts: list[FoundFrames]) -> pa.Table:
    """One video's rows in the cache's schema: boxes, plus one NO_BOX row per empty frame, by frame
    then descending confidence."""
    frames = np.concatenate([p.box_frames for p in parts] + [p.empty_frames for p in parts]).astype(np.int32)
    n_boxes = sum(len(p.box_frames) for p in parts)
    n_empty = len(frames) - n_boxes
    cls = np.concatenate([p.cls for p in parts] + [np.full(n_empty, NO_BOX)]).astype(np.int16)
    conf = np.concatenate([p.conf for p in parts] + [np.zeros(n_empty)]).astype(np.float32)
    boxes = np.concatenate([p.boxes.reshape(-1, 4) for p in parts] + [np.full((n_empty, 4), np.nan)]).astype(np.float32)
    order = np.lexsort((-conf, frames))
    columns = [pa.array(np.full(len(frames), video)), frames[order], cls[order], conf[order],
               *(boxes[order, i] for i in range(4))]
    return pa.Table.from_arrays([pa.array(c) for c in columns], schema=SCHEMA)
