"""Actor instances: the detections cache's boxes of one video linked into tracks, class by class.

Three linkers, each run on the cached boxes of one COCO class at the counting confidence, detected
frame after detected frame (no pixels: the boxes are what the detector already found):

* ``iou``: each frame's boxes matched one-to-one to the live tracks by the largest total intersection
  over union with where each track should be now (its last box moved at its last velocity; Hungarian,
  pairs below ``min_iou`` left unmatched), a track kept alive over up to ``max_gap`` frames without a box
  (:func:`link_iou`): the features' linking of boxes across sampled frames, with motion;
* ``bytetrack`` and ``botsort``: Ultralytics' trackers (a Kalman filter on each box, two-stage matching
  of high and low scores; BoT-SORT's camera-motion compensation needs pixels, so it runs without),
  fed the boxes as Ultralytics' own :class:`~ultralytics.engine.results.Boxes` (:func:`link_ultralytics`).

Then the same rules clean every linker's tracks (:func:`clean_tracks`): a track that ends where another of
its class begins within ``max_gap`` detected frames, its last box moved on at its last velocity overlapping
the other's first by ``min_iou``, goes on as that track (a missed detection is not a new actor); a track
seen in fewer than ``min_frames`` detected frames is dropped (a flicker is not an actor).

Example::

    tracks = video_tracks(rows, TrackSettings(method="iou"))   # rows of one video's detections cache
    tracks.groupby("track").frame.agg(["min", "max"])                # each instance's life
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from cascade import defaults
from cascade.errors import CascadeError
from cascade.features.motion import iou_matrix, match_boxes
from cascade.labels import COCO_CLASSES

CORNERS = ["x1", "y1", "x2", "y2"]  # a box's columns, in the detections, tracks and labels tables alike
TRACK_COLUMNS = ["video", "frame", "cls", "track", "conf", *CORNERS]


@dataclass(frozen=True)
class TrackSettings:
    """How tracks are made: the linker (``iou``, ``bytetrack``, ``botsort``), the detection confidence a box
    needs (``conf``), the overlap that continues a track (``min_iou``), the detected frames a track may miss
    (``max_gap``) and the detected frames it needs to count (``min_frames``)."""

    method: str = defaults.TRACK_METHOD
    conf: float = defaults.DETECT_CONF
    min_iou: float = defaults.LINK_MIN_IOU
    max_gap: int = defaults.TRACK_MAX_GAP
    min_frames: int = defaults.TRACK_MIN_FRAMES

    def __post_init__(self) -> None:
        if self.method not in defaults.TRACK_METHOD_CHOICES:
            raise CascadeError(f"unknown --track-method {self.method!r}; valid: {', '.join(defaults.TRACK_METHOD_CHOICES)}")
        if self.max_gap < 0 or self.min_frames < 1 or not 0 < self.min_iou <= 1:
            raise CascadeError(f"--track-max-gap must be at least 0, --track-min-frames at least 1 and --track-min-iou "
                               f"in (0, 1], got {self.max_gap}, {self.min_frames}, {self.min_iou}")

    def describe(self) -> dict:
        return dict(self.__dict__)


def link_iou(frames: list[np.ndarray], min_iou: float, max_gap: int) -> list[np.ndarray]:
    """Track ids for the boxes of consecutive detected frames (one class; ``frames[t]``: (N_t, 4)): each
    frame's boxes matched one-to-one to where the live tracks should be now (a track lives ``max_gap``
    frames after its last box; it is expected where its last two boxes say it moves, at constant
    velocity, so two actors crossing keep their tracks), a box matched to none starting a new track."""
    tracks: list[np.ndarray] = []
    history: dict[int, list[tuple[int, np.ndarray]]] = {}  # track -> its last two (frame index, box)
    next_id = 0
    for t, boxes in enumerate(frames):
        ids = np.full(len(boxes), -1, np.int64)
        live = [k for k, seen in history.items() if t - seen[-1][0] <= max_gap + 1]
        if live and len(boxes):
            expected = np.stack([_expected(history[k], t) for k in live])
            for i, j in match_boxes(expected, boxes, min_iou):
                ids[j] = live[i]
        for j in np.flatnonzero(ids < 0):
            ids[j], next_id = next_id, next_id + 1
        for j, k in enumerate(ids):
            history[int(k)] = [*history.get(int(k), [])[-1:], (t, boxes[j])]
        tracks.append(ids)
    return tracks


def _expected(seen: list[tuple[int, np.ndarray]], t: int) -> np.ndarray:
    """Where a track's box should be at frame index ``t``: its last box moved on at the velocity of its last
    two boxes (standing still with one)."""
    (t1, last), = seen[-1:]
    if len(seen) < 2:
        return last
    t0, before = seen[0]
    return last + (last - before) * (t - t1) / max(t1 - t0, 1)


def link_ultralytics(frames: list[np.ndarray], scores: list[np.ndarray], method: str,
                     frame_size: tuple[int, int]) -> list[np.ndarray]:
    """Track ids (-1: a box the tracker did not keep) from Ultralytics' ``bytetrack`` or ``botsort`` with its
    default settings (its ``cfg/trackers/<method>.yaml``; a lost track kept 30 detected frames), fed each
    detected frame's boxes and scores."""
    from ultralytics.engine.results import Boxes
    from ultralytics.trackers.track import TRACKER_MAP
    from ultralytics.utils import YAML
    from ultralytics.utils.checks import check_yaml

    config = YAML.load(check_yaml(f"{method}.yaml"))
    config.update(gmc_method="none", with_reid=False)  # no pixels here: no camera-motion compensation, no ReID
    tracker = TRACKER_MAP[method](SimpleNamespace(**config))
    out = []
    for boxes, conf in zip(frames, scores):
        data = np.concatenate([boxes, conf[:, None], np.zeros((len(boxes), 1))], axis=1).astype(np.float32)
        found = tracker.update(Boxes(data, frame_size).numpy() if len(data) else Boxes(np.zeros((0, 6), np.float32),
                                                                                         frame_size).numpy())
        ids = np.full(len(boxes), -1, np.int64)
        for row in np.asarray(found).reshape(-1, 8):
            ids[int(row[7])] = int(row[4])
        out.append(ids)
    return out


