"""Appearance: the pooled embedding of a pretrained backbone, for whole frames and actor boxes.

The backbone is the action heads' own (:mod:`cascade.backbones.torchvision_nets`: the same names, the same
weights and their sha256), its classifier removed, so what comes out is the global-average-pooled
last feature map (1280 numbers for MobileNetV2, 512 for a ResNet). Boxes are padded as crop heads
pad them and squashed to the same square (:func:`~cascade.backbones.preprocess.head_input`), so a features
head sees what a crop head would.

Example::

    embedder = Embedder(FeatureSettings().resolved())      # the defaults; a run's: FeatureCache(run).resolve(...)
    vectors = embedder([(frame, None), (frame, box)])      # (2, 1280) float32
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from cascade import defaults
from cascade.features.settings import FeatureSettings
from cascade.backbones.preprocess import head_input, normalise
from cascade.backbones.torchvision_nets import backbone, build_network, weights_file


class Embedder:
    """A backbone without its classifier, in evaluation mode on the CPU (``device``: elsewhere)."""

    def __init__(self, settings: FeatureSettings, device: torch.device | str = "cpu", batch: int = 32) -> None:
        model, self.init = build_network(settings.feature_backbone, settings.pretrained, 1, who="the features'")
        self.weights_file = weights_file(settings.feature_backbone, settings.pretrained)
        path, last = backbone(settings.feature_backbone).classifier.rpartition(".")[::2]
        setattr(model.get_submodule(path) if path else model, last, nn.Identity())
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.settings, self.batch = settings, batch

    def __call__(self, crops: Sequence[tuple[np.ndarray, np.ndarray | None]]) -> np.ndarray:
        """(frame, box or None for the whole frame) pairs -> (N, D) float32 embeddings."""
        out = []
        with torch.inference_mode():
            for start in range(0, len(crops), self.batch):
                images = torch.stack([head_input(frame, box, self.settings.imgsz, defaults.CROP_PAD)
                                      for frame, box in crops[start : start + self.batch]])
                out.append(self.model(normalise(images, self.device)).float().cpu().numpy())
        return np.concatenate(out) if out else np.empty((0, 0), np.float32)
