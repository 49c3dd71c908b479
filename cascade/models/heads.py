"""Action heads: one torchvision ResNet-34 per detector group, one output per valid pair.

The person head's 13 outputs are the adult and baby pairs, so it also tells adult from baby.
ImageNet weights come from torchvision when it can load them (its own download and cache); when it
cannot, a warning says so and the head starts from random weights. A checkpoint
``RUN/heads/<group>.pt`` holds the weights and the metadata that make it usable and explainable:
group, pair ids in output order, input size, normalisation, crop setting, initialisation, training
arguments, metrics and code version. Loading (``weights_only=True``) checks all of it.

Example::

    model, init = build_head(group("dog"), pretrained="imagenet")
    save_head("runs/heads/dog.pt", model, meta)
    model, meta = load_head("runs/heads/dog.pt", group("dog"))
"""

from __future__ import annotations

import json
import logging
import pickle
import zipfile
from pathlib import Path

import torch
from torch import nn
from torchvision.models import ResNet34_Weights, resnet34

from cascade import __version__
from cascade.defaults import PRETRAINED_CHOICES
from cascade.errors import CascadeError
from cascade.fileio import atomic_path
from cascade.labels import Group
from cascade.models.inputs import IMAGENET_MEAN, IMAGENET_STD, normalise

log = logging.getLogger(__name__)

HEADS_DIR = "heads"


def head_path(run_dir: str | Path, group: Group) -> Path:
    return Path(run_dir) / HEADS_DIR / f"{group.name}.pt"


def build_head(group: Group, pretrained: str = "imagenet") -> tuple[nn.Module, str]:
    """A ResNet-34 with ``len(group.pairs)`` outputs; returns it and how it was initialised."""
    if pretrained not in PRETRAINED_CHOICES:
        raise CascadeError(f"unknown --pretrained {pretrained!r}; valid: {', '.join(PRETRAINED_CHOICES)}")
    model, init = resnet34(weights=None), "random"
    if pretrained == "imagenet":
        try:
            model = resnet34(weights=ResNet34_Weights.IMAGENET1K_V1)
            init = "imagenet"
        except Exception as exc:  # no network, no cached file, or a corrupt download
            log.warning(
                "could not load torchvision's ImageNet ResNet-34 weights (%s); the %s head starts from "
                "RANDOM weights. Put resnet34-b627a593.pth in %s or pass --pretrained none to silence this.",
                _short(exc), group.name, Path(torch.hub.get_dir()) / "checkpoints",
            )
    model.fc = nn.Linear(model.fc.in_features, len(group.pairs))
    return model, init


def _short(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"


def head_meta(group: Group, imgsz: int, crop: bool, crop_pad: float, init: str, args: dict) -> dict:
    """The metadata every checkpoint carries (plain types only, for weights_only loading)."""
    return {
        "group": group.name,
        "pairs": list(group.pairs),
        "imgsz": int(imgsz),
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "crop": bool(crop),
        "crop_pad": float(crop_pad),
        "init": init,
        "args": args,
        "cascade_version": __version__,
        "torch_version": torch.__version__,
    }


def save_head(path: str | Path, model: nn.Module, meta: dict) -> Path:
    """Write a checkpoint atomically: the other heads' files are never touched."""
    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    plain_meta = json.loads(json.dumps(meta, default=str))  # only plain types load under weights_only
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state, "meta": plain_meta}, tmp)
    return path


def load_head(path: str | Path, group: Group, device: torch.device | str = "cpu") -> tuple[nn.Module, dict]:
    """Load and check a head checkpoint for ``group``; any mismatch is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise CascadeError(f"{path}: no {group.name} head; run `cascade train-head --actor {group.name}`")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        meta, state = checkpoint["meta"], checkpoint["state_dict"]
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, KeyError, TypeError) as exc:
        raise CascadeError(f"{path}: not a cascade head checkpoint ({_short(exc)}); train it again") from None
    if meta.get("group") != group.name:
        raise CascadeError(
            f"{path}: holds the {meta.get('group')!r} head, not the {group.name!r} head; "
            f"train it with `cascade train-head --actor {group.name}`"
        )
    if list(meta.get("pairs", [])) != list(group.pairs):
        raise CascadeError(f"{path}: its outputs {meta.get('pairs')} are not the {group.name} pairs {list(group.pairs)}")
    model, _ = build_head(group, pretrained="none")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CascadeError(f"{path}: weights do not fit a ResNet-34 {group.name} head ({_short(exc)})") from None
    return model.to(device).eval(), meta


def predict_batches(model: nn.Module, images: torch.Tensor, device: torch.device, batch: int = 64) -> torch.Tensor:
    """Softmax probabilities for uint8 inputs, in batches, on ``device`` (returned on the CPU)."""
    model.eval()
    cuda = device.type == "cuda"
    out = []
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
        for start in range(0, len(images), batch):
            x = normalise(images[start : start + batch], device, channels_last=cuda)
            out.append(model(x).float().softmax(1))
    return torch.cat(out).cpu() if out else torch.empty(0)  # one copy back: no wait per batch