def clean_tracks(table: pd.DataFrame, max_gap: int, min_iou: float, min_frames: int, step: int) -> pd.DataFrame:
    """The tracks of one class (rows: frame, track, x1 y1 x2 y2) with short gaps joined and flickers dropped
    (see the module docstring); ``step``: frames between detected frames (the detection stride)."""
    table = table[table.track >= 0].sort_values(["frame", "track"])
    spans = table.groupby("track")
    first, last = spans.head(1).set_index("track"), spans.tail(1).set_index("track")
    root_of: dict[int, int] = {}
    end: dict[int, tuple[int, np.ndarray]] = {}  # a root track -> its last frame and box so far
    velocity = {int(t): _velocity(rows) for t, rows in spans}
    for track in first.sort_values("frame", kind="stable").index:
        start, box = int(first.at[track, "frame"]), first.loc[track, CORNERS].to_numpy(float)
        options = [(iou_matrix((end_box + velocity[root] * (start - end_frame))[None], box[None])[0, 0], root)
                   for root, (end_frame, end_box) in end.items() if 0 < start - end_frame <= (max_gap + 1) * step]
        overlap, root = max(options, default=(0.0, track))
        root = root if overlap >= min_iou else track
        root_of[int(track)] = root
        end[root] = (int(last.at[track, "frame"]), last.loc[track, CORNERS].to_numpy(float))
        velocity[root] = velocity[int(track)]
    table = table.assign(track=[root_of[int(t)] for t in table.track])
    return table[table.groupby("track").frame.transform("nunique") >= min_frames]


def _velocity(rows: pd.DataFrame) -> np.ndarray:
    """A track's box motion per frame over its last two boxes (zeros with one)."""
    if len(rows) < 2:
        return np.zeros(4)
    before, last = rows.iloc[-2], rows.iloc[-1]
    return (last[CORNERS].to_numpy(float) - before[CORNERS].to_numpy(float)) / max(int(last.frame) - int(before.frame), 1)


def video_tracks(rows: pd.DataFrame, settings: TrackSettings) -> pd.DataFrame:
    """The tracks of one video (:data:`TRACK_COLUMNS`) from its rows of the detections cache: each actor
    class's boxes at ``settings.conf`` linked, cleaned and numbered 0, 1, ... over the whole video (in the
    order they first appear)."""
    if rows.empty:
        return pd.DataFrame(columns=TRACK_COLUMNS)
    detected = np.sort(rows.frame.unique())
    step = int(np.median(np.diff(detected))) if len(detected) > 1 else 1
    kept = rows[rows.cls.isin(COCO_CLASSES) & (rows.conf >= settings.conf)]
    size = (int(max(kept.y2.max(), 1)), int(max(kept.x2.max(), 1))) if len(kept) else (1, 1)
    parts = []
    for cls, of_class in kept.groupby("cls"):
        of_class = of_class.sort_values(["frame", "conf"], ascending=[True, False]).reset_index(drop=True)
        at = {int(f): idx for f, idx in of_class.groupby("frame").indices.items()}
        frames = [of_class.loc[at.get(int(f), []), CORNERS].to_numpy(float) for f in detected]
        if settings.method == "iou":
            ids = link_iou(frames, settings.min_iou, settings.max_gap)
        else:
            scores = [of_class.loc[at.get(int(f), []), "conf"].to_numpy(float) for f in detected]
            ids = link_ultralytics(frames, scores, settings.method, size)
        track = np.full(len(of_class), -1, np.int64)
        for f, frame_ids in zip(detected, ids):
            if int(f) in at:
                track[at[int(f)]] = frame_ids
        table = of_class.assign(track=track)
        parts.append(clean_tracks(table, settings.max_gap, settings.min_iou, settings.min_frames, step))
    if not parts:
        return pd.DataFrame(columns=TRACK_COLUMNS)
    tracks = pd.concat(parts, ignore_index=True)
    order = tracks.groupby(["cls", "track"]).frame.min().sort_values(kind="stable")
    number = {key: n for n, key in enumerate(order.index)}
    tracks["track"] = [number[(c, t)] for c, t in zip(tracks.cls, tracks.track)]
    return tracks.sort_values(["track", "frame"])[TRACK_COLUMNS].reset_index(drop=True)
