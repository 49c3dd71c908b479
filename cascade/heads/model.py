"""The action head's network: a torchvision backbone per detector group, one output per valid pair.

The person head's 13 outputs are the adult and baby pairs, so it also tells adult from baby. The
backbone (ResNet-34 by default, the design's) and its first weights come from
:mod:`cascade.backbones.torchvision_nets`; a temporal head (``tsm``, :mod:`cascade.backbones.temporal`) is the same
network with parameter-free shifts, loads the same weights and takes clips (N, T, 3, S, S).

Example::

    model, init = build_head(group("dog"), "imagenet", Window(clip_len=8, clip_stride=2), backbone="mobilenet_v2")
    probs = predict_batches(model, images, torch.device("cpu"))     # (N, 7) softmax over the dog pairs
"""

from __future__ import annotations

import torch
from torch import nn

from cascade import __version__, defaults
from cascade.backbones.preprocess import IMAGENET_MEAN, IMAGENET_STD, normalise
from cascade.backbones.torchvision_nets import build_network
from cascade.heads.inputs import HeadInput, Window, window_settings
from cascade.labels import Group


def build_head(group: Group, pretrained: str = defaults.PRETRAINED, window: Window | None = None,
               backbone: str = defaults.BACKBONE) -> tuple[nn.Module, str]:
    """The ``backbone`` with ``len(group.pairs)`` outputs, temporal over clips of ``window.clip_len`` frames
    when a window is given, first weights as ``pretrained`` says; returns it and where its weights came from."""
    return build_network(backbone, pretrained, len(group.pairs), None if window is None else window.clip_len, who=f"the {group.name}")


def head_meta(group: Group, recipe: HeadInput, init: str, args: dict, backbone: str = defaults.BACKBONE) -> dict:
    """The metadata a network head's checkpoint carries (plain types only, for weights_only loading). A
    single-frame head records ``temporal`` none and a window of one frame; ``init`` says where the
    backbone's first weights came from."""
    return {
        "group": group.name,
        "pairs": list(group.pairs),
        "head": "finetune",
        "backbone": backbone,
        **recipe.to_meta(),
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "init": init,
        "args": args,
        "cascade_version": __version__,
        "torch_version": torch.__version__,
    }


def checkpoint_backbone(meta: dict) -> str:
    """The checkpoint's backbone; checkpoints saved before backbones could be chosen are ResNet-34s."""
    return str(meta.get("backbone", "resnet34"))


def build_from_meta(meta: dict, group: Group) -> nn.Module:
    """An untrained network shaped as a checkpoint's ``meta`` says (to load its weights into)."""
    model, _ = build_head(group, "none", HeadInput.from_meta(meta).window, checkpoint_backbone(meta))
    return model


def unexpected_window(meta: dict, group: Group, expected: dict) -> str | None:
    """Why a head cannot be used as the caller's flags expect (None: it can): a head trained otherwise
    is refused rather than fed other inputs. ``expected``: temporal, clip_len, clip_stride (None: any)."""
    trained = window_settings(HeadInput.from_meta(meta).window)
    differ = [name for name, value in expected.items() if value is not None and value != trained[name]]

    def flags(values: dict) -> str:
        return " ".join(f"--{name.replace('_', '-')} {values[name]}" for name in differ)

    if not differ:
        return None
    return (f"was trained with {flags(trained)}, not {flags(expected)}; leave those flags out to use it as "
            f"trained, or retrain it with `cascade train-head --actor {group.name} {flags(expected)}`")


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
