"""A head's file: ``RUN/heads/<group>.pt`` holds the weights and what makes them usable and explainable.

Every checkpoint holds ``state_dict`` and ``meta``: the group, its pair ids in output order, the kind
of head (``head``) and what that kind needs to be rebuilt and fed as it was trained (a network head:
backbone and input recipe, :func:`cascade.heads.model.head_meta`; a feature head: the features it reads,
their settings, its model and pair cut, :mod:`cascade.heads.feature_training`), training arguments,
metrics and code version. This module knows no kind: loading (``weights_only=True``) checks the group and
pairs, then asks the registry (:mod:`cascade.heads.kinds`) to build the model and to refuse a head
trained otherwise than the caller expects rather than feed it other inputs. Each head is written
atomically and alone: the other heads' files are never touched.

Example::

    save_head(head_path("runs", group("dog")), model, head_meta(group("dog"), HeadInput(crop=True), "imagenet", args))
    model, meta = load_head(head_path("runs", group("dog")), group("dog"))
"""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import torch
from torch import nn

from cascade.errors import CascadeError
from cascade.fileio import atomic_path
from cascade.heads.kinds import head_kind
from cascade.labels import Group

HEADS_DIR = "heads"


def head_path(run_dir: str | Path, group: Group) -> Path:
    return Path(run_dir) / HEADS_DIR / f"{group.name}.pt"


def save_head(path: str | Path, model: nn.Module, meta: dict) -> Path:
    """Write a checkpoint atomically: the other heads' files are never touched."""
    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    plain_meta = json.loads(json.dumps(meta, default=str))  # only plain types load under weights_only
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state, "meta": plain_meta}, tmp)
    return path


def load_head(path: str | Path, group: Group, device: torch.device | str = "cpu", temporal: str | None = None,
              clip_len: int | None = None, clip_stride: int | None = None) -> tuple[nn.Module, dict]:
    """Load and check a head checkpoint for ``group``; any mismatch is a one-line error. ``temporal``,
    ``clip_len``, ``clip_stride``: what the caller expects the head to have been trained with (None: any;
    a head kind without such settings ignores them)."""
    expected = {"temporal": temporal, "clip_len": clip_len, "clip_stride": clip_stride}
    path = Path(path)
    train = f"`cascade train-head --actor {group.name}`"
    if not path.is_file():
        raise CascadeError(f"{path}: no {group.name} head; run {train}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError):
        checkpoint = None  # PyTorch's own message is about its loader (and weights_only=False), not this file
    if not (isinstance(checkpoint, dict) and isinstance(checkpoint.get("meta"), dict)
            and isinstance(checkpoint.get("state_dict"), dict)):
        raise CascadeError(f"{path}: not a cascade head checkpoint (train-head writes tensors and plain data under "
                           f"'meta' and 'state_dict'); move it away, or replace it with {train}")
    meta, state = checkpoint["meta"], checkpoint["state_dict"]
    if meta.get("group") != group.name:
        raise CascadeError(f"{path}: holds the {meta.get('group')!r} head, not the {group.name!r} head; "
                           f"train it with {train}")
    if list(meta.get("pairs", [])) != list(group.pairs):
        raise CascadeError(f"{path}: its outputs {meta.get('pairs')} are not the {group.name} pairs "
                           f"{list(group.pairs)}; train it again with {train}")
    kind = head_kind(meta)
    problem = kind.check(meta, group, expected)
    if problem:
        raise CascadeError(f"{path}: this {group.name} head {problem}")
    name = kind.describe(meta)
    with torch.device("meta"):  # no random initialisation to overwrite: loading takes 0.1 s, not 1 s
        model = kind.build(meta, group)
    try:
        model.load_state_dict(state, assign=True)
    except (RuntimeError, TypeError, AttributeError):
        raise CascadeError(f"{path}: weights do not fit a {name} {group.name} head ({_misfit(state, model)}); "
                           f"train it again with {train}") from None
    return model.to(device).eval(), meta


def _misfit(state: dict, model: nn.Module) -> str:
    """The first difference between a checkpoint's weights and the model's, in one phrase: PyTorch's
    message lists every key over many lines, and its first line names none."""
    wanted = model.state_dict()
    for name, tensor in wanted.items():
        shape = getattr(state.get(name), "shape", None)
        if shape is None:
            return f"no tensor {name}"
        if tuple(shape) != tuple(tensor.shape):
            return f"{name} is {tuple(shape)}, not {tuple(tensor.shape)}"
    return f"unexpected {next((name for name in state if name not in wanted), 'entries')}"
