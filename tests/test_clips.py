"""Clip-level labels, their split and folds, the presence rules, and what thresholds.json keeps."""

import json
import logging

import numpy as np
import pandas as pd
import pytest

from cascade.data import open_dataset
from cascade.data.clips import ClipDataset
from cascade.data.base import video_groups
from cascade.data.splits import cv_folds, hashed_split, missing_sides, validation_videos
from cascade.errors import CascadeError
from cascade.labels import GROUP_NAMES
from cascade.scores import presence
from cascade.thresholds.fitness import swarm_cost
from cascade.thresholds.files import Thresholds, load_thresholds, save_thresholds
from cascade.thresholds.methods import tune_method
from conftest import CLIPS, WEIGHTS

LABELS = CLIPS / "labels.csv"


def _clips_csv(tmp_path, rows, header="video,labels,note"):
    path = tmp_path / "clips.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_the_shared_labels_read_as_clips(tmp_path):
    data = open_dataset(LABELS, seed=0, run_dir=tmp_path)
    assert isinstance(data, ClipDataset) and data.clip_level
    videos = data.labelled_videos()
    listed = len(pd.read_csv(LABELS))  # the file grows as clips are labelled: count its rows
    assert listed >= 53 and len(videos) == listed and set(videos.split) == {"train", "test"}
    sam = videos.set_index("video").loc["sam2_01_dog"]
    assert sam.groups == {"person", "dog", "ball"} and sam.path == str(CLIPS / "sam2_01_dog.mp4")
    frames = data.labelled_frames("all")
    first = frames[frames.video == "Harini3104_bird5"]  # bird-walking;bird-none: both pairs on every frame
    assert len(first) == 8 and first.pairs.iloc[0] == (48, 49) and list(first.instance_pairs.iloc[0]) == [48, 49]
    assert np.isnan(np.stack(first.boxes.tolist())).all()  # no boxes in clip-level labels
    recorded = json.loads((tmp_path / "split.json").read_text())
    assert recorded["seed"] == 0 and len(recorded["train"]) + len(recorded["test"]) == listed


def test_paths_are_relative_to_the_csv_and_extra_columns_are_ignored(tmp_path):
    (tmp_path / "sub").mkdir()
    path = _clips_csv(tmp_path, ["sub/a.mp4,dog-running,a dog,x", "/abs/b.mp4,77;cat-none,,y", "c.mp4,,empty,z"],
                      header="video,labels,note,extra")
    videos = open_dataset(path).clips.set_index("video")
    assert videos.loc["a", "path"] == str(tmp_path / "sub" / "a.mp4") and videos.loc["b", "path"] == "/abs/b.mp4"
    assert videos.loc["b", "pairs"] == (69, 77) and videos.loc["c", "pairs"] == ()


@pytest.mark.parametrize("row, needle", [
    ("a.mp4,dog-flying,", "clips.csv:3: 'dog-flying' is not an A2D actor-action pair; valid for dog: "),
    ("a.mp4,74,", "clips.csv:3: unknown actor-action id 74; valid: 11, 12"),
    ("a.mp4,walking,", "clips.csv:3: cannot read actor-action label 'walking'"),
    (",dog-running,", "clips.csv:3: empty video path"),
])
def test_a_bad_row_is_one_line_naming_file_and_row(tmp_path, row, needle):
    path = _clips_csv(tmp_path, ["ok.mp4,dog-running,", row])
    with pytest.raises(CascadeError, match=needle) as caught:
        open_dataset(path)
    assert "\n" not in str(caught.value)


def test_a_split_column_is_used_and_checked(tmp_path):
    path = _clips_csv(tmp_path, ["a.mp4,dog-running,test", "b.mp4,cat-none,"], header="video,labels,split")
    assert open_dataset(path).clips.split.tolist() == ["test", "train"]
    with pytest.raises(CascadeError, match=r"clips.csv:2: split must be train or test, found 'val'"):
        open_dataset(_clips_csv(tmp_path, ["a.mp4,dog-running,val"], header="video,labels,split"))
    with pytest.raises(CascadeError, match="video 'a' is listed twice"):
        open_dataset(_clips_csv(tmp_path, ["a.mp4,dog-running,", "x/a.avi,cat-none,"]))


