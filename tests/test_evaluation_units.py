"""`evaluate` and its tables on a tiny hand-built case: three 6-frame videos written here, a detections
cache with chosen boxes and two heads with constant outputs (tests/builders.py), built-in thresholds.
Every value below is worked out by hand. Fast (no detector, no sample release), so the mutation
run (scripts/mutation.sh) uses it."""

import shutil

import cv2
import numpy as np
import pandas as pd
import pytest

from builders import constant_head, write_cache
from cascade.errors import CascadeError
from cascade.evaluation import EvaluationReport, _head_table, _prf_row, evaluate
from cascade.labels import group
from cascade.metrics import indicator
from cascade.pipeline import CascadeSettings

FRAMES = 6
# A group shown in n of 6 frames scores n/6; built-in thresholds: person 0.1, cat 0.161, dog 0.267, no rules.
#   a: person 6/6, dog 1/6 (under 0.267)  -> present {person}       true groups {person, dog}
#   b: cat 6/6, dog 6/6                   -> present {cat, dog}     true groups {dog}
#   c: person 6/6                         -> present {person}       true groups {bird}
SHOWN = {"a": {"person": 6, "dog": 1}, "b": {"cat": 6, "dog": 6}, "c": {"person": 6}}
# Heads: person always says adult-walking (18), dog always dog-rolling (76); no cat or bird head.


