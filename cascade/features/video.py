"""Video features: I3D over a window of consecutive frames around each sampled frame, whole and per actor.

For each sampled (key) frame the window is ``frames`` consecutive frames at about ``fps`` frames per
second: every ``stride = round(video fps / fps)``-th frame (1 at 12.5 fps, 2 at 25 or 30), the key at
index ``frames // 2``; near the video's ends the window slides inside it rather than repeat frames (a
video shorter than the window repeats its last frame). I3D sees two things in each window:

* the **frame**: the largest centred square of every frame of the window, resized to the network's
  square, as Kinetics' clips were cropped for I3D's training (measured against squashing the whole
  frame: one window per clip, true actors given, 3 fold seeds by source, F1 +1.4); its 1024 pooled
  channels and its 400 Kinetics log-probabilities;
* the **tube** of each actor box in the key frame: the box's track followed through the window's frames
  (in each frame, the class's detected box that overlaps the previous one most, from
  ``defaults.LINK_MIN_IOU``), the followed boxes united, padded by ``defaults.CROP_PAD`` of their size and
  grown to a square (clipped to the frame), every frame cropped to that square: the actor moving in a
  still crop, as I3D saw people in Kinetics.

Example::

    window_frames(40, 16, 2, last=300)       # [24, 26, ..., 54]: 16 frames 2 apart, 40 at index 8
    tube = tube_box(key_box, boxes_by_frame, [24, 26, ..., 54], 40, (320, 568))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import cv2
import numpy as np

from cascade import defaults
from cascade.backbones.i3d_weights import i3d_weights_file
from cascade.backbones.video_runtime import VideoNetwork
from cascade.data.frames import iter_frames
from cascade.errors import CascadeError
from cascade.fileio import file_id
from cascade.features.motion import iou_matrix
from cascade.features.settings import FeatureSettings


def window_stride(fps: float, target_fps: float) -> int:
    """Frames between a window's frames for a video at ``fps``: the nearest to ``target_fps``, at least 1."""
    return max(1, int(round(fps / target_fps))) if fps > 0 else 1


