"""Action heads: one torchvision ResNet-34 per detector group, one output per valid pair.

The person head's 13 outputs are the adult and baby pairs, so it also tells adult from baby.
ImageNet weights come from torchvision when it can load them (its own download and cache); when it
cannot, a warning says so and the head starts from random weights. A checkpoint
``RUN/heads/<group>.pt`` holds the weights and the metadata that make it usable and explainable:
group, pair ids in output order, input size, normalisation, crop setting, temporal setting and
window, initialisation, training arguments, metrics and code version. Loading (``weights_only=True``)
checks all of it. A temporal head (``tsm``, :mod:`cascade.models.temporal`) is the same ResNet-34
with parameter-free shifts: it loads the same ImageNet weights and takes clips (N, T, 3, S, S).

Example::

    model, init = build_head(group("dog"), pretrained="imagenet", window=Window(clip_len=8, clip_stride=2))
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
from cascade.defaults import PRETRAINED_CHOICES, TEMPORAL_CHOICES
from cascade.errors import CascadeError
from cascade.fileio import atomic_path
from cascade.labels import Group
from cascade.models.inputs import IMAGENET_MEAN, IMAGENET_STD, Window, normalise
from cascade.models.temporal import TSMResNet

log = logging.getLogger(__name__)

HEADS_DIR = "heads"


def head_path(run_dir: str | Path, group: Group) -> Path:
    return Path(run_dir) / HEADS_DIR / f"{group.name}.pt"


def build_head(group: Group, pretrained: str = "imagenet", window: Window | None = None) -> tuple[nn.Module, str]:
    """A ResNet-34 with ``len(group.pairs)`` outputs, with temporal shifts over clips of
    ``window.clip_len`` frames for a temporal head; returns it and how it was initialised."""
    if pretrained not in PRETRAINED_CHOICES:
        raise CascadeError(f"unknown --pretrained {pretrained!r}; valid: {', '.join(PRETRAINED_CHOICES)}")
    model, init = (resnet34() if window is None else TSMResNet(window.clip_len)), "random"
    if pretrained == "imagenet":
        try:  # the plain ResNet-34's weights: TSM adds and renames no parameter
            model.load_state_dict(ResNet34_Weights.IMAGENET1K_V1.get_state_dict(progress=True, check_hash=True))
            init = "imagenet"
        except Exception as exc:  # no network, no cached file, or a corrupt download
            log.warning(
                "could not load torchvision's ImageNet ResNet-34 weights (%s); the %s head starts from "
                "RANDOM weights. Put resnet34-b627a593.pth in %s or pass --pretrained none to silence this.",
                _short(exc), group.name, Path(torch.hub.get_dir()) / "checkpoints",
            )
    model.fc = nn.Linear(model.fc.in_features, len(group.pairs))
    return model, init


def head_window(temporal: str, clip_len: int, clip_stride: int) -> Window | None:
    """The window a head with these settings sees: None for a single-frame head, whose clip settings
    are then unused."""
    check_window(temporal, clip_len, clip_stride)
    return None if temporal == "none" else Window(clip_len, clip_stride)


def check_window(temporal: str | None, clip_len: int | None, clip_stride: int | None) -> None:
    """One line for temporal settings that cannot work (None: not given)."""
    if temporal is not None and temporal not in TEMPORAL_CHOICES:
        raise CascadeError(f"unknown --temporal {temporal!r}; valid: {', '.join(TEMPORAL_CHOICES)}")
    if any(value is not None and value < 1 for value in (clip_len, clip_stride)):
        raise CascadeError(f"--clip-len and --clip-stride must be at least 1, got {clip_len} and {clip_stride}")


def window_settings(window: Window | None) -> dict:
    """The settings a checkpoint records for its window: a single-frame head sees one frame."""
    if window is None:
        return {"temporal": "none", "clip_len": 1, "clip_stride": 1}
    return {"temporal": "tsm", "clip_len": window.clip_len, "clip_stride": window.clip_stride}


def checkpoint_window(meta: dict) -> Window | None:
    """The window a checkpoint's head was trained on; checkpoints saved before temporal heads existed
    have no ``temporal`` entry and are single-frame heads."""
    return head_window(meta.get("temporal", "none"), int(meta.get("clip_len", 1)), int(meta.get("clip_stride", 1)))


def _short(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"


def head_meta(group: Group, imgsz: int, crop: bool, crop_pad: float, init: str, args: dict,
              window: Window | None = None) -> dict:
    """The metadata every checkpoint carries (plain types only, for weights_only loading). A
    single-frame head (no ``window``) records ``temporal`` none and a window of one frame."""
    return {
        "group": group.name,
        "pairs": list(group.pairs),
        "imgsz": int(imgsz),
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "crop": bool(crop),
        "crop_pad": float(crop_pad),
        **window_settings(window),
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


def load_head(path: str | Path, group: Group, device: torch.device | str = "cpu", temporal: str | None = None,
              clip_len: int | None = None, clip_stride: int | None = None) -> tuple[nn.Module, dict]:
    """Load and check a head checkpoint for ``group``; any mismatch is a one-line error. ``temporal``,
    ``clip_len``, ``clip_stride``: what the caller expects the head to have been trained with (None: any)."""
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
    window = checkpoint_window(meta)
    _check_expected(path, group, window, {"temporal": temporal, "clip_len": clip_len, "clip_stride": clip_stride})
    with torch.device("meta"):  # no random initialisation to overwrite: loading takes 0.1 s, not 1 s
        model, _ = build_head(group, "none", window)
    try:
        model.load_state_dict(state, assign=True)
    except (RuntimeError, TypeError, AttributeError):
        raise CascadeError(f"{path}: weights do not fit a ResNet-34 {group.name} head ({_misfit(state, model)}); "
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


def _check_expected(path: Path, group: Group, window: Window | None, expected: dict) -> None:
    """Refuse a head trained otherwise than the caller's flags say, rather than feed it other inputs."""
    trained = window_settings(window)
    differ = [name for name, value in expected.items() if value is not None and value != trained[name]]

    def flags(values: dict) -> str:
        return " ".join(f"--{name.replace('_', '-')} {values[name]}" for name in differ)

    if differ:
        raise CascadeError(
            f"{path}: this {group.name} head was trained with {flags(trained)}, not {flags(expected)}; "
            f"leave those flags out to use it as trained, or retrain it with "
            f"`cascade train-head --actor {group.name} {flags(expected)}`"
        )


def predict_batches(model: nn.Module, images: torch.Tensor, device: torch.device, batch: int = 64) -> torch.Tensor:
    """Softmax probabilities for uint8 frames (N, 3, S, S) or clips (N, T, 3, S, S), about ``batch``
    frames per pass, on ``device`` (returned on the CPU)."""
    model.eval()
    cuda = device.type == "cuda"
    step = max(1, batch // images.shape[1]) if images.dim() == 5 else batch
    out = []
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
        for start in range(0, len(images), step):
            x = normalise(images[start : start + step], device, channels_last=cuda)
            out.append(model(x).float().softmax(1))
    return torch.cat(out).cpu() if out else torch.empty(0)  # one copy back: no wait per batch
