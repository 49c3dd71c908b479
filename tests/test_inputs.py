"""What a head sees, on frames small enough to check pixel by pixel: the padded box, the crop, the
resize and channel order, and the ImageNet normalisation."""

import numpy as np
import pytest
import torch

from cascade.backbones.preprocess import IMAGENET_MEAN, IMAGENET_STD, head_input, normalise, padded_box


@pytest.mark.parametrize("box, pad, expected", [
    ((10.5, 20.5, 30.5, 60.5), 0.1, (8, 16, 33, 65)),  # grown by 2 and 4 px per side, floor left/top, ceil right/bottom
    ((10, 10, 12, 13), 0.0, (10, 10, 12, 13)),  # 2 px wide is kept
    ((10, 10, 13, 12), 0.0, (10, 10, 13, 12)),  # 2 px high is kept
    ((1, 2, 11, 12), 0.5, (0, 0, 16, 17)),  # grown by 5 px: clipped at 0 on the left and top
    ((150, 80, 190, 95), 0.5, (130, 72, 200, 100)),  # clipped at the width and the height
    ((-5, -3, 250, 120), 0.0, (0, 0, 200, 100)),
    ((10, 10, 11, 20), 0.0, (0, 0, 200, 100)),  # 1 px wide: the whole frame instead
    ((10, 10, 20, 11), 0.0, (0, 0, 200, 100)),  # 1 px high: the whole frame instead
])
def test_padded_box_by_hand(box, pad, expected):
    got = padded_box(np.array(box, dtype=np.float32), pad, height=100, width=200)
    assert got == expected and all(type(v) is int for v in got)


def test_the_frame_is_squashed_by_area_and_turned_to_rgb():
    frame = np.zeros((4, 8, 3), np.uint8)  # four 2x4 blocks of one BGR colour each
    frame[:2, :4], frame[:2, 4:], frame[2:, :4], frame[2:, 4:] = (10, 20, 30), (40, 50, 60), (1, 2, 3), (7, 8, 9)
    x = head_input(frame, None, imgsz=2)
    assert x.dtype == torch.uint8 and x.shape == (3, 2, 2)
    assert x.permute(1, 2, 0).tolist() == [[[30, 20, 10], [60, 50, 40]], [[3, 2, 1], [9, 8, 7]]]


def test_a_finite_box_is_padded_and_cropped_before_the_resize():
    frame = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    rgb = frame[:, :, ::-1]
    crop = head_input(frame, np.array([10.0, 20.0, 20.0, 30.0]), imgsz=12)  # default pad 0.1: 1 px per side
    assert crop.permute(1, 2, 0).numpy().tolist() == rgb[19:31, 9:21].tolist()  # 12 x 12: no resampling
    wider = head_input(frame, np.array([10.0, 20.0, 20.0, 30.0]), imgsz=20, pad=0.5)  # 5 px per side
    assert wider.permute(1, 2, 0).numpy().tolist() == rgb[15:35, 5:25].tolist()
    for no_box in (None, np.array([10.0, np.nan, 20.0, 30.0]), np.array([np.inf, 20.0, 20.0, 30.0])):
        whole = head_input(frame[:, :40], no_box, imgsz=40)
        assert whole.permute(1, 2, 0).numpy().tolist() == rgb[:, :40].tolist()


def test_normalise_is_the_imagenet_affine_map_of_pixels_over_255():
    batch = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 3, 1, 1).repeat(2, 1, 2, 3)  # (2, 3, 2, 3)
    out = normalise(batch, "cpu")
    assert out.dtype == torch.float32 and out.shape == (2, 3, 2, 3) and out.is_contiguous()
    expected = [(v / 255 - m) / s for v, m, s in zip((0, 51, 255), IMAGENET_MEAN, IMAGENET_STD)]
    assert out[1, :, 1, 2].tolist() == pytest.approx(expected, rel=1e-6)
    assert (out == out[:, :, :1, :1]).all()  # every pixel of a channel alike
    last = normalise(batch, torch.device("cpu"), channels_last=True)
    assert last.is_contiguous(memory_format=torch.channels_last) and not last.is_contiguous()
    assert torch.equal(last, out)


def test_the_squash_averages_each_area_not_the_nearest_pixels():
    frame = np.zeros((6, 6, 3), np.uint8)
    frame[0, 0] = 90  # one bright pixel in the top-left 3 x 3 block: its mean is 10, its centre 0
    x = head_input(frame, None, imgsz=2)
    assert x.permute(1, 2, 0).tolist() == [[[10] * 3, [0] * 3], [[0] * 3, [0] * 3]]
