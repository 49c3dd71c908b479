"""Training one action head, in the shape of torchvision's reference ``train.py``.

Samples are actor instances: every instance of the group in an annotated train frame gives one
(input, pair) sample, the input being the whole frame or, with ``crop``, its padded box; for a
temporal head (``temporal="tsm"``), the window of ``clip_len`` frames ``clip_stride`` apart around
that frame, clamped at the video's ends, each frame cropped to the actor's box where that frame is
annotated, else to the key frame's box. A seeded
share of the train video groups (sources) is held out to choose the best epoch by validation F1 (the
challenge's per-sample F1 of the predicted pair against the frame's true pairs of the group).
Every needed frame is decoded once, before the first epoch, by threads of this process (OpenCV
releases the GIL, and threads need no worker start-up, pickling, or ``__main__`` guard in the
caller's script), frames shared by overlapping windows included, and the inputs are kept as uint8
tensors (the report gives their size), so epochs cost only the network. The best epoch's
weights are kept in memory and written once, when training ends: an interrupted run leaves the
previous head file as it was. The seed's settings are the defaults: SGD lr 1e-3 momentum 0.9, x0.1 every
7 epochs, batch 4, 15 epochs, 224 px, no random crop or flip. On CUDA, bf16 autocast and
channels-last memory make each step several times faster.

Example::

    report = train_head("A2D", "runs", actor="dog", epochs=15)
    print(report.summary())
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from cascade import defaults
from cascade.data import open_dataset
from cascade.data.frames import read_frames
from cascade.errors import CascadeError
from cascade.labels import Group, group as find_group
from cascade.device import select_device
from cascade.heads.checkpoint import head_path, save_head
from cascade.detect.cache import CACHE_NAME, DetectionCache, load_detections
from cascade.detect.options import DetectOptions
from cascade.features.cache import FeatureCache
from cascade.features.settings import FeatureSettings
from cascade.backbones.preprocess import normalise
from cascade.backbones.torchvision_nets import backbone as backbone_of
from cascade.heads.inputs import (HeadInput, Window, best_boxes, frames_needed, head_sample, head_window,
                                  same_actor)
from cascade.heads.feature_inputs import FeatureRecipe
from cascade.heads.feature_training import train_feature_head
from cascade.heads.model import build_head, head_meta, predict_batches
from cascade.heads.samples import Samples, TrainReport, frame_scores, instance_table, split_frames
from cascade.workers import available_cores

log = logging.getLogger(__name__)


def boxless(instances: pd.DataFrame) -> pd.DataFrame:
    """The instances whose labels give no box: --crop has nothing to crop for them."""
    return instances[[not np.all(np.isfinite(b)) for b in instances.box]]


def decode_samples(instances: pd.DataFrame, group: Group, imgsz: int, crop: bool, pad: float,
                   progress: bool = True, workers: int | None = None, window: Window | None = None,
                   detections: pd.DataFrame | None = None) -> Samples:
    """Decode every needed frame once, videos in parallel threads (default: one per core), and build
    the inputs (a ``window`` of frames per sample for a temporal head). A video that cannot be decoded
    is skipped with a warning and listed in ``skipped``. With ``detections`` (crop on clip-level
    labels), every frame of a window shows the group's most confident detected box in it, else the
    key frame's, exactly as :meth:`~cascade.pipeline.Cascade.head_stage` feeds a crop head."""
    if crop and len(boxless(instances)):
        raise CascadeError("--crop needs a box for every instance; the labels give none for some (use --no-crop)")
    instances = instances.sort_values(["path", "frame"], kind="stable").reset_index(drop=True)
    sample_shape = (3, imgsz, imgsz) if window is None else (window.clip_len, 3, imgsz, imgsz)
    images = torch.empty((len(instances), *sample_shape), dtype=torch.uint8)
    skipped: dict[str, str] = {}

    def decode_video(rows: pd.DataFrame) -> None:
        try:
            frames = read_frames(rows.path.iat[0], rows.frame, past_end=frames_needed(rows.frame, window))
        except CascadeError as exc:
            log.warning("skipping a video: %s", exc)
            skipped[rows.path.iat[0]] = str(exc)
            return
        annotated = rows.groupby("frame").box.agg(list).to_dict() if crop else {}
        detected = best_boxes(detections, rows.video.iat[0], group, frames) if detections is not None else None
        for row, key, box in zip(rows.index, rows.frame, rows.box):
            boxes = (detected if detected is not None else actor_boxes(annotated, key, box, window)) if crop else {}
            images[row] = head_sample(frames, key, boxes, imgsz, pad, window)

    videos = [rows for _, rows in instances.groupby("path", sort=False)]
    workers = min(available_cores(), len(videos)) if workers is None else workers  # the caller only waits
    with ThreadPoolExecutor(max(1, workers)) as pool, \
            tqdm(total=len(videos), desc="decode", unit="video", disable=not progress) as bar:
        for _ in pool.map(decode_video, videos):
            bar.update()
    if skipped:
        kept = ~instances.path.isin(skipped).to_numpy()
        instances, images = instances[kept].reset_index(drop=True), images[torch.from_numpy(kept)]
    column = {p: i for i, p in enumerate(group.pairs)}
    targets = instances.pair.map(column).to_numpy().copy()
    frame_ids, frame_index = np.unique(instances.frame_id.to_numpy(), return_inverse=True)
    truth = np.zeros((len(frame_ids), len(group.pairs)), bool)
    truth[frame_index, targets] = True
    return Samples(images, torch.as_tensor(targets), frame_index, truth, skipped)


