"""The CUDA paths: run on a machine with a GPU (the device tool here); CI machines have none.

No COCO .pt file exists offline, so the model is YOLO11n built from its YAML with a fixed seed:
the checks compare our GPU steps with Ultralytics' own on identical inputs, which needs no
trained weights.
"""

import numpy as np
import pytest
import torch

from cascade.data import open_dataset
from cascade.data.frames import iter_frames
from cascade.labels import COCO_CLASSES

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    from ultralytics import YOLO

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "yolo11n-random.pt"
    YOLO("yolo11n.yaml", task="detect").save(str(path))
    return path


@pytest.fixture(scope="module")
def gpu_detector(random_weights):
    from cascade.detect.detector import Detector

    return Detector(str(random_weights), imgsz=320, device="cuda")


def _frames(sample_release, video="walk_a", count=8):
    path = sample_release / "clips320H" / f"{video}.mp4"
    return np.stack([f for n, f in iter_frames(path) if n <= count])


def test_gpu_letterbox_matches_ultralytics(gpu_detector, sample_release):
    from ultralytics.data.augment import LetterBox

    frames = _frames(sample_release)
    ours, _ = gpu_detector.preprocess(torch.from_numpy(frames))
    box = LetterBox(gpu_detector.imgsz, auto=True, stride=gpu_detector.stride)
    theirs = np.stack([box(image=f)[:, :, ::-1].transpose(2, 0, 1) for f in frames]) / 255.0
    assert ours.shape == theirs.shape and ours.shape[2] % 32 == 0 and ours.shape[3] == 320
    diff = np.abs(ours.float().cpu().numpy() - theirs) * 255
    assert diff.mean() < 0.5 and diff.max() <= 3  # bilinear on the GPU vs OpenCV's fixed point


def test_gpu_batched_nms_matches_ultralytics(gpu_detector, sample_release):
    from ultralytics.utils.nms import non_max_suppression

    from cascade.detect.detector import batched_nms

    x, _ = gpu_detector.preprocess(torch.from_numpy(_frames(sample_release)))
    prediction = gpu_detector.backend(x)
    prediction = (prediction[0] if isinstance(prediction, (list, tuple)) else prediction).float()
    classes = torch.tensor(COCO_CLASSES, device="cuda")
    best, label = prediction[:, 4:].max(1)
    conf = float(best[torch.isin(label, classes)].quantile(0.5))  # random weights: a threshold with many boxes
    theirs = non_max_suppression(prediction, conf, 0.7, classes=list(COCO_CLASSES), max_det=300)
    image, boxes, scores, labels = batched_nms(prediction, conf, 0.7, classes, 300)
    assert sum(len(t) for t in theirs) > 0
    for i, reference in enumerate(theirs):
        ours = torch.cat([boxes[image == i], scores[image == i, None], labels[image == i, None].float()], 1)
        assert len(ours) == len(reference)
        key = lambda t: t[torch.argsort(t[:, 4] * 1e4 + t[:, 0], descending=True)]
        assert torch.allclose(key(ours), key(reference), atol=1e-3)


def test_detect_on_gpu_covers_every_frame(gpu_detector, sample_release, tmp_path):
    from cascade.detect import DetectOptions, detect_videos, load_detections

    videos = dict(list(open_dataset(sample_release).video_paths().items())[:4])
    report = detect_videos(videos, tmp_path, DetectOptions(workers=2), detector=gpu_detector, progress=False)
    assert report.videos_done == 4 and not report.failed
    per_video = load_detections(tmp_path).groupby("video").frame.nunique()
    for video, path in videos.items():
        assert per_video[video] == sum(1 for _ in iter_frames(path))


@pytest.mark.parametrize("temporal", ["none", "tsm"])
def test_head_trains_on_gpu_with_bf16(sample_release, tmp_path, temporal):
    from cascade.labels import group
    from cascade.heads.checkpoint import load_head
    from cascade.heads.training import train_head

    report = train_head(sample_release, tmp_path, actor="dog", head="finetune", epochs=2, batch=8, imgsz=96, pretrained="none",
                        device="cuda", val_fraction=0.5, temporal=temporal, clip_len=4, progress=False)
    assert report.val_samples > 0 and len(report.epochs) == 2
    model, meta = load_head(report.file, group("dog"), "cuda")
    assert meta["args"]["amp"] is True and meta["temporal"] == temporal and next(model.parameters()).is_cuda


@pytest.mark.parametrize("clip_len", [None, 4])
def test_training_steps_never_wait_for_the_gpu(sample_release, clip_len):
    """The host queues steps ahead of the device: any blocking call inside an epoch is an error. A TSM
    head's clips reach it as channels-last frames."""
    from tqdm import tqdm

    from cascade.labels import group
    from cascade.heads.model import build_head
    from cascade.backbones.preprocess import normalise
    from cascade.heads.inputs import Window
    from cascade.heads.training import decode_samples, instance_table, split_frames, train_one_epoch

    window = Window(clip_len, 2) if clip_len else None
    frames, _ = split_frames(open_dataset(sample_release), 0.0, seed=0)
    samples = decode_samples(instance_table(frames, group("dog")), group("dog"), 64, False, 0.1, progress=False,
                             window=window)
    samples.images, samples.targets = samples.images.cuda(), samples.targets.cuda()
    assert normalise(samples.images[:2], torch.device("cuda"), channels_last=True).flatten(0, -4).is_contiguous(
        memory_format=torch.channels_last)
    model = build_head(group("dog"), "none", window)[0].cuda().to(memory_format=torch.channels_last)
    optimiser = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    generator = torch.Generator().manual_seed(0)
    bar = tqdm(disable=True)
    train_one_epoch(model, samples, optimiser, torch.device("cuda"), 8, generator, bar)  # lazy library set-up
    torch.cuda.set_sync_debug_mode("error")
    try:
        loss = train_one_epoch(model, samples, optimiser, torch.device("cuda"), 8, generator, bar)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(loss).item()
