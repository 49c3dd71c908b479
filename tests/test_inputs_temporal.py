"""The frames a temporal head sees around a key frame (cascade.heads.inputs), by hand: the window,
the frames to decode, clamping at the video's ends, and which box each frame of a window shows."""

import numpy as np
import pytest
import torch

from cascade.heads.inputs import Window, frames_needed, head_input, head_sample, same_actor


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