def cached_detections(run_dir: str | Path, dataset, videos) -> pd.DataFrame:
    """The run's cached detections of these videos; a video the cache lacks is one line saying what to run."""
    cached = DetectionCache(run_dir).videos()
    missing = [v for v in videos if v not in cached]
    if missing:
        raise CascadeError(f"{Path(run_dir) / CACHE_NAME}: --crop on clip-level labels crops the detected boxes, and "
                           f"{len(missing)} training video(s) are not detected yet (first: {missing[0]}); run "
                           f"`cascade detect --data {dataset.source} --run-dir {run_dir}` first")
    return load_detections(run_dir, list(videos))


def with_detected_boxes(instances: pd.DataFrame, detections: pd.DataFrame, group: Group) -> tuple[pd.DataFrame, int]:
    """Clip-level instances with the group's most confident detected box of their frame
    (:func:`~cascade.heads.inputs.best_boxes`), those of frames without one left out; and how many were."""
    boxes = {}
    for video, rows in instances.groupby("video"):
        boxes.update({(video, n): b for n, b in best_boxes(detections, video, group, rows.frame).items()})
    found = np.array([(v, f) in boxes for v, f in zip(instances.video, instances.frame)], bool)
    kept = instances[found].reset_index(drop=True)
    kept["box"] = [boxes[(v, f)] for v, f in zip(kept.video, kept.frame)]
    frames_lost = instances[~found].drop_duplicates(["video", "frame"])
    return kept, len(frames_lost)


def actor_boxes(annotated: dict[int, list[np.ndarray]], key: int, box: np.ndarray,
                window: Window | None) -> dict[int, np.ndarray]:
    """The instance's box by frame: ``box`` in its key frame and, in each annotated frame of its window,
    the group's box that overlaps ``box`` most (:func:`~cascade.heads.inputs.same_actor`)."""
    boxes = {key: box}
    for number in window.around(key) if window else []:
        match = same_actor(box, annotated.get(number, [])) if number != key else None
        if match is not None:
            boxes[number] = match
    return boxes


