"""What the detector's decoding worker processes run: light on imports, so that workers start fast.

:class:`DecodedChunks` streams every (strided) frame of each video in chunks to the detector.
Workers are forked from a server that has imported this module only (:mod:`cascade.workers`), so
nothing here may import pandas, Ultralytics or torchvision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from cascade.data.frames import iter_frames
from cascade.errors import CascadeError


@dataclass
class Chunk:
    """Consecutive (strided) frames of one video, or the error that stopped its decoding."""

    video: str
    frames: torch.Tensor  # (k, H, W, 3) uint8
    numbers: torch.Tensor  # (k,) 1-based frame numbers
    end: bool = False  # last chunk of the video: ``total`` frames were sent in all
    total: int = 0
    error: str | None = None


class DecodedChunks(IterableDataset):
    """Each worker decodes its share of the videos into chunks of consecutive (strided) frames."""

    def __init__(self, videos: list[tuple[str, str]], stride: int, chunk: int) -> None:
        self.videos, self.stride, self.chunk = videos, stride, chunk

    def __iter__(self) -> Iterator[Chunk]:
        import cv2

        cv2.setNumThreads(1)
        info = get_worker_info()
        share = self.videos if info is None else self.videos[info.id :: info.num_workers]
        for video, path in share:
            yield from self._video(video, path)

    def _video(self, video: str, path: str) -> Iterator[Chunk]:
        frames, numbers, total = [], [], 0
        try:
            for number, frame in iter_frames(path):
                if (number - 1) % self.stride:
                    continue
                frames.append(frame)
                numbers.append(number)
                if len(frames) == self.chunk:
                    yield self._pack(video, frames, numbers)
                    total += len(frames)
                    frames, numbers = [], []
        except CascadeError as exc:
            yield Chunk(video, torch.empty(0), torch.empty(0), end=True, error=str(exc))
            return
        if frames:
            total += len(frames)
        last = self._pack(video, frames, numbers) if frames else Chunk(video, torch.empty(0), torch.empty(0))
        last.end, last.total = True, total
        yield last

    @staticmethod
    def _pack(video: str, frames: list[np.ndarray], numbers: list[int]) -> Chunk:
        return Chunk(video, torch.from_numpy(np.stack(frames)), torch.tensor(numbers, dtype=torch.int32))