def _videos(n=40, first=0):
    rng = np.random.default_rng(3 + first)
    groups = [frozenset(rng.choice(GROUP_NAMES, size=rng.integers(1, 3), replace=False)) for _ in range(n)]
    names = [f"v{i:02d}" for i in range(first, first + n)]
    return pd.DataFrame({"video": names, "group": [f"source{i // 3}" for i in range(first, first + n)],
                         "groups": groups})


def test_a_split_keeps_each_group_whole_and_never_moves_a_video_when_videos_are_added():
    videos = _videos()
    sides = hashed_split(videos, 0.3, seed=1)
    assert sides == hashed_split(videos, 0.3, seed=1) and sides != hashed_split(videos, 0.3, seed=2)
    assert all(len(set(sides[v] for v in g.video)) == 1 for _, g in videos.groupby("group"))  # groups whole
    grown = pd.concat([videos.sample(frac=1, random_state=0), _videos(60, first=40)])  # more, in another order
    again = hashed_split(grown, 0.3, seed=1)
    assert {v: again[v] for v in sides} == sides
    many = hashed_split(_videos(3000), 0.3, seed=0)  # 1,000 groups: the asked share, on average
    assert 0.25 < sum(s == "test" for s in many.values()) / 3000 < 0.35
    one_dog = pd.DataFrame({"video": ["a"], "groups": [{"dog"}]})
    assert all(validation_videos(one_dog, 0.9, seed) == set() for seed in range(5))  # a head keeps its only video
    lonely = pd.DataFrame({"video": ["a", "b"], "group": ["x", "x"], "groups": [{"dog"}, {"dog", "cat"}]})
    side = hashed_split(lonely, 0.3, seed=0)["a"]
    assert missing_sides(lonely, hashed_split(lonely, 0.3, seed=0)) == {
        "cat": "test" if side == "train" else "train", "dog": "test" if side == "train" else "train"}


def test_cv_folds_cover_every_video_once_keep_groups_whole_and_hold_as_videos_are_added():
    videos = _videos()
    folds = cv_folds(videos, 5, seed=0)
    together = np.concatenate(folds)
    assert sorted(together) == sorted(videos.video) and len(together) == len(set(together))  # no video twice
    fold_of = {v: i for i, fold in enumerate(folds) for v in fold}
    assert all(len({fold_of[v] for v in g.video}) == 1 for _, g in videos.groupby("group"))
    assert all(np.array_equal(a, b) for a, b in zip(folds, cv_folds(videos, 5, seed=0)))
    assert any(not np.array_equal(a, b) for a, b in zip(folds, cv_folds(videos, 5, seed=1)))
    grown = cv_folds(pd.concat([videos, _videos(30, first=40)]), 5, seed=0)
    assert [set(fold) & set(videos.video) for fold in grown] == [set(fold) for fold in folds]
    with pytest.raises(CascadeError, match=r"--cv needs 2 <= K <= 14 \(the number of video groups\)"):
        cv_folds(videos, 15, seed=0)
    assert len(cv_folds(videos.drop(columns="group"), 40, seed=0)) > 20  # no groups: each video its own


def test_a_video_group_is_the_csv_column_else_the_folder_else_the_video(tmp_path):
    named = {"a": "rep/one"}
    assert video_groups(["a", "b"], ["x/a.mp4", "y/b.mp4"], named) == ["rep/one", "y"]
    assert video_groups(["a", "b"], ["x/a.mp4", "x/b.mp4"], {}) == ["a", "b"]  # one folder says nothing
    path = _clips_csv(tmp_path, ["a.mp4,dog-running,ch1", "b.mp4,cat-none,ch1", "c.mp4,bird-flying,"],
                      header="video,labels,group")
    videos = open_dataset(path).labelled_videos().set_index("video")
    assert videos.group.to_dict() == {"a": "ch1", "b": "ch1", "c": "c"}
    assert len(set(videos.split.loc[["a", "b"]])) == 1
    frames = tmp_path / "frames.csv"
    frames.write_text("video,frame,labels,group\na.mp4,1,dog-running,ch1\na.mp4,2,dog-running,ch2\n")
    with pytest.raises(CascadeError, match=r"frames.csv:3: video 'a' is in group 'ch1' on an earlier row and 'ch2'"):
        open_dataset(frames)