def train_one_epoch(model: nn.Module, samples: Samples, optimiser, device: torch.device, batch: int,
                    generator: torch.Generator, bar: tqdm, amp: bool = True,
                    order: torch.Tensor | None = None, freeze_bn: bool = False) -> torch.Tensor:
    """One pass over the samples in a seeded order (``order``: sample indices in the order to visit
    them, for callers that must keep samples together in a step); returns the mean loss as a tensor
    on ``device``. ``freeze_bn``: batch norm keeps its (pretrained) running statistics, which batches
    of four frames of one actor would otherwise pull towards theirs.

    Nothing in the loop waits for the GPU (no host copies of losses or constants, no blocking
    transfers), so the host queues steps ahead of the device; the caller reads the loss once.
    """
    model.train()
    if freeze_bn:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
    cuda = device.type == "cuda" and amp
    loss_fn = nn.CrossEntropyLoss()
    total = torch.zeros((), device=device)
    if order is None:
        order = torch.randperm(len(samples.targets), generator=generator)
    if samples.images.is_cuda:  # from pinned memory the copy does not wait for the GPU
        order = order.pin_memory().to(samples.images.device, non_blocking=True)
    for start in range(0, len(order), batch):
        idx = order[start : start + batch]
        x = normalise(samples.images[idx], device, channels_last=cuda)
        y = samples.targets[idx].to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = loss_fn(model(x), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        total += loss.detach() * len(idx)
        bar.update(len(idx))
    return total / max(len(order), 1)


def train_head(
    data,
    run_dir: str | Path = defaults.RUN_DIR,
    *,
    actor: str = "person",
    epochs: int = defaults.EPOCHS,
    batch: int = defaults.BATCH,
    lr: float = defaults.LR,
    imgsz: int = defaults.HEAD_IMGSZ,
    crop: bool = defaults.CROP,
    temporal: str = defaults.TEMPORAL,
    clip_len: int = defaults.CLIP_LEN,
    clip_stride: int = defaults.CLIP_STRIDE,
    backbone: str = defaults.BACKBONE,
    pretrained: str | None = None,
    freeze_bn: bool = defaults.FREEZE_BN,
    val_fraction: float = defaults.VAL_FRACTION,
    split: str = "train",
    device: str = defaults.DEVICE,
    seed: int = defaults.SEED,
    amp: bool = defaults.AMP,
    head: str = defaults.HEAD,
    features: Sequence[str] | None = None,
    window: int = defaults.FEATURE_WINDOW,
    feature_model: str = defaults.FEATURE_MODEL,
    feature_settings: FeatureSettings = FeatureSettings(),
    progress: bool = True,
) -> TrainReport:
    """Train the head of the group that ``actor`` belongs to and save its best epoch.

    ``temporal``: ``none`` (one frame per sample, the seed's) or ``tsm`` (clips of ``clip_len`` frames
    ``clip_stride`` apart around each annotated frame; the clip settings are unused otherwise).
    ``backbone``: a torchvision network (:mod:`cascade.backbones.torchvision_nets`) whose first weights
    ``pretrained`` names (``imagenet``, the default, ``none`` or a state dict file). ``crop`` on clip-level labels
    (which have no boxes) takes the group's most confident detected box in each frame from the run's
    detections cache, as ``predict`` does; frames without one are left out of training and counted.
    ``amp`` (CUDA only): bf16 autocast and channels-last memory; off gives the seed's fp32 steps.
    ``head="features"`` trains instead a light head on the run's features cache (computing what it
    lacks): ``features`` names what it reads, ``window`` how many sampled frames around each labelled
    frame, ``feature_model`` its model (``linear`` or ``mlp``, :mod:`cascade.heads.feature_model`),
    ``feature_settings`` how the features are made (:mod:`cascade.heads.feature_training`; each one left at None is
    the run's: what its features cache records, else the default); the network's flags (backbone, epochs, imgsz,
    crop, temporal ...) are then unused.
    ``split``: the labelled videos it learns from, ``train`` (the default) or ``all`` (a head for videos
    from elsewhere, once its evaluation on the held-out split is done).
    The checkpoint records the arguments exactly as this call received them.
    """
    received = {name: value for name, value in locals().items() if name != "progress"}  # before any other local
    received["feature_settings"] = feature_settings.to_meta()  # plain data, as the checkpoint stores it
    group = find_group(actor)
    if head not in defaults.HEAD_CHOICES:
        raise CascadeError(f"unknown --head {head!r}; valid: {', '.join(defaults.HEAD_CHOICES)}")
    if head == "features":
        unread = [name for name in FINETUNE_ONLY if received[name] != TRAIN_HEAD_DEFAULTS[name]]
        if unread:  # a flag that changes nothing must say so, not pass silently
            log.warning("--head %s does not read %s (flags of --head finetune)", head,
                        ", ".join("--" + name.replace("_", "-") for name in unread))
        settings = FeatureCache(run_dir).resolve(feature_settings)  # what was not given: the run's features'
        kinds = tuple(features) if features else defaults.VIDEO_FEATURE_KINDS if settings.video else defaults.FEATURE_KINDS
        recipe = FeatureRecipe(kinds, window, settings)  # bad --features: one line before any work
        return train_feature_head(open_dataset(data, seed, run_dir), run_dir, group, recipe, model=feature_model,
                                  received=received, val_fraction=val_fraction, seed=seed, split=split,
                                  detect=DetectOptions(device=device), progress=progress)
    if epochs < 1 or batch < 1 or imgsz < 32 or lr <= 0:
        raise CascadeError("--epochs and --batch must be at least 1, --imgsz at least 32, --lr positive")
    window = head_window(temporal, clip_len, clip_stride)
    torch_device = select_device(device)
    backbone_of(backbone)  # an unknown name is one line before any decoding
    dataset = open_dataset(data, seed, run_dir)
    train_frames, val_frames = split_frames(dataset, val_fraction, seed, split)
    train_inst, val_inst = instance_table(train_frames, group), instance_table(val_frames, group)
    if train_inst.empty:
        raise CascadeError(f"{dataset.source}: no training frames show a {group.name}; nothing to train its head on")
    detected, without_box = None, 0
    if crop and dataset.clip_level:
        detected = cached_detections(run_dir, dataset, pd.concat([train_inst, val_inst]).video.unique())
        (train_inst, lost_train), (val_inst, lost_val) = (with_detected_boxes(i, detected, group) for i in (train_inst, val_inst))
        without_box = lost_train + lost_val
        if train_inst.empty:
            raise CascadeError(f"{dataset.source}: no training frame has a detected {group.name} box to crop; "
                               "train without --crop")
    unboxed = boxless(pd.concat([train_inst, val_inst])) if crop else []
    if len(unboxed):  # said here, where the labels' file is known; decode_samples only guards
        raise CascadeError(f"{dataset.source}: --crop needs a box for every label, and the {group.name} of "
                           f"{unboxed.video.iat[0]} frame {unboxed.frame.iat[0]} has none; give its row boxes or "
                           "train without --crop")
    start = time.monotonic()
    decode = functools.partial(decode_samples, group=group, imgsz=imgsz, crop=crop, pad=defaults.CROP_PAD,
                               progress=progress, window=window, detections=detected)
    train = decode(train_inst)
    val = decode(val_inst) if len(val_inst) else None
    decode_seconds = time.monotonic() - start
    if not len(train.targets):
        raise CascadeError(f"{dataset.source}: none of the training videos with a {group.name} could be decoded: "
                           + "; ".join(train.skipped.values()))
    if val is not None and not len(val.targets):
        val = None
    if torch_device.type == "cuda":  # decoded inputs live on the GPU for all epochs
        for samples in filter(None, (train, val)):
            samples.images, samples.targets = samples.images.to(torch_device), samples.targets.to(torch_device)

    torch.manual_seed(seed)
    model, init = build_head(group, pretrained or defaults.PRETRAINED, window, backbone)
    model = model.to(torch_device)
    if torch_device.type == "cuda" and amp:
        model = model.to(memory_format=torch.channels_last)
    optimiser = torch.optim.SGD(model.parameters(), lr=lr, momentum=defaults.MOMENTUM)
    scheduler = torch.optim.lr_scheduler.StepLR(optimiser, step_size=defaults.STEP_EPOCHS, gamma=defaults.GAMMA)
    generator = torch.Generator().manual_seed(seed)
    path = head_path(run_dir, group)
    report = TrainReport(group.name, str(path), init, len(train.targets), 0 if val is None else len(val.targets), 0,
                         frames_per_sample=1 if window is None else window.clip_len,
                         input_mib=sum(s.images.nbytes for s in filter(None, (train, val))) / 2**20,
                         skipped={**train.skipped, **(val.skipped if val is not None else {})},
                         without_box=without_box)
    best_f1 = -1.0
    with tqdm(total=epochs * len(train.targets), desc=f"train {group.name}", unit="img", disable=not progress) as bar:
        for epoch in range(1, epochs + 1):
            epoch_start = time.monotonic()
            loss = float(train_one_epoch(model, train, optimiser, torch_device, batch, generator, bar, amp,
                                         freeze_bn=freeze_bn))
            scheduler.step()
            row = {"epoch": epoch, "loss": loss, "lr": optimiser.param_groups[0]["lr"]}
            if val is not None:
                row.update(zip(("val_p", "val_r", "val_f1"), frame_scores(predict_batches(model, val.images, torch_device), val)))
            row["seconds"] = time.monotonic() - epoch_start
            report.epochs.append(row)
            bar.set_postfix(loss=f"{loss:.3f}", val_f1=f"{row.get('val_f1', float('nan')):.3f}")
            if val is None or row["val_f1"] > best_f1:  # kept on the device: no file written per epoch
                best_f1, best_row = row.get("val_f1", best_f1), row
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    report.best_epoch = best_row["epoch"]
    meta = head_meta(group, HeadInput(imgsz, crop, defaults.CROP_PAD, window), init, received, backbone)
    meta.update(epoch=report.best_epoch, metrics=best_row)
    save_head(path, model, meta)
    report.seconds, report.decode_seconds = time.monotonic() - start, decode_seconds
    report.images_per_s = epochs * len(train.targets) / report.seconds
    return report


#: train_head's arguments that only a fine-tuned network reads, and train_head's defaults.
FINETUNE_ONLY = ("epochs", "batch", "lr", "imgsz", "crop", "temporal", "clip_len", "clip_stride", "backbone",
                 "freeze_bn", "amp")
TRAIN_HEAD_DEFAULTS = {name: p.default for name, p in inspect.signature(train_head).parameters.items()}
