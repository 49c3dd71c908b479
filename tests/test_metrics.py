import re
import warnings

import numpy as np
import pandas as pd
import pytest

from cascade.errors import CascadeError
from cascade.labels import GROUP_NAMES
from cascade.metrics import class_table, indicator, per_sample_prf, prf_from_counts, sample_prf
from cascade.scores import group_scores, presence


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


def test_precision_keeps_the_challenge_epsilon():
    # P = |x & y| / (|x| + 1e-8): a perfect prediction scores just under 1, never over it
    p, r, f1 = sample_prf(indicator([["a"]], "ab"), indicator([["a"]], "ab"))
    assert p == 1 / (1 + 1e-8) and p < 1.0
    assert (r, f1) == (1.0, 1.0)


def test_empty_truth_and_empty_prediction_score_without_dividing_by_zero():
    nothing = indicator([[], []], "ab")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning (0/0) here would reach every user's console
        p, r, f1 = sample_prf(nothing, nothing)
    assert (float(p), float(r), float(f1)) == (0.0, 1.0, 1.0)


def test_per_sample_counts_by_hand_with_leading_axes():
    # two candidates (rows) x three samples, counts (hits, |x|, |y|):
    #   (1, 2, 1): P 1/2  R 1    F1 2/3      (0, 0, 2): P 0  R 0  F1 0      (0, 0, 0): empty truth, nothing said
    #   (2, 2, 3): P 1    R 2/3  F1 4/5      (0, 1, 2): P 0  R 0  F1 0      (0, 1, 0): empty truth, one said
    hits, n_pred, n_true = [[1, 0, 0], [2, 0, 0]], [[2, 0, 0], [2, 1, 1]], [[1, 2, 0], [3, 2, 0]]
    precision, recall, f1 = per_sample_prf(hits, n_pred, n_true)
    assert precision == pytest.approx(np.array([[1 / 2, 0, 0], [1, 0, 0]]), abs=1e-7)
    assert recall.tolist() == [[1.0, 0.0, 1.0], [2 / 3, 0.0, 0.0]]
    assert f1.tolist() == [[2 / 3, 0.0, 1.0], [4 / 5, 0.0, 0.0]]
    means = prf_from_counts(hits, n_pred, n_true)  # averaged over samples, one value per candidate
    assert [m.shape for m in means] == [(2,), (2,), (2,)]
    assert means[1] == pytest.approx([2 / 3, 2 / 9]) and means[2] == pytest.approx([5 / 9, 4 / 15])


def test_any_nonzero_entry_is_a_member_of_the_set():
    # a count of boxes per class reads as "predicted" wherever it is not 0: pred {a, c} and {b}
    counts = np.array([[2, 0, 3], [0, 1, 0]])
    truth = np.array([[1, 0, 0], [0, 5, 5]])  # {a}, {b, c}
    p, r, f1 = sample_prf(counts, truth)
    assert p == pytest.approx((1 / 2 + 1) / 2, abs=1e-7)
    assert r == pytest.approx((1 + 1 / 2) / 2) and f1 == pytest.approx((2 / 3 + 2 / 3) / 2)


def test_class_table_by_hand_with_undefined_ratios():
    # a: tp 2 fp 1 fn 3;  b: tp 1 (every denominator 1);  c: never predicted, never true (all undefined);
    # d: predicted once, never true (recall undefined);  e: true once, never predicted (precision undefined)
    pred = indicator([["a", "b"], ["a"], ["a", "d"], [], [], []], "abcde")
    true = indicator([["a", "b"], ["a"], [], ["a", "e"], ["a"], ["a"]], "abcde")
    table = class_table(pred, true, list("abcde"))
    assert list(table.index) == ["a", "b", "c", "d", "e", "micro"]
    assert list(table.columns) == ["precision", "recall", "f1", "support"]
    assert [str(t) for t in table.dtypes] == ["float64", "float64", "float64", "int64"]
    nan = float("nan")
    expected = {"a": [2 / 3, 2 / 5, 4 / 8, 5], "b": [1.0, 1.0, 1.0, 1], "c": [nan, nan, nan, 0],
                "d": [0.0, nan, 0.0, 0], "e": [nan, 0.0, 0.0, 1],
                "micro": [3 / 5, 3 / 7, 6 / 12, 7]}  # tp 3, fp 2, fn 4
    for name, row in expected.items():
        assert table.loc[name].tolist() == pytest.approx(row, nan_ok=True), name