def test_a_run_refuses_a_seed_that_splits_its_clips_otherwise(tmp_path):
    open_dataset(LABELS, seed=0, run_dir=tmp_path)
    open_dataset(LABELS, seed=0, run_dir=tmp_path)  # the same split: fine
    with pytest.raises(CascadeError, match=r"split with --seed 0 \(test fraction 0.3\); --seed 7 \(test fraction "
                                           r"0.3\) would move \d+ of them .* pass --seed 0 or use another --run-dir"):
        open_dataset(LABELS, seed=7, run_dir=tmp_path)


def _one_source(tmp_path):
    """Two short real clips of one source: the seed's split puts both on one side, so the other side
    has no dog clip and no car clip whatever the seed."""
    return _clips_csv(tmp_path, [f"{CLIPS}/lixirui142__dog.mp4,dog-walking,s", f"{CLIPS}/ShreyanshBardia__crash.mp4,"
                                 "car-rolling,s"], header="video,labels,group")


def test_a_side_the_split_leaves_without_an_actor_is_warned_of_only_where_the_split_is_used(tmp_path, caplog):
    data = open_dataset(_one_source(tmp_path), seed=0)
    side = data.clips.split.iloc[0]
    other = "test" if side == "train" else "train"
    with caplog.at_level(logging.WARNING):
        data.labelled_videos("all"), data.labelled_frames("all")
        assert caplog.text == ""  # nothing is split: the seed cannot be the cause of anything
        data.labelled_videos(side)
        data.labelled_frames(side)  # once per dataset, not once per look
    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path / 'clips.csv'}: --seed 0 puts no {actor} clip in {other} (groups are split whole); pass another "
        "--seed or a split column to have one" for actor in ("car", "dog")]


def test_tune_thresholds_on_all_clips_does_not_blame_the_seed(tmp_path, caplog):
    from cascade.cli.main import main

    labels = _one_source(tmp_path)
    side = open_dataset(labels, seed=0).clips.split.iloc[0]
    tune = ["tune-thresholds", "--data", str(labels), "--run-dir", str(tmp_path / "run"), "--weights", str(WEIGHTS),
            "--device", "cpu", "--particles", "4", "--iters", "2", "--restarts", "1"]
    with caplog.at_level(logging.WARNING):
        assert main([*tune, "--split", "all"]) == 0
    assert "--seed" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main([*tune, "--split", side]) == 0  # the detections are cached by now: only the tuning runs again
    assert caplog.text.count("--seed 0 puts no") == 2 and "puts no dog clip in" in caplog.text


def test_a_run_whose_labels_grew_keeps_its_split_and_says_where_the_new_videos_went(tmp_path, caplog):
    rows = [f"c{i:02d}.mp4,dog-running,src{i % 7}" for i in range(30)]
    first = open_dataset(_clips_csv(tmp_path, rows[:20], header="video,labels,group"), seed=0, run_dir=tmp_path)
    before = json.loads((tmp_path / "split.json").read_text())
    grown = open_dataset(_clips_csv(tmp_path, rows, header="video,labels,group"), seed=0, run_dir=tmp_path)
    after = json.loads((tmp_path / "split.json").read_text())
    sides = grown.labelled_videos().set_index("video").split
    assert first.labelled_videos().set_index("video").split.to_dict() == sides.iloc[:20].to_dict()
    assert set(before["train"]) <= set(after["train"]) and set(before["test"]) <= set(after["test"])
    new_test = int((sides.iloc[20:] == "test").sum())
    assert f"10 video(s) new since this run's split: {10 - new_test} to train, {new_test} to test" in caplog.text
    assert len(after["train"]) + len(after["test"]) == 30


