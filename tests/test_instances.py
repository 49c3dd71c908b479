"""Actor instances over time: tracks that keep their actors, segments that follow the smoothing rule,
instances in predict's JSON, and the instance score, on hand-made cases worked out in the comments and
on a real clip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cascade.instances.scoring import instance_score
from cascade.instances.timeline import segments, smooth_labels, viterbi
from cascade.instances.tracking import TrackSettings, video_tracks
from conftest import SHARED, WEIGHTS, run_cli

POSE = SHARED / "weights" / "yolov8n-pose_int8_openvino_model"
TINY_FLAGS = ["--every", "4", "--pretrained", "none", "--feature-imgsz", "32", "--pose-weights", POSE, "--device", "cpu"]


def crossing_people(frames: int = 12) -> pd.DataFrame:
    """Two people crossing: A walks right 10 px a frame, B walks left, B a little lower; they overlap most at
    frame 6 (A at x 60-90, B at 60-90). The detector lists B first on odd frames."""
    rows = []
    for n in range(1, frames + 1):
        a = (10 + 10 * (n - 1), 0, 40 + 10 * (n - 1), 100)
        b = (110 - 10 * (n - 1), 20, 140 - 10 * (n - 1), 120)
        for box in ((b, a) if n % 2 else (a, b)):
            rows.append(("v", n, 0, 0.9, *box))
    return pd.DataFrame(rows, columns=["video", "frame", "cls", "conf", "x1", "y1", "x2", "y2"])


@pytest.mark.parametrize("method", ["iou", "bytetrack", "botsort"])
def test_two_crossing_people_keep_their_ids(method):
    tracks = video_tracks(crossing_people(), TrackSettings(method=method, min_frames=1))
    walking_right = tracks[tracks.x1.diff().groupby(tracks.track).transform("mean").fillna(0) > 0]
    assert tracks.track.nunique() == 2, tracks
    for _, track in tracks.groupby("track"):
        moves = np.sign(np.diff(track.sort_values("frame").x1.to_numpy()))
        assert len(set(moves)) == 1, f"{method}: a track changed actor at the crossing: {track}"
    assert len(walking_right.track.unique()) == 1


def test_short_gaps_are_joined_and_flickers_dropped():
    boxes = crossing_people().query("y1 == 0")  # A alone, 12 frames
    empty = pd.DataFrame([("v", n, -1, 0.0, 0, 0, 0, 0) for n in (5, 6)], columns=boxes.columns)  # as the cache
    missed = pd.concat([boxes[~boxes.frame.isin([5, 6])], empty])  # the detector missed A twice: one actor still
    flicker = pd.DataFrame([("v", 9, 0, 0.9, 300, 300, 330, 400)], columns=boxes.columns)  # a box seen once
    tracks = video_tracks(pd.concat([missed, flicker]), TrackSettings(method="iou", max_gap=2, min_frames=3))
    assert tracks.track.nunique() == 1 and len(tracks) == 10 and tracks.x1.max() < 300
    apart = video_tracks(missed, TrackSettings(method="iou", max_gap=1, min_frames=3))
    assert apart.track.nunique() == 2  # a gap of two frames is longer than --track-max-gap 1


def test_segments_follow_the_smoothing_rule():
    # five key frames of a two-pair head: pair 0 throughout but for a blip of pair 1 at the third key
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.85, 0.15], [0.9, 0.1]])
    assert smooth_labels(probs, "none").tolist() == [0, 0, 1, 0, 0]
    assert smooth_labels(probs, "median", window=3).tolist() == [0, 0, 0, 0, 0]
    # viterbi: switching to 1 and back costs 2 x switch_cost; it gains log(0.7 / 0.3) = 0.85 at the blip
    assert smooth_labels(probs, "viterbi", switch_cost=0.4).tolist() == [0, 0, 1, 0, 0]  # 0.8 < 0.85: it switches
    assert smooth_labels(probs, "viterbi", switch_cost=0.5).tolist() == [0, 0, 0, 0, 0]  # 1.0 > 0.85: it stays
    # keys at frames 5, 13, 21, 29, 37 of an instance seen from frame 1 to 40 at 10 fps: each key spans from
    # half-way to its neighbours, the first from frame 1, the last to the end of frame 40 (4.0 s)
    found = segments(np.array([0, 0, 1, 0, 0]), probs, [5, 13, 21, 29, 37], 1, 40, 10.0, ["dog-running", "dog-jumping"])
    assert [(s["label"], s["start_s"], s["end_s"]) for s in found] == [
        ("dog-running", 0.0, 1.6), ("dog-jumping", 1.6, 2.4), ("dog-running", 2.4, 4.0)]
    assert found[0]["confidence"] == pytest.approx(0.85) and found[1]["confidence"] == pytest.approx(0.7)
    assert viterbi(np.log(probs), 0.0).tolist() == probs.argmax(1).tolist()  # no cost: each key's best


def test_the_instance_score_on_a_case_with_one_switch():
    box_a, box_b = (0, 0, 10, 10), (100, 0, 110, 10)
    truth = pd.DataFrame([("v", f, i, p, *b) for f in (1, 2, 3) for i, p, b in ((1, 77, box_a), (2, 18, box_b))],
                         columns=["video", "frame", "id", "pair", "x1", "y1", "x2", "y2"])
    # the tracker follows actor 1 with track 7 on frames 1-2 and track 8 on frame 3 (one switch); actor 2 is
    # found on frames 1-2 only; a false box appears on frame 3; actor 1's action is wrong on frame 2
    found = pd.DataFrame([("v", 1, 7, 77, *box_a), ("v", 2, 7, 75, *box_a), ("v", 3, 8, 77, *box_a),
                          ("v", 1, 9, 18, *box_b), ("v", 2, 9, 18, *box_b), ("v", 3, 5, 18, 300, 300, 310, 310)],
                         columns=["video", "frame", "track", "pair", "x1", "y1", "x2", "y2"])
    score = instance_score(truth, found)
    # 6 labelled instances, 6 track boxes; matched 5 (actor 2 has no box on frame 3); right pair on 4 of them
    assert (score["labelled"], score["track_boxes"], score["matched"], score["hits"]) == (6, 6, 5, 4)
    assert (score["misses"], score["false_alarms"], score["id_switches"]) == (2, 2, 1)
    assert score["precision"] == pytest.approx(4 / 6) and score["recall"] == pytest.approx(4 / 6)
    assert score["f1"] == pytest.approx(4 / 6)


def test_predict_json_lists_instances_inside_the_frame_and_the_video(run_copy, sample_release, capsys, tmp_path):
    code, _, err = run_cli(capsys, "train-head", "--data", sample_release, "--run-dir", run_copy, "--actor", "adult",
                           *TINY_FLAGS, "--json")
    assert code == 0, err
    video = sample_release / "clips320H" / "walk_b.mp4"  # pedestrians crossing a square
    code, out, err = run_cli(capsys, "predict", video, "--run-dir", run_copy, "--json", "--device", "cpu",
                             "--weights", WEIGHTS, "--save", tmp_path / "pictures")
    assert code == 0, err
    result = json.loads(out)
    import cv2

    capture = cv2.VideoCapture(str(video))
    width, height = capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
    seconds = capture.get(cv2.CAP_PROP_FRAME_COUNT) / capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    people = [i for i in result["instances"] if i["group"] == "person"]
    assert len(people) >= 2 and len({i["track"] for i in people}) == len(people)  # several pedestrians, one id each
    for instance in people:
        assert 0 <= instance["start_s"] < instance["end_s"] <= seconds + 1e-6
        assert instance["actions"] and instance["actions"][0]["start_s"] == instance["start_s"]
        assert instance["actions"][-1]["end_s"] == instance["end_s"]
        assert all(a["label"].split("-")[0] in ("adult", "baby") for a in instance["actions"])
        for box in instance["boxes"]:
            x1, y1, x2, y2 = box["box"]
            assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
            assert instance["start_s"] <= box["time_s"] <= instance["end_s"]
    assert (tmp_path / "pictures" / "walk_b.png").is_file()


INSTANCES = pd.read_csv(__import__("pathlib").Path(__file__).parent / "data" / "instances.csv", dtype=str,
                        keep_default_na=False)


def test_the_hand_labelled_instances_are_well_formed(tmp_path):
    import cv2

    from cascade.data import open_dataset
    from conftest import CLIPS

    csv = tmp_path / "instances.csv"
    INSTANCES.assign(video=[str(CLIPS / v) for v in INSTANCES.video]).to_csv(csv, index=False)
    frames = open_dataset(csv).labelled_frames("all")  # parses every row: pairs valid, boxes and ids one per label
    assert frames.video.nunique() >= 20 and sum(map(len, frames.instance_ids)) >= 1000
    assert not frames.duplicated(["video", "frame"]).any()
    for video, rows in frames.groupby("video"):
        capture = cv2.VideoCapture(rows.path.iat[0])
        width, height = capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
        declared = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        capture.release()
        assert rows.frame.max() <= declared, video
        actor_of_id: dict[int, str] = {}
        for row in rows.itertuples():
            assert len(set(row.instance_ids)) == len(row.instance_ids), (video, row.frame)  # an id once per frame
            for box, pair, ident in zip(row.boxes, row.instance_pairs, row.instance_ids):
                assert 0 <= box[0] < box[2] <= width and 0 <= box[1] < box[3] <= height, (video, row.frame, box)
                assert actor_of_id.setdefault(int(ident), pair // 10) == pair // 10, (video, ident)  # one actor per id


def test_evaluate_scores_instances_against_labelled_boxes(run_copy, sample_release, capsys, tmp_path):
    from conftest import CLIPS

    code, _, err = run_cli(capsys, "train-head", "--data", sample_release, "--run-dir", run_copy, "--actor", "dog",
                           *TINY_FLAGS)
    assert code == 0, err
    labelled = INSTANCES[INSTANCES.video == "duongnghiephuy_dog.mp4"]  # five dogs, two look-alike collies
    csv = tmp_path / "dogs.csv"
    labelled.assign(video=[str(CLIPS / v) for v in labelled.video], split="test").to_csv(csv, index=False)
    code, out, err = run_cli(capsys, "evaluate", "--data", csv, "--run-dir", run_copy, "--thresholds", "builtin",
                             "--weights", WEIGHTS, "--device", "cpu", "--json")
    assert code == 0, err
    table = {row["index"]: row for row in json.loads(out)["tables"]["instances"]}
    ours, baseline = table["cascade"], table["every track its video's top pair"]
    labelled_count = sum(len(labels.split(";")) for labels in labelled.labels)
    assert ours["labelled"] == baseline["labelled"] == labelled_count == 46
    assert ours["track_boxes"] == baseline["track_boxes"] > 0 and ours["matched"] == baseline["matched"] > 0
    for row in (ours, baseline):  # the same tracks; only the pairs they name differ
        assert 0 <= row["hits"] <= row["matched"] <= min(row["labelled"], row["track_boxes"])
        assert row["misses"] == row["labelled"] - row["hits"] and row["false_alarms"] == row["track_boxes"] - row["hits"]
    assert ours["id_switches"] == baseline["id_switches"] >= 0
    assert baseline["segments"] == 1 and ours["segments"] >= 1  # a baseline track holds one pair all its life
    runs: dict[str, list[str]] = {}  # each labelled dog's pairs, frame by frame
    for row in labelled.assign(frame=labelled.frame.astype(int)).sort_values("frame").itertuples():
        for ident, pair in zip(row.ids.split(";"), row.labels.split(";")):
            runs.setdefault(ident, []).append(pair)
    changes = [1 + sum(a != b for a, b in zip(pairs, pairs[1:])) for pairs in runs.values()]
    assert ours["labelled_segments"] == pytest.approx(sum(changes) / len(changes))
