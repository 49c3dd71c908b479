"""Hand-built cascade parts with known behaviour, made with the real code paths (no stand-ins):
a detections cache in the real format with chosen boxes, and real ResNet-34 head checkpoints whose
output is a chosen pair whatever the input (zero final weights, a bias)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from cascade.detect.cache import DetectionCache
from cascade.detect.engine import FoundFrames, video_table
from cascade.labels import GROUPS, group
from cascade.heads.checkpoint import head_path, save_head
from cascade.heads.inputs import HeadInput
from cascade.backbones.torchvision_nets import classifier
from cascade.heads.model import build_head, head_meta

COCO = {g.name: g.coco_class for g in GROUPS}


def write_cache(run_dir: Path, videos: dict[str, dict[str, int]], frames: int = 24, conf: float = 0.9,
                settings: dict | None = None) -> Path:
    """A cache where video v shows group g (one box, confidence ``conf``) in its first n frames, for
    each ``{g: n}`` of ``videos[v]``; every frame of every video is in it."""
    tables = []
    for video, shown in videos.items():
        numbers = np.arange(1, frames + 1)
        box_frames = np.concatenate([numbers[:n] for n in shown.values()] + [np.zeros(0)]).astype(np.int64)
        cls = np.concatenate([np.full(n, COCO[g]) for g, n in shown.items()] + [np.zeros(0)]).astype(np.int64)
        boxes = np.tile(np.array([[10.0, 20.0, 110.0, 220.0]], np.float32), (len(box_frames), 1))
        empty = np.setdiff1d(numbers, box_frames)
        tables.append(video_table(video, [FoundFrames(box_frames, cls, np.full(len(cls), conf, np.float32),
                                                      boxes, empty)]))
    cache = DetectionCache(run_dir)
    cache.commit(tables, settings or {"model": "hand-built", "stride": 1, "keep_conf": 0.05})
    return cache.path


def constant_head(run_dir: Path, group_name: str, pair: int, imgsz: int = 64, crop: bool = False) -> Path:
    """A real head checkpoint that names ``pair`` for every input."""
    head_group = group(group_name)
    model, _ = build_head(head_group, "none")
    last = classifier(model, "resnet34")
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(-10.0)
        last.bias[head_group.pairs.index(pair)] = 10.0
    meta = head_meta(head_group, HeadInput(imgsz, crop, 0.1), "constant", {"built_by": "tests"})
    return save_head(head_path(run_dir, head_group), model, meta)
