"""Which pairs a head reports, on hand-made probabilities (worked out in the comments)."""

import numpy as np
import pytest

from cascade.heads.pairs import best_cut, reported


def test_the_top_pair_and_with_a_cut_every_pair_that_reaches_it():
    probs = np.array([[0.5, 0.4, 0.1], [0.2, 0.3, 0.5], [0.34, 0.33, 0.33]])
    assert reported(probs).tolist() == [[True, False, False], [False, False, True], [True, False, False]]
    # cut 0.3: row 1 adds 0.4; row 2 adds 0.3 (reaches it); row 3 adds both 0.33
    assert reported(probs, 0.3).tolist() == [[True, True, False], [False, True, True], [True, True, True]]
    # a cut above every probability still reports the top pair: an actor present has an action
    assert reported(probs, 0.9).tolist() == reported(probs).tolist()


def test_the_cut_is_chosen_by_per_sample_f1_and_the_top_pair_wins_ties():
    probs = np.array([[0.55, 0.45, 0.0], [0.9, 0.05, 0.05]])
    two = np.array([[1, 1, 0], [1, 0, 0]], bool)  # the first sample truly holds both pairs
    # top pair: F1 2/3 and 1 -> 5/6; any cut in (0.05, 0.45] adds the 0.45: F1 1 and 1 -> 1; the highest F1
    # comes first in the cuts tried (0.05 also adds row 2's 0.05s: F1 1/2 there), so 0.1 is chosen
    cut, f1 = best_cut(probs, two)
    assert cut == pytest.approx(0.1) and f1 == pytest.approx(1.0)
    one = np.array([[1, 0, 0], [1, 0, 0]], bool)  # one pair each: no cut beats the top pair, so none is kept
    assert best_cut(probs, one) == (None, pytest.approx(1.0))
    assert best_cut(np.zeros((0, 3)), np.zeros((0, 3), bool))[0] is None