def test_the_cat_dog_rule_on_a_hand_made_table():
    #               person ball bird car  cat   dog
    scores = np.array([[0.0, 0, 0, 0, 0.20, 0.13],   # a kitten also seen as a dog: the cat stays
                       [0.0, 0, 0, 0, 0.05, 0.30],   # a dog, the cat under its threshold: nothing to decide
                       [0.0, 0, 0, 0, 0.40, 0.40],   # a tie keeps both
                       [0.5, 0, 0, 0, 0.10, 0.90]])  # the dog wins
    thresholds = np.array([0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    plain, ruled = presence(scores, thresholds), presence(scores, thresholds, ("cat-dog",))
    cat, dog = GROUP_NAMES.index("cat"), GROUP_NAMES.index("dog")
    assert plain[:, [cat, dog]].tolist() == [[True, True], [False, True], [True, True], [True, True]]
    assert ruled[:, [cat, dog]].tolist() == [[True, False], [False, True], [True, True], [False, True]]
    swarm = np.stack([thresholds, np.full(6, 0.15)])  # the swarm fitness decides presence the same way
    truth = np.zeros_like(plain)
    truth[[0, 2], cat] = truth[[1, 2, 3], dog] = truth[3, 0] = True
    assert swarm_cost(swarm, scores, truth, "f1", ("cat-dog",))[0] == -1.0  # every video right with the rule
    assert swarm_cost(swarm, scores, truth, "f1")[0] > -1.0


def test_margin_moves_a_threshold_only_when_it_helps_and_to_the_middle():
    scores = np.zeros((6, 6))
    scores[:, 3] = [0.95, 0.9, 0.3, 0.2, 0.1, 0.0]  # car: two parked-car clips score 0.2 and 0.3
    truth = np.zeros((6, 6), bool)
    truth[:2, 3] = True
    result = tune_method("margin", scores, truth)
    car, others = result.thresholds[3], np.delete(result.thresholds, 3)
    assert car == 0.61  # the best plateau is the grid 0.31 ... 0.90 (60 values): its middle, not 0.31
    assert others.tolist() == [0.1, 0.107, 0.1, 0.161, 0.267]  # nothing to gain: the seed's values stay
    assert tune_method("pso", scores, truth, particles=5, iters=2, restarts=1).thresholds[3] <= 0.4  # seed bounds


def test_shrink_keeps_a_move_the_sources_back_and_the_seed_where_one_clip_is_all_the_evidence():
    rng = np.random.default_rng(0)
    scores, truth = np.zeros((60, 6)), np.zeros((60, 6), bool)
    car, bird = GROUP_NAMES.index("car"), GROUP_NAMES.index("bird")
    truth[::2, car] = True
    scores[::2, car] = rng.uniform(0.7, 0.95, 30)  # cars driving through the clip
    scores[1::2, car] = rng.uniform(0.2, 0.4, 30)  # cars parked at the edge of the others
    truth[5, bird], scores[5, bird] = True, 0.06  # one faint flock
    sources = [f"source{i // 3}" for i in range(60)]
    margin = tune_method("margin", scores, truth).thresholds
    shrunk = tune_method("shrink", scores, truth, groups=sources).thresholds
    assert margin[bird] < 0.06  # margin follows the one clip down to a bird on one frame in thirty
    assert 0.4 < shrunk[car] < 0.7  # every inner fold by source backs the car's move
    assert np.delete(shrunk, car).tolist() == [0.1, 0.107, 0.1, 0.161, 0.267]  # bird and the rest: the seed's
    assert tune_method("shrink", scores[:3], truth[:3], groups=sources[:3]).thresholds.tolist() == [
        0.1, 0.107, 0.1, 0.1, 0.161, 0.267]  # one source: nothing can back a move


def test_thresholds_json_round_trips_every_setting(tmp_path):
    saved = Thresholds(values=dict(zip(GROUP_NAMES, [0.23, 0.18, 0.02, 0.78, 0.161, 0.09])), conf=0.4,
                       rules=["cat-dog"], method="margin", bounds=[0.01, 0.95], fitness="prf1", precision=0.9,
                       recall=0.8, f1=0.85, data="labels.csv", split="all", videos=["a", "b"],
                       cv={"folds": 5, "method": {"f1_mean": 0.877}}, command="cascade tune-thresholds")
    save_thresholds(tmp_path / "thresholds.json", saved)
    loaded = load_thresholds(tmp_path)
    assert loaded == saved
    assert loaded.present(np.array([[0.3, 0, 0, 0, 0.5, 0.6]])).tolist() == [[True, False, False, False, False, True]]
    data = json.loads((tmp_path / "thresholds.json").read_text())
    data["rules"] = ["cat-horse"]
    (tmp_path / "thresholds.json").write_text(json.dumps(data))
    with pytest.raises(CascadeError, match="thresholds.json: unknown rule 'cat-horse'; valid: cat-dog"):
        load_thresholds(tmp_path)


def test_sample_clips_keep_each_clip_s_source_from_the_sources_file_beside_the_labels(tmp_path):
    from cascade.data.sample import build_sample_clips

    (tmp_path / "dalgu90_car.mp4").symlink_to(CLIPS / "dalgu90_car.mp4")
    (tmp_path / "SOURCES.csv").write_text("file,source_repo\ndalgu90_car.mp4,dalgu90/opencv-tutorial\n")
    labels = _clips_csv(tmp_path, ["dalgu90_car.mp4,car-running,dashcam"])
    written, _ = build_sample_clips(labels, tmp_path / "demo", frames_per_clip=2)
    videos = open_dataset(written).labelled_videos()
    assert videos.group.tolist() == ["dalgu90/opencv-tutorial"]


def test_sample_clips_keep_what_a_truncated_clip_decodes_and_skip_it_only_when_too_little_does(tmp_path, capsys,
                                                                                                caplog):
    from cascade.cli.main import main
    from cascade.data.frames import declared_frame_count, iter_frames

    jump = CLIPS / "muhammad-baqir-410_jump.mp4"  # a real clip whose header declares 186 frames; 139 decode
    assert declared_frame_count(jump) == 186 and sum(1 for _ in iter_frames(jump, check_complete=False)) == 139
    labels = _clips_csv(tmp_path, [f"{CLIPS}/dalgu90_car.mp4,car-running,dashcam",
                                   f"{jump},adult-jumping,truncated",
                                   f"{CLIPS}/sxmpxng__dog4.mp4,dog-none,297 declared and 294 decode"])
    with caplog.at_level(logging.WARNING):
        assert main(["sample-clips", str(labels), str(tmp_path / "demo"), "--frames-per-clip", "6"]) == 0
    assert "skipped" not in capsys.readouterr().out
    assert [r.getMessage() for r in caplog.records] == [  # one line for the truncated clip; none for a header off by 3
        f"{jump}: truncated, only 139 of 186 declared frames decode; sampled from those"]
    written = pd.read_csv(tmp_path / "demo" / "labels.csv")
    assert list(written.video) == ["dalgu90_car.mp4", "muhammad-baqir-410_jump.mp4", "sxmpxng__dog4.mp4"]
    assert list(written.labels) == ["car-running", "adult-jumping", "dog-none"]
    for clip in written.video:  # 6 frames each: picked over the frames that decode, not over the header's count
        frames = [frame for _, frame in iter_frames(tmp_path / "demo" / clip)]
        assert len(frames) == 6 and frames[0].shape[0] == 320
    assert list(open_dataset(tmp_path / "demo" / "labels.csv").clips.pairs) == [(57,), (15,), (79,)]
    assert written.group.isna().all()  # no group column and no SOURCES.csv beside the labels
    assert main(["sample-clips", str(labels), str(tmp_path / "demo")]) == 2
    assert "already holds sample clips" in capsys.readouterr().err

    caplog.clear()  # 150 frames per clip: more than the 139 that decode, and 139 is under 90% of 186
    with caplog.at_level(logging.WARNING):
        assert main(["sample-clips", str(labels), str(tmp_path / "demo"), "--frames-per-clip", "150",
                     "--overwrite"]) == 0
    assert "skipped 1 that decode too few frames to sample: muhammad-baqir-410_jump" in capsys.readouterr().out
    assert [r.getMessage() for r in caplog.records] == [
        f"skipping a clip: {jump}: truncated, only 139 of 186 declared frames decode, fewer than the 150 frames per "
        "clip asked for; re-encode or replace it"]
    assert list(pd.read_csv(tmp_path / "demo" / "labels.csv").video) == ["dalgu90_car.mp4", "sxmpxng__dog4.mp4"]