def window_frames(key: int, length: int, stride: int, last: int) -> list[int]:
    """``length`` frame numbers ``stride`` apart, ``key`` at index ``length // 2``, slid to lie in
    [1, ``last``] where the video's ends would cut it (repeating ``last`` only when the video is shorter)."""
    span = stride * (length - 1)
    start = min(max(key - stride * (length // 2), 1), max(last - span, 1))
    return [min(start + stride * k, last) for k in range(length)]


def tube_box(key_box: np.ndarray, boxes_by_frame: Mapping[int, np.ndarray], frames: Sequence[int], key: int,
             frame_size: tuple[int, int], min_iou: float = defaults.LINK_MIN_IOU,
             pad: float = defaults.CROP_PAD) -> np.ndarray:
    """The square (x1, y1, x2, y2, pixels) every frame of a window is cropped to for the actor whose box
    in frame ``key`` is ``key_box``: its track followed outwards from the key through ``frames`` (in each
    frame the box of ``boxes_by_frame[frame]`` (N, 4) that overlaps the last followed box most, at least
    ``min_iou``; a frame without one keeps the last box), the followed boxes united, padded and squared."""
    followed = [np.asarray(key_box, float)]
    later = [n for n in frames if n > key]
    earlier = [n for n in reversed(frames) if n < key]
    for direction in (later, earlier):
        last = followed[0]
        for number in dict.fromkeys(direction):  # a window repeating its last frame follows it once
            candidates = boxes_by_frame.get(number)
            if candidates is None or not len(candidates):
                continue
            overlap = iou_matrix(last[None], candidates)[0]
            best = int(np.argmax(overlap))
            if overlap[best] >= min_iou:
                last = np.asarray(candidates[best], float)
                followed.append(last)
    boxes = np.stack(followed)
    x1, y1 = boxes[:, :2].min(0)
    x2, y2 = boxes[:, 2:].max(0)
    height, width = frame_size
    side = max(x2 - x1, y2 - y1) * (1 + 2 * pad)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return np.array([max(0.0, cx - side / 2), max(0.0, cy - side / 2), min(float(width), cx + side / 2),
                     min(float(height), cy + side / 2)])


def centre_square(frame_size: tuple[int, int]) -> np.ndarray:
    """The largest square centred in a frame of ``frame_size`` (height, width), as x1, y1, x2, y2."""
    height, width = frame_size
    side = min(height, width)
    x1, y1 = (width - side) // 2, (height - side) // 2
    return np.array([x1, y1, x1 + side, y1 + side], float)


def clip_pixels(decoded: Mapping[int, np.ndarray], frames: Sequence[int], box: np.ndarray | None, imgsz: int) -> np.ndarray:
    """uint8 RGB (len(frames), imgsz, imgsz, 3): each frame (BGR, as decoded) cropped to ``box`` (None: the
    whole frame) and resized to the square."""
    out = np.empty((len(frames), imgsz, imgsz, 3), np.uint8)
    for k, number in enumerate(frames):
        image = decoded[number]
        if box is not None:
            x1, y1, x2, y2 = (int(round(v)) for v in box)
            if x2 - x1 >= 2 and y2 - y1 >= 2:
                image = image[y1:y2, x1:x2]
        out[k] = cv2.resize(image, (imgsz, imgsz), interpolation=cv2.INTER_AREA)[:, :, ::-1]
    return out


@dataclass(frozen=True)
class ClipJob:
    """One window for I3D: the frames of key frame ``key``'s window, cropped to ``box`` (None: whole)."""

    key: int
    frames: tuple[int, ...]
    box: np.ndarray | None = None


class VideoEmbedder:
    """I3D (:class:`~cascade.backbones.video_runtime.VideoNetwork`) with the settings' weights, window and
    size: the frame and tube features of one video's key frames, its frames decoded in one pass and
    dropped as soon as no window waits for them (a long video never lies in memory whole). The network is
    built on the first video to compute: a run whose features are all cached (predict, evaluate) only
    names the weights."""

    def __init__(self, settings: FeatureSettings, device: str = "cpu") -> None:
        self.settings, self.device = settings, device
        self.weights_file = i3d_weights_file(settings.pretrained)
        self.weights_file = None if self.weights_file is None else self.weights_file.resolve()
        self.init = "random" if self.weights_file is None else file_id(self.weights_file)
        self._network: VideoNetwork | None = None

    @property
    def network(self) -> VideoNetwork:
        if self._network is None:
            self._network = VideoNetwork(self.weights_file, self.settings.video_frames, self.settings.imgsz,
                                         device=self.device)
        return self._network

    def windows(self, keys: Sequence[int], fps: float, last: int) -> dict[int, tuple[int, ...]]:
        """Each key frame's window (:func:`window_frames`) in a video at ``fps`` whose last frame is ``last``."""
        stride = window_stride(fps, self.settings.video_fps)
        return {int(key): tuple(window_frames(int(key), self.settings.video_frames, stride, last)) for key in keys}

    def __call__(self, path: Path, jobs: Sequence[ClipJob], batch: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """I3D features (len(jobs), 1024) and Kinetics log-probabilities (len(jobs), 400) of the ``jobs``'
        clips, decoding ``path`` once."""
        features = np.empty((len(jobs), 1024), np.float32)
        log_probs = np.empty((len(jobs), 400), np.float32)
        order = sorted(range(len(jobs)), key=lambda j: max(jobs[j].frames))  # ready in decoding order
        needed = {n for job in jobs for n in job.frames}
        held: dict[int, np.ndarray] = {}
        ready: list[int] = []
        nxt = 0

        def run(indices: list[int]) -> None:
            clips = np.stack([clip_pixels(held, jobs[j].frames, jobs[j].box, self.settings.imgsz) for j in indices])
            features[indices], log_probs[indices] = self.network(clips)

        def release() -> None:
            pending = {n for j in order[nxt:] for n in jobs[j].frames} | {n for j in ready for n in jobs[j].frames}
            for number in [n for n in held if n not in pending]:
                del held[number]

        last_seen = 0
        for number, frame in iter_frames(path, check_complete=False) if jobs else ():
            last_seen = number
            if number in needed:
                held[number] = frame
            while nxt < len(order) and max(jobs[order[nxt]].frames) <= number:
                ready.append(order[nxt])
                nxt += 1
            if len(ready) >= batch:
                run(ready)
                ready = []
                release()
            if nxt == len(order):
                break
        if nxt < len(order):
            raise CascadeError(f"{path}: a window needs frame {max(jobs[order[nxt]].frames)}, but the video has only "
                               f"{last_seen} frames")
        if ready:
            run(ready)
        return features, log_probs
