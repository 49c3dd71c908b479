"""The frames a temporal head sees around a key frame (cascade.heads.inputs), by hand: the window,
the frames to decode, clamping at the video's ends, and which box each frame of a window shows."""

import numpy as np
import pytest
import torch

from cascade.errors import CascadeError
from cascade.backbones.preprocess import head_input
from cascade.heads.inputs import (HeadInput, Window, best_boxes, check_window, frames_needed, head_sample,
                                  head_window, same_actor, window_settings)
from cascade.labels import group


def test_a_window_puts_the_key_frame_in_the_middle_and_stops_at_frame_1():
    assert Window(4, 2).around(10) == [6, 8, 10, 12]  # the key at index 4 // 2
    assert Window(3, 1).around(1) == [1, 1, 2]
    assert Window(8, 2).around(40) == [32, 34, 36, 38, 40, 42, 44, 46]
    assert Window(1, 5).around(7) == [7]


def test_frames_needed_are_the_union_of_the_windows_sorted():
    assert frames_needed([12, 10], Window(3, 2)) == [8, 10, 12, 14]  # [8, 10, 12] and [10, 12, 14]
    assert frames_needed(iter([5, 3, 5]), None) == [3, 5]  # a single-frame head: the keys themselves


def _frames(count=6):
    return {n: np.full((8, 8, 3), 30 * n, np.uint8) for n in range(1, count + 1)}


def test_a_window_past_the_last_decoded_frame_repeats_it():
    frames = _frames()
    clip = head_sample(frames, 5, {}, 8, 0.1, Window(3, 2))  # frames 3, 5, 7 -> 3, 5, 6
    assert clip.shape == (3, 3, 8, 8) and clip[:, 0, 0, 0].tolist() == [90, 150, 180]
    single = head_sample(frames, 2, {}, 8, 0.1, None)
    assert single.shape == (3, 8, 8) and torch.equal(single, head_input(frames[2], None, 8))


def test_a_single_frame_head_sees_the_key_frame_s_padded_box():
    frame = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    boxes = {2: np.array([10.0, 20.0, 20.0, 30.0]), 3: np.array([0.0, 0.0, 50.0, 40.0])}
    x = head_sample({2: frame}, 2, boxes, 20, 0.5, None)  # 5 px per side: rows 15-34, columns 5-24, no resampling
    assert x.permute(1, 2, 0).numpy().tolist() == frame[15:35, 5:25, ::-1].tolist()


def test_each_frame_of_a_window_shows_its_own_box_else_the_key_frame_s():
    frames = {n: np.random.default_rng(n).integers(0, 256, (40, 40, 3), dtype=np.uint8) for n in (1, 2, 3)}
    key_box, own_box = np.array([10.0, 10.0, 20.0, 20.0]), np.array([0.0, 0.0, 30.0, 30.0])
    clip = head_sample(frames, 2, {2: key_box, 3: own_box}, 12, 0.0, Window(3, 1))
    assert torch.equal(clip[0], head_input(frames[1], key_box, 12, 0.0))  # frame 1 has no box
    assert torch.equal(clip[1], head_input(frames[2], key_box, 12, 0.0))
    assert torch.equal(clip[2], head_input(frames[3], own_box, 12, 0.0))


@pytest.mark.parametrize("a, b, overlaps", [
    ((0, 0, 2, 2), (1, 1, 3, 3), True),
    ((0, 0, 2, 2), (2, 0, 4, 2), False),  # touching edges
    ((0, 0, 2, 2), (5, 5, 6, 6), False),
    ((1, 1, 1, 1), (1, 1, 1, 1), False),  # no area: no union
    ((0, 0, 2, 2), (0, 5, 2, 7), False),  # side by side vertically: no height in common
    ((0, 0, 0.5, 0.5), (0, 0, 0.5, 0.5), True),  # small boxes are boxes too
])
def test_same_actor_needs_a_box_that_overlaps(a, b, overlaps):
    key, other = np.array(a, float), np.array(b, float)
    assert (same_actor(key, [other]) is other) == overlaps
    assert (same_actor(other, [key]) is key) == overlaps


def test_same_actor_is_the_box_that_overlaps_the_key_box_most():
    key = np.array([0.0, 0.0, 10.0, 10.0])
    near, far, off = np.array([2.0, 2.0, 12.0, 12.0]), np.array([8.0, 8.0, 18.0, 18.0]), np.array([50.0, 50, 60, 60])
    assert same_actor(key, [far, near, off]) is near
    assert same_actor(key, [off]) is None and same_actor(key, []) is None
    # most by intersection over union, not by intersection: a box holding the key box overlaps it little
    around = np.array([0.0, 0.0, 100.0, 100.0])
    assert same_actor(key, [around, near]) is near and same_actor(key, [around]) is around