def _videos(folder):
    for name in SHOWN:
        writer = cv2.VideoWriter(str(folder / f"{name}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 6, (32, 32))
        for i in range(FRAMES):
            writer.write(np.full((32, 32, 3), 40 * i, np.uint8))
        writer.release()


@pytest.fixture(scope="module")
def heads(tmp_path_factory):
    """The two heads, written once (a ResNet-34 checkpoint takes half a second)."""
    run = tmp_path_factory.mktemp("heads")
    constant_head(run, "person", 18, imgsz=32)
    constant_head(run, "dog", 76, imgsz=32)
    yield run / "heads"
    shutil.rmtree(run)  # 170 MB: pytest keeps its last three temporary folders, the mutation run a few hundred


def _run(tmp_path, heads, csv_text):
    _videos(tmp_path)
    (tmp_path / "labels.csv").write_text(csv_text)
    run = tmp_path / "run"
    write_cache(run, SHOWN, frames=FRAMES)
    (run / "heads").symlink_to(heads, target_is_directory=True)
    return evaluate(tmp_path / "labels.csv", run, split="test", settings=CascadeSettings(thresholds="builtin"),
                    progress=False), run


def _rows(table):
    return {name: row.tolist() for name, row in table.iterrows()}


NAN = float("nan")
# per video, the actor stage: a P 1 R 1/2 F1 2/3; b P 1/2 R 1 F1 2/3; c 0 0 0
ACTORS = {"per-video": [1 / 2, 1 / 2, 4 / 9, 3], "person": [1 / 2, 1, 2 / 3, 1], "ball": [NAN, NAN, NAN, 0],
          "bird": [NAN, 0, 0, 1], "car": [NAN, NAN, NAN, 0], "cat": [0, NAN, 0, 0], "dog": [1, 1 / 2, 2 / 3, 2],
          "micro": [1 / 2, 1 / 2, 1 / 2, 4]}  # tp 2 (person a, dog b), fp 2 (cat b, person c), fn 2 (dog a, bird c)


def test_evaluate_per_frame_by_hand(tmp_path, heads, capsys):
    report, run = _run(tmp_path, heads, "video,frame,labels,split\n"
                                 "a.mp4,2,adult-running,test\n"
                                 "a.mp4,5,adult-walking;dog-running,test\n"
                                 "b.mp4,3,dog-running,test\n"
                                 "c.mp4,1,bird-flying,test\n"
                                 "a.mp4,6,adult-walking,train\n"  # not in the test split, and the training
                                 "c.mp4,4,bird-flying,train\n")  # pairs: person 18, bird 44 (no bird head)
    t = report.tables
    # samples: a2 {18} vs {17}: 0 | a5 {18} vs {18, 77}: P 1 R 1/2 F1 2/3 (the dog head says 76 on a5, but the
    # dog is not present in a) | b3 {76} vs {77}: 0 | c1 {18} vs {44}: 0 (a person is present, truly or not)
    assert t["samples"].to_dict("list") == {
        "video": ["a", "a", "b", "c"], "frames": ["2", "5", "3", "1"],
        "true": ["adult-running", "adult-walking dog-running", "dog-running", "bird-flying"],
        "predicted": ["adult-walking", "adult-walking", "dog-rolling", "adult-walking"]}
    # most frequent pair, for present groups with a head: a2, a5, c1 get the person's 18 and b3 nothing (no
    # dog in the training labels): by chance the same sets as the cascade's, but b3's {} scores P 0 too
    assert _rows(t["overall"]) == {"cascade": pytest.approx([1 / 4, 1 / 8, 1 / 6, 4], abs=1e-7),
                                   "most frequent pair": pytest.approx([1 / 4, 1 / 8, 1 / 6, 4], abs=1e-7)}
    assert list(t["overall"].columns) == ["precision", "recall", "f1", "frames"]
    assert list(t["actors"].columns) == ["precision", "recall", "f1", "videos"]
    assert _rows(t["actors"]) == {k: pytest.approx(v, abs=1e-7, nan_ok=True) for k, v in ACTORS.items()}
    # heads, on the frames where their group truly is: person a2 (wrong), a5 (right); dog a5, b3 (both wrong);
    # the person head's c1 is not there: c has no true person
    assert list(t["heads"].columns) == ["precision", "recall", "f1", "frames", "accuracy"]
    assert _rows(t["heads"]) == {"person": pytest.approx([1 / 2, 1 / 2, 1 / 2, 2, 1 / 2], abs=1e-7),
                                 "dog": [0, 0, 0, 2, 0]}
    # pairs: 18 predicted on a2, a5, c1 and true on a5; 76 predicted on b3; 17, 77 (twice) and 44 missed
    pairs = t["pairs"]
    assert len(pairs) == 44 and pairs.index[0] == "adult-climbing" and pairs.index[-1] == "micro"
    expected = {"adult-walking": [1 / 3, 1, 1 / 2, 1], "adult-running": [NAN, 0, 0, 1], "dog-rolling": [0, NAN, 0, 0],
                "dog-running": [NAN, 0, 0, 2], "bird-flying": [NAN, 0, 0, 1], "micro": [1 / 4, 1 / 5, 2 / 9, 5]}
    for name, row in expected.items():
        assert pairs.loc[name].tolist() == pytest.approx(row, abs=1e-7, nan_ok=True), name
    assert pairs.drop(index=list(expected)).support.sum() == 0 and (pairs.drop(index=list(expected)).f1.isna()).all()
    folder = run / "evaluate"
    assert report.files == {name: str(folder / f"{name}.csv") for name in t}
    assert (folder / "samples.csv").read_text().splitlines()[:2] == ["video,frames,true,predicted",
                                                                     "a,2,adult-running,adult-walking"]
    assert (folder / "overall.csv").read_text().splitlines()[0] == ",precision,recall,f1,frames"
    pd.testing.assert_frame_equal(pd.read_csv(folder / "heads.csv", index_col=0), t["heads"], check_dtype=False)
    assert report.skipped == {} and capsys.readouterr().err == ""  # progress=False: no bar


def test_evaluate_per_clip_by_hand(tmp_path, heads, capsys):
    report, _ = _run(tmp_path, heads, "video,labels,split\n"
                               "a.mp4,adult-walking;dog-running,test\n"
                               "b.mp4,dog-running,test\n"
                               "c.mp4,bird-flying,test\n")
    assert capsys.readouterr().err == ""  # progress=False: no bar
    t = report.tables
    # a clip is one sample; the heads look at 5 frames spread over its 6: centres of 5 bins, 1-based
    assert t["samples"].frames.tolist() == ["1 2 4 5 6"] * 3
    assert t["samples"].predicted.tolist() == ["adult-walking", "dog-rolling", "adult-walking"]
    # a {18} vs {18, 77}: P 1 R 1/2 F1 2/3; b {76} vs {77}: 0; c {18} vs {44}: 0
    assert _rows(t["overall"]) == {"cascade": pytest.approx([1 / 3, 1 / 6, 2 / 9, 3], abs=1e-7)}
    assert list(t["overall"].columns) == ["precision", "recall", "f1", "videos"]
    assert _rows(t["actors"]) == {k: pytest.approx(v, abs=1e-7, nan_ok=True) for k, v in ACTORS.items()}
    assert _rows(t["heads"]) == {"person": pytest.approx([1, 1, 1, 1, 1], abs=1e-7), "dog": [0, 0, 0, 2, 0]}


def test_evaluate_wants_the_runs_thresholds_file_by_default(tmp_path):
    run = tmp_path / "run"
    write_cache(run, SHOWN, frames=FRAMES)
    (tmp_path / "labels.csv").write_text("video,labels,split\na.mp4,adult-walking,test\n")
    with pytest.raises(CascadeError, match="no thresholds; run `cascade tune-thresholds` first"):
        evaluate(tmp_path / "labels.csv", run, progress=False)


def test_prf_row_and_head_table_by_hand():
    pred, true = indicator([["x"], ["x", "y"]], "xy"), indicator([["x"], ["y"]], "xy")
    # sample 1: P 1 R 1 F1 1; sample 2: P 1/2 R 1 F1 2/3
    assert _prf_row(pred, true, "frames") == pytest.approx(
        {"precision": 3 / 4, "recall": 1.0, "f1": 5 / 6, "frames": 2}, abs=1e-7)
    def outputs(rows, top_pairs, truths, group_name):  # probabilities whose most probable pair is the given one
        pairs = list(group(group_name).pairs)
        probs = [np.where(np.array(pairs) == p, 0.6, 0.4 / (len(pairs) - 1)) for p in top_pairs]
        return pd.DataFrame({"row": rows, "probs": probs, "truth": truths})

    head_probs = {  # rows, most probable pair, true pairs of the group
        "person": outputs([0, 1, 2, 3], [18, 18, 11, 19], [{18}, {18, 11}, {12}, set()], "person"),  # no truth: left out
        "dog": outputs([4], [77], [set()], "dog"),  # never truly there: no row
        "bird": outputs([5, 6], [44, 48], [{48}, {48}], "bird"),
    }
    table = _head_table(head_probs, "videos")
    # person: {18} vs {18}: 1 1 1 | {18} vs {18, 11}: P 1 R 1/2 F1 2/3 | {11} vs {12}: 0 -> accuracy 2/3
    # bird: {44} vs {48}: 0 | {48} vs {48}: 1 -> accuracy 1/2
    assert list(table.columns) == ["precision", "recall", "f1", "videos", "accuracy"]
    assert _rows(table) == {"person": pytest.approx([2 / 3, 1 / 2, 5 / 9, 3, 2 / 3], abs=1e-7),
                            "bird": pytest.approx([1 / 2, 1 / 2, 1 / 2, 2, 1 / 2], abs=1e-7)}


def _report(absent=True, skipped=None):
    overall = pd.DataFrame([{"precision": 0.5, "recall": 0.25, "f1": 1 / 3, "frames": 4}], index=["cascade"])
    actors = pd.DataFrame({"precision": [1.0, NAN, 0.0], "recall": [0.5, NAN, NAN], "f1": [2 / 3, NAN, 0.0],
                           "videos": [2, 0, 0]}, index=["dog", "ball", "car"])
    if not absent:
        actors = actors.loc[["dog"]]
    heads = pd.DataFrame({"precision": [0.125], "recall": [NAN], "f1": [0.0], "frames": [3], "accuracy": [1.0]},
                         index=["dog"])
    return EvaluationReport({"overall": overall, "actors": actors, "heads": heads},
                            {"overall": "r/overall.csv", "heads": "r/heads.csv"}, skipped or {})


def test_summary_prints_the_three_tables_and_what_is_undefined():
    # percentages with one decimal, as tune-thresholds prints them; counts as they are; undefined as '-'
    # (column spacing is pandas' own: compared word by word)
    assert [line.split() for line in _report().summary().splitlines()] == [
        ["==", "overall", "(%)", "=="],
        ["precision", "recall", "f1", "frames"],
        ["cascade", "50.0", "25.0", "33.3", "4"],
        ["==", "actors", "(%)", "=="],
        ["precision", "recall", "f1", "videos"],
        ["dog", "100.0", "50.0", "66.7", "2"],
        ["ball", "-", "-", "-", "0"],
        ["car", "0.0", "-", "0.0", "0"],
        ["==", "heads", "(%)", "=="],
        ["precision", "recall", "f1", "frames", "accuracy"],
        ["dog", "12.5", "-", "0.0", "3", "100.0"],
        "no labelled videos of: ball, car (their scores are undefined, shown as -)".split(),
        "written: r/overall.csv, r/heads.csv".split(),
    ]
    assert _report().summary().splitlines()[-2:] == [
        "no labelled videos of: ball, car (their scores are undefined, shown as -)", "written: r/overall.csv, r/heads.csv"]
    lines = _report(absent=False, skipped={"x": "x.mp4: empty", "y": "y.mp4: truncated"}).summary().splitlines()
    assert not any(line.startswith("no labelled videos") for line in lines)
    assert lines[-1] == "skipped (not decodable): x.mp4: empty; y.mp4: truncated"


def test_to_json_gives_rows_with_null_for_undefined():
    out = _report(skipped={"x": "x.mp4: empty"}).to_json()
    assert out["tables"]["actors"] == [
        {"index": "dog", "precision": 1.0, "recall": 0.5, "f1": 2 / 3, "videos": 2},
        {"index": "ball", "precision": None, "recall": None, "f1": None, "videos": 0},
        {"index": "car", "precision": 0.0, "recall": None, "f1": 0.0, "videos": 0}]
    assert out["tables"]["heads"][0]["recall"] is None and out["tables"]["overall"][0]["frames"] == 4
    assert out["files"] == {"overall": "r/overall.csv", "heads": "r/heads.csv"}
    assert out["skipped"] == {"x": "x.mp4: empty"}
