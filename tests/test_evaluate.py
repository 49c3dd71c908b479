"""`evaluate` on a hand-built case: known detections, heads with known outputs, the sample release's
truth, so every table's P/R/F1 is known exactly (worked out below by hand)."""

import json

import numpy as np
import pytest

from builders import constant_head, write_cache
from cascade.cli.main import main
from cascade.evaluation import evaluate
from cascade.thresholds.files import builtin_thresholds, save_thresholds
from cascade.pipeline import CascadeSettings

# Test videos of the sample release and their truth (3 annotated frames each):
#   cat_c cat-none, dog_c dog-none, bird_b bird-none, baby_c baby-none, walk_b adult-walking, driver_b adult-none.
# Detections: a group shown in n of 24 frames scores n/24.
SHOWN = {"cat_c": {"cat": 24}, "dog_c": {"dog": 24, "cat": 12}, "bird_b": {}, "baby_c": {"person": 24},
         "walk_b": {"person": 24, "car": 24}, "driver_b": {"person": 24}}
# Built-in thresholds (person .1, car .1, cat .161, dog .267), no rules: present groups
#   cat_c {cat}, dog_c {cat, dog}, bird_b {}, baby_c {person}, walk_b {person, car}, driver_b {person}.
# Heads: person always says adult-walking (18), dog always dog-running (77); no cat, bird or car head.


@pytest.fixture
def hand_built_run(tmp_path):
    run = tmp_path / "run"
    write_cache(run, SHOWN)
    constant_head(run, "person", 18)
    constant_head(run, "dog", 77)
    return run


def test_every_table_has_the_values_worked_out_by_hand(hand_built_run, sample_release):
    report = evaluate(sample_release, hand_built_run, split="test", settings=CascadeSettings(thresholds="builtin"),
                      progress=False)
    t = report.tables
    # overall, per frame: only walk_b's 3 frames get {18} = truth; the 15 others score 0
    assert t["overall"].loc["cascade"].to_dict() == pytest.approx(
        {"precision": 1 / 6, "recall": 1 / 6, "f1": 1 / 6, "frames": 18})
    # actors, per video: cat_c 1/1/1, dog_c .5/1/(2/3), bird_b 0/0/0, baby_c 1, walk_b .5/1/(2/3), driver_b 1
    assert t["actors"].loc["per-video"].to_dict() == pytest.approx(
        {"precision": 4 / 6, "recall": 5 / 6, "f1": 13 / 18, "videos": 6})
    groups = t["actors"].drop(index="per-video")
    assert groups.loc["person"].tolist() == [1.0, 1.0, 1.0, 3]
    assert groups.loc["cat"].tolist() == pytest.approx([0.5, 1.0, 2 / 3, 1])
    assert groups.loc["dog"].tolist() == [1.0, 1.0, 1.0, 1]
    assert np.isnan(groups.loc["bird", "precision"]) and groups.loc["bird"].tolist()[1:] == [0.0, 0.0, 1]
    assert np.isnan(groups.loc["car", "recall"]) and groups.loc["car", ["precision", "f1", "videos"]].tolist() == [0, 0, 0]
    assert groups.loc["ball"].isna().tolist() == [True, True, True, False]  # no video, nothing predicted
    assert groups.loc["micro"].tolist() == pytest.approx([5 / 7, 5 / 6, 10 / 13, 6])
    # heads, on the frames where their group truly is: person right on walk_b only (3 of 9), dog never
    assert t["heads"].loc["person"].to_dict() == pytest.approx(
        {"precision": 1 / 3, "recall": 1 / 3, "f1": 1 / 3, "frames": 9, "accuracy": 1 / 3})
    assert t["heads"].loc["dog"].to_dict() == pytest.approx(
        {"precision": 0, "recall": 0, "f1": 0, "frames": 3, "accuracy": 0})
    # pairs: adult-walking predicted on 9 frames (baby_c, walk_b, driver_b), true on 3
    assert t["pairs"].loc["adult-walking"].tolist() == pytest.approx([1 / 3, 1.0, 0.5, 3])
    assert t["pairs"].loc["dog-running", ["precision", "f1", "support"]].tolist() == [0, 0, 0]
    assert t["samples"].set_index("video").predicted.to_dict() == {
        "cat_c": "", "dog_c": "dog-running", "bird_b": "", "baby_c": "adult-walking", "walk_b": "adult-walking",
        "driver_b": "adult-walking"}
    assert "no labelled videos of: ball" in report.summary()


def test_the_rules_in_thresholds_json_are_applied(hand_built_run, sample_release, capsys):
    thresholds = builtin_thresholds()
    thresholds.rules = ["cat-dog"]  # dog_c: cat 0.5 < dog 1.0, so only the dog stays
    save_thresholds(hand_built_run / "thresholds.json", thresholds)
    code = main(["evaluate", "--data", str(sample_release), "--run-dir", str(hand_built_run), "--json"])
    tables = json.loads(capsys.readouterr().out)["tables"]
    assert code == 0
    per_video = next(row for row in tables["actors"] if row["index"] == "per-video")
    assert per_video["precision"] == pytest.approx(4.5 / 6) and per_video["f1"] == pytest.approx(14 / 18)
    ball = next(row for row in tables["actors"] if row["index"] == "ball")
    assert ball["precision"] is None and ball["videos"] == 0  # undefined: null in JSON, not 0
