"""Backbones and their first weights: torchvision state dict files load strictly but for the classifier,
into each backbone and its temporal version; a file of another backbone is one clear line."""

import hashlib
import logging

import pytest
import torch
from torchvision import models

from cascade.errors import CascadeError
from cascade.backbones.torchvision_nets import classifier
from cascade.heads.inputs import Window
from cascade.heads.model import build_head
from cascade.labels import group
from conftest import SHARED

MOBILENET_FILE = SHARED / "weights" / "mobilenet_v2_imagenet" / "mobilenet_v2_imagenet1001.pt"
TORCHVISION = {"resnet18": models.resnet18, "resnet34": models.resnet34, "mobilenet_v2": models.mobilenet_v2}


@pytest.mark.parametrize("name", list(TORCHVISION))
@pytest.mark.parametrize("window", [None, Window(3, 2)], ids=["frame", "tsm"])
def test_a_state_dict_file_loads_as_its_backbone_but_for_the_classifier(name, window, tmp_path):
    torch.manual_seed(1)
    source = TORCHVISION[name]()  # torchvision's own network, as a user would save it: 1000 classes
    path = tmp_path / f"{name}.pt"
    torch.save(source.state_dict(), path)
    torch.manual_seed(2)  # the head's own random initialisation differs from the file's
    model, init = build_head(group("dog"), str(path), window, name)
    assert init == f"file {path.resolve()} (sha256 {hashlib.sha256(path.read_bytes()).hexdigest()[:16]})"
    last = classifier(model, name)
    assert last.out_features == len(group("dog").pairs) == 7  # a new classifier for the dog's pairs
    kept = model.state_dict()
    replaced = {k for k in kept if k.startswith("fc.") or k.startswith("classifier.1.")}
    assert replaced and all(torch.equal(v, kept[k]) for k, v in source.state_dict().items() if k not in replaced)
    frames = torch.rand(2, 3, 3, 64, 64) if window else torch.rand(2, 3, 64, 64)
    assert model.eval()(frames).shape == (2, 7)


def test_the_shared_imagenet_mobilenet_with_its_background_class_loads(monkeypatch, caplog):
    reference = models.mobilenet_v2(num_classes=1001)
    reference.load_state_dict(torch.load(MOBILENET_FILE, weights_only=True))  # strict: what SOURCES.txt promises
    monkeypatch.setenv("CASCADE_PRETRAINED", str(MOBILENET_FILE.parent))  # a folder: the backbone's file in it
    with caplog.at_level(logging.WARNING):
        model, init = build_head(group("bird"), "imagenet", backbone="mobilenet_v2")
    assert init.startswith(f"file {MOBILENET_FILE.resolve()}") and not caplog.text
    assert torch.equal(model.features[0][0].weight, reference.features[0][0].weight)
    assert classifier(model, "mobilenet_v2").out_features == len(group("bird").pairs)


def test_a_file_of_another_backbone_or_no_state_dict_is_one_line(tmp_path, monkeypatch):
    with pytest.raises(CascadeError) as caught:
        build_head(group("dog"), str(MOBILENET_FILE), backbone="resnet18")
    message = str(caught.value)
    assert message.startswith(f"{MOBILENET_FILE}: not a resnet18 state dict (") and "\n" not in message
    assert "choose the --backbone it was saved from" in message
    small = tmp_path / "small.pt"
    state = models.resnet18().state_dict()
    state["layer1.0.conv1.weight"] = state["layer1.0.conv1.weight"][:, :8]  # the names fit, a shape does not
    torch.save(state, small)
    with pytest.raises(CascadeError, match=r"small.pt: its weights do not fit torchvision's resnet18 \(RuntimeError"):
        build_head(group("dog"), str(small), backbone="resnet18")
    (tmp_path / "notes.pt").write_text("not weights")
    with pytest.raises(CascadeError, match=r"notes.pt: not a torchvision state dict \("):
        build_head(group("dog"), str(tmp_path / "notes.pt"))
    with pytest.raises(CascadeError, match="missing.pt: no such weights file; --pretrained takes imagenet, none or"):
        build_head(group("dog"), str(tmp_path / "missing.pt"))
    monkeypatch.setenv("CASCADE_PRETRAINED", str(tmp_path))
    with pytest.raises(CascadeError, match=r"CASCADE_PRETRAINED names no resnet34 state dict here \(resnet34\*.pt"):
        build_head(group("dog"), "imagenet")
    with pytest.raises(CascadeError, match="unknown --backbone 'vgg'; valid: resnet34, resnet18, mobilenet_v2"):
        build_head(group("dog"), "none", backbone="vgg")