def test_class_table_reads_zero_one_integers_as_sets():
    pred = indicator([["a", "b"], ["a"], ["b"]], "ab")
    true = indicator([["a"], ["b"], ["a", "b"]], "ab")
    as_ints = class_table(pred.astype(np.int64), true.astype(np.int64), ["a", "b"])
    pd.testing.assert_frame_equal(as_ints, class_table(pred, true, ["a", "b"]))
    assert as_ints.loc["a"].tolist() == pytest.approx([1 / 2, 1 / 2, 1 / 2, 2])  # tp 1, fp 1, fn 1


def test_indicator_is_boolean_in_the_given_class_order():
    out = indicator([[3, 1], [], [2]], [1, 2, 3])
    assert out.dtype == bool and out.shape == (3, 3)
    assert out.tolist() == [[True, False, True], [False, False, False], [False, True, False]]


def test_scores_accept_conf_from_0_to_1_and_count_a_box_at_exactly_conf():
    rows = pd.DataFrame([("v", 1, 0, 0.5), ("v", 2, 0, 1.0), ("v", 3, 0, 0.0), ("v", 4, -1, 0.0)],
                        columns=["video", "frame", "cls", "conf"])
    assert group_scores(rows, conf=0.5).loc["v", "person"] == 0.5  # frames 1 (0.5 >= 0.5) and 2
    assert group_scores(rows, conf=1.0).loc["v", "person"] == 0.25
    assert group_scores(rows, conf=0.0).loc["v", "person"] == 0.75  # the empty frame has no box
    for conf in (-0.01, 1.01, 2.0):
        with pytest.raises(CascadeError, match=re.escape(f"--conf must lie in [0, 1], got {conf}")):
            group_scores(rows, conf=conf)


def test_scores_keep_every_video_sorted_even_one_without_actors():
    rows = pd.DataFrame([("w", 1, 16, 0.9), ("w", 2, 16, 0.9), ("v", 1, -1, 0.0), ("u", 1, 2, 0.9), ("u", 2, 7, 0.9)],
                        columns=["video", "frame", "cls", "conf"])
    scores = group_scores(rows)
    assert scores.index.tolist() == ["u", "v", "w"] and scores.columns.name is None
    assert scores.to_numpy().tolist() == [[0, 0, 0, 0.5, 0, 0], [0] * 6, [0, 0, 0, 0, 0, 1.0]]
    assert all(str(t) == "float64" for t in scores.dtypes)


def test_a_rule_only_decides_between_two_present_groups():
    cat, dog = GROUP_NAMES.index("cat"), GROUP_NAMES.index("dog")
    thresholds = np.array([0.1, 0.1, 0.1, 0.1, 0.1, 0.3])  # dog needs 0.3
    scores = np.zeros((3, 6))
    scores[:, [cat, dog]] = [[0.2, 0.25],   # cat present, dog higher but under its threshold: cat stays
                             [0.05, 0.05],  # neither present: neither appears
                             [0.2, 0.5]]    # both present: the dog wins
    ruled = presence(scores, thresholds, ("cat-dog",))
    assert ruled[:, [cat, dog]].tolist() == [[True, False], [False, False], [False, True]]
    assert ruled[:, :cat].sum() == 0


def test_an_unknown_rule_lists_the_rules():
    with pytest.raises(CascadeError, match="^unknown rule 'dog-cat'; valid: cat-dog$"):
        presence(np.zeros((1, 6)), np.zeros(6), ("dog-cat",))


def test_counts_of_any_number_type_give_the_same_float64_scores():
    exact = [1 / (1 + 1e-8), 1.0, 1.0]  # one sample: |x & y| = |x| = |y| = 1
    for dtype in (np.int64, np.float32, np.float64):
        one = np.ones(1, dtype)
        scores = per_sample_prf(one, one, one)
        assert [s.dtype for s in scores] == [np.float64] * 3 and [float(s[0]) for s in scores] == exact, dtype
