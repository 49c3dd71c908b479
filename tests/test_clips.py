"""Clip-level labels, their split and folds, the presence rules, and what thresholds.json keeps."""

import json

import numpy as np
import pandas as pd
import pytest

from cascade.data import open_dataset
from cascade.data.clips import ClipDataset
from cascade.data.splits import cv_folds, stratified_split, strata
from cascade.errors import CascadeError
from cascade.labels import GROUP_NAMES
from cascade.scores import presence
from cascade.thresholds.fitness import swarm_cost
from cascade.thresholds.files import Thresholds, load_thresholds, save_thresholds
from cascade.thresholds.methods import tune_method
from conftest import CLIPS

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


def _videos():
    rng = np.random.default_rng(3)
    groups = [frozenset(rng.choice(GROUP_NAMES, size=rng.integers(1, 3), replace=False)) for _ in range(40)]
    return pd.DataFrame({"video": [f"v{i:02d}" for i in range(40)], "groups": groups})


def test_a_seeded_split_is_stratified_by_the_rarest_actor():
    videos = _videos()
    sides = stratified_split(videos, 0.3, seed=1)
    assert sides == stratified_split(videos, 0.3, seed=1) and sides != stratified_split(videos, 0.3, seed=2)
    by_stratum = pd.Series(sides).groupby(strata(videos)).value_counts().unstack(fill_value=0)
    assert (by_stratum.get("train", 0) >= 1).all()  # every stratum keeps a training video
    for stratum, counts in by_stratum.iterrows():
        assert counts.get("test", 0) == min(counts.sum() - 1, round(0.3 * counts.sum()))


def test_cv_folds_cover_every_video_once_and_repeat_with_the_seed():
    videos = _videos()
    folds = cv_folds(videos, 5, seed=0)
    together = np.concatenate(folds)
    assert sorted(together) == sorted(videos.video) and len(together) == len(set(together))  # no video twice
    assert max(map(len, folds)) - min(map(len, folds)) <= 1
    again = cv_folds(videos, 5, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again))
    assert any(not np.array_equal(a, b) for a, b in zip(folds, cv_folds(videos, 5, seed=1)))
    with pytest.raises(CascadeError, match="--cv needs 2 <= K <= 40"):
        cv_folds(videos, 41, seed=0)


def test_a_run_refuses_a_seed_that_splits_its_clips_otherwise(tmp_path):
    open_dataset(LABELS, seed=0, run_dir=tmp_path)
    open_dataset(LABELS, seed=0, run_dir=tmp_path)  # the same split: fine
    with pytest.raises(CascadeError, match="split with --seed 0 .* pass --seed 0 or use another --run-dir"):
        open_dataset(LABELS, seed=7, run_dir=tmp_path)


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


def test_sample_clips_condense_each_clip_and_skip_one_that_does_not_decode_whole(tmp_path, capsys):
    from cascade.cli.main import main
    from cascade.data.frames import iter_frames

    labels = _clips_csv(tmp_path, [f"{CLIPS}/dalgu90_car.mp4,car-running,dashcam",
                                   f"{CLIPS}/muhammad-baqir-410_jump.mp4,adult-jumping,truncated"])
    assert main(["sample-clips", str(labels), str(tmp_path / "demo"), "--frames-per-clip", "6"]) == 0
    assert "skipped 1 that do not decode whole: muhammad-baqir-410_jump" in capsys.readouterr().out
    written = pd.read_csv(tmp_path / "demo" / "labels.csv")
    assert list(written.video) == ["dalgu90_car.mp4"] and list(written.labels) == ["car-running"]
    frames = [frame for _, frame in iter_frames(tmp_path / "demo" / "dalgu90_car.mp4")]
    assert len(frames) == 6 and frames[0].shape[0] == 320
    assert list(open_dataset(tmp_path / "demo" / "labels.csv").clips.pairs) == [(57,)]  # car-running
    assert main(["sample-clips", str(labels), str(tmp_path / "demo")]) == 2
    assert "already holds sample clips" in capsys.readouterr().err
