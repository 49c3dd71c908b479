import numpy as np
import pandas as pd
import pytest

from cascade.metrics import class_table, indicator, sample_prf
from cascade.scores import group_scores


def test_challenge_formula_by_hand():
    # sample 1: x={a,b}, y={a}   -> P 1/2, R 1, F1 2/3
    # sample 2: x={b},   y={b,c} -> P 1,   R 1/2, F1 2/3
    # sample 3: x={},    y={c}   -> P 0,   R 0,  F1 0
    pred = indicator([["a", "b"], ["b"], []], "abc")
    true = indicator([["a"], ["b", "c"], ["c"]], "abc")
    p, r, f1 = sample_prf(pred, true)
    assert p == pytest.approx((0.5 + 1 + 0) / 3, abs=1e-7)
    assert r == pytest.approx((1 + 0.5 + 0) / 3)
    assert f1 == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)


def test_empty_truth_rewards_predicting_nothing():
    true = indicator([[]], "ab")
    assert [float(v) for v in sample_prf(indicator([[]], "ab"), true)[1:]] == [1.0, 1.0]
    assert [float(v) for v in sample_prf(indicator([["a"]], "ab"), true)] == [0.0, 0.0, 0.0]


def test_leading_axes_score_each_candidate_like_a_loop():
    rng = np.random.default_rng(0)
    true = rng.random((30, 6)) < 0.3
    preds = rng.random((5, 30, 6)) < 0.4
    together = np.stack(sample_prf(preds, true), 1)
    one_by_one = np.array([sample_prf(p, true) for p in preds])
    assert np.allclose(together, one_by_one)


def test_class_table_and_micro_average():
    pred = indicator([["a"], ["a", "b"], ["b"]], "ab")
    true = indicator([["a"], ["b"], ["a"]], "ab")
    table = class_table(pred, true, ["a", "b"])
    assert table.loc["a", "precision"] == pytest.approx(1 / 2)  # tp 1, fp 1
    assert table.loc["a", "recall"] == pytest.approx(1 / 2)  # fn 1
    assert table.loc["b", "precision"] == pytest.approx(1 / 2)
    assert table.loc["micro", "precision"] == pytest.approx(2 / 4)
    assert table.loc["micro", "support"] == 3


def test_scores_count_frames_not_boxes():
    rows = pd.DataFrame(
        [("v", 1, 0, 0.9), ("v", 1, 0, 0.8),  # two people in frame 1: counts once
         ("v", 2, 16, 0.6), ("v", 2, 0, 0.3),  # a dog; a person below the confidence
         ("v", 3, -1, 0.0), ("v", 4, 2, 0.7),  # an empty frame; a car
         ("w", 1, 32, 0.55), ("w", 2, 7, 0.99)],  # a ball; a truck is not an actor
        columns=["video", "frame", "cls", "conf"],
    )
    scores = group_scores(rows, conf=0.5)
    assert list(scores.columns) == ["person", "ball", "bird", "car", "cat", "dog"]
    assert scores.loc["v"].tolist() == [0.25, 0.0, 0.0, 0.25, 0.0, 0.25]
    assert scores.loc["w"].tolist() == [0.0, 0.5, 0.0, 0.0, 0.0, 0.0]
    assert group_scores(rows, conf=0.25).loc["v", "person"] == 0.5