def test_temporal_settings_that_cannot_work_are_one_line_each():
    check_window(None, None, None)  # nothing asked: nothing to check
    check_window("tsm", 8, 2)
    with pytest.raises(CascadeError, match=r"^unknown --temporal 'lstm'; valid: none, tsm$"):
        check_window("lstm", None, None)
    for clip_len, clip_stride in ((0, 2), (8, 0), (-1, None)):
        with pytest.raises(CascadeError, match=rf"^--clip-len and --clip-stride must be at least 1, got {clip_len} and "
                                               rf"{clip_stride}$"):
            check_window(None, clip_len, clip_stride)
    assert head_window("none", 8, 2) is None and head_window("tsm", 4, 3) == Window(4, 3)
    with pytest.raises(CascadeError, match="--clip-len"):
        head_window("tsm", 0, 3)


def test_the_recipe_goes_to_a_checkpoint_and_back_unchanged():
    assert window_settings(None) == {"temporal": "none", "clip_len": 1, "clip_stride": 1}
    assert window_settings(Window(4, 3)) == {"temporal": "tsm", "clip_len": 4, "clip_stride": 3}
    recipe = HeadInput(96, True, 0.25, Window(4, 3))
    meta = recipe.to_meta()
    assert meta == {"imgsz": 96, "crop": True, "crop_pad": 0.25, "temporal": "tsm", "clip_len": 4, "clip_stride": 3}
    assert all(type(meta[k]) is t for k, t in (("imgsz", int), ("crop", bool), ("crop_pad", float)))
    assert HeadInput.from_meta(meta) == recipe and HeadInput.from_meta(HeadInput().to_meta()) == HeadInput()
    assert HeadInput() == HeadInput(224, False, 0.1, None)  # the seed's: whole 224 px frames
    # a checkpoint from before temporal heads has no window entries: a single-frame head; JSON numbers are cast
    old = HeadInput.from_meta({"imgsz": "64", "crop": 0, "crop_pad": "0.1", "group": "dog"})
    assert old == HeadInput(64, False, 0.1, None) and type(old.imgsz) is int and type(old.crop) is bool


def test_the_recipe_feeds_boxes_only_to_a_crop_head():
    frames = {n: np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3) + n for n in range(1, 7)}
    boxes = {3: np.array([2.0, 2.0, 6.0, 6.0])}
    whole, crop = HeadInput(4, False, 0.0), HeadInput(4, True, 0.0)
    assert torch.equal(whole.sample(frames, 3, boxes), head_input(frames[3], None, 4))
    assert torch.equal(crop.sample(frames, 3, boxes), head_input(frames[3], boxes[3], 4, 0.0))
    assert not torch.equal(crop.sample(frames, 3, boxes), whole.sample(frames, 3, boxes))
    temporal = HeadInput(4, True, 0.0, Window(3, 2))
    assert temporal.frames_needed([3]) == [1, 3, 5] and whole.frames_needed([5, 3]) == [3, 5]
    assert torch.equal(temporal.sample(frames, 3, boxes), head_sample(frames, 3, boxes, 4, 0.0, Window(3, 2)))


def test_best_boxes_are_the_group_s_most_confident_per_frame():
    import pandas as pd

    rows = [  # video, frame, cls, conf, box: the dog is COCO 16, the cat 15
        ("v", 1, 16, 0.4, (0, 0, 10, 10)), ("v", 1, 16, 0.9, (1, 1, 11, 11)), ("v", 1, 15, 0.99, (2, 2, 12, 12)),
        ("v", 2, 16, 0.3, (3, 3, 13, 13)), ("w", 2, 16, 0.95, (4, 4, 14, 14)), ("v", 3, 16, 0.8, (5, 5, 15, 15)),
        ("v", 4, -1, 0.0, (0, 0, 0, 0)),
    ]
    detections = pd.DataFrame([(v, f, c, s, *b) for v, f, c, s, b in rows],
                              columns=["video", "frame", "cls", "conf", "x1", "y1", "x2", "y2"])
    found = best_boxes(detections, "v", group("dog"), [1, 2, 4])  # frame 3 not asked for, 4 has no dog
    assert sorted(found) == [1, 2]
    assert found[1].tolist() == [1, 1, 11, 11] and found[2].tolist() == [3, 3, 13, 13]
    assert best_boxes(detections, "v", group("cat"), iter([1, 2])) == {1: pytest.approx(np.array([2, 2, 12, 12]))}
