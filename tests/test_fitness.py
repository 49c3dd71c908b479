"""The swarm fitness on a table small enough to score by hand, on both of its paths (bytes for up
to eight groups, the generic one beyond)."""

import numpy as np
import pytest

from cascade.errors import CascadeError
from cascade.labels import GROUP_NAMES
from cascade.thresholds.fitness import check_fitness, swarm_cost, swarm_prf

PERSON, CAT, DOG = (GROUP_NAMES.index(g) for g in ("person", "cat", "dog"))


def _table():
    scores, truth = np.zeros((3, 6)), np.zeros((3, 6), bool)
    scores[0, [PERSON, DOG]] = 0.5, 0.2  # v1: a person, truly; a dog score of 0.2
    scores[1, [CAT, DOG]] = 0.3, 0.4  # v2: a dog, also seen as a cat
    truth[0, PERSON] = truth[1, DOG] = True  # v3: nothing at all, truly nothing
    return scores, truth


# particle A (all 0.2): v1 {person, dog} P 1/2 R 1 F1 2/3; v2 {cat, dog} P 1/2 R 1 F1 2/3; v3 {} P 0 R 1 F1 1
#   with cat-dog: v2 keeps only the dog (0.4 > 0.3): P 1 R 1 F1 1
# particle B (all 0.45): v1 {person} P 1 R 1 F1 1; v2 {} P 0 R 0 F1 0; v3 {} P 0 R 1 F1 1
SWARM = np.array([[0.2] * 6, [0.45] * 6])
PLAIN = [[1 / 3, 1 / 3], [1, 2 / 3], [7 / 9, 2 / 3]]
RULED = [[1 / 2, 1 / 3], [1, 2 / 3], [8 / 9, 2 / 3]]


def test_swarm_prf_by_hand_with_and_without_the_rule():
    scores, truth = _table()
    assert np.array(swarm_prf(SWARM, scores, truth)) == pytest.approx(np.array(PLAIN), abs=1e-7)
    assert np.array(swarm_prf(SWARM, scores, truth, ("cat-dog",))) == pytest.approx(np.array(RULED), abs=1e-7)
    one = swarm_prf(SWARM[0], scores, truth)  # one candidate: a swarm of one
    assert [v.shape for v in one] == [(1,)] * 3


def test_more_groups_than_a_byte_take_the_generic_path_with_the_same_values():
    scores, truth = _table()
    wide_scores, wide_truth = np.pad(scores, ((0, 0), (0, 3))), np.pad(truth, ((0, 0), (0, 3)))  # 3 empty groups
    wide_swarm = np.pad(SWARM, ((0, 0), (0, 3)), constant_values=0.5)
    assert np.array(swarm_prf(wide_swarm, wide_scores, wide_truth)) == pytest.approx(np.array(PLAIN), abs=1e-7)
    assert np.array(swarm_prf(wide_swarm, wide_scores, wide_truth, ("cat-dog",))) == pytest.approx(
        np.array(RULED), abs=1e-7)


def test_costs_are_the_negated_fitness_and_truth_may_be_numbers():
    scores, truth = _table()
    assert swarm_cost(SWARM, scores, truth, "prf1") == pytest.approx([-(1 / 3) * 1 * 7 / 9, -(1 / 3) * (2 / 3) * (2 / 3)])
    assert swarm_cost(SWARM, scores, truth, "p") == pytest.approx([-1 / 3, -1 / 3])
    assert swarm_cost(SWARM, scores, truth, "f1") == pytest.approx([-7 / 9, -2 / 3])
    for numbers in (truth.astype(np.int64), truth.astype(np.float64)):
        assert swarm_cost(SWARM, scores, numbers, "f1") == pytest.approx([-7 / 9, -2 / 3])


def test_check_fitness_names_the_valid_ones():
    assert [check_fitness(name) for name in ("prf1", "p", "f1")] == ["prf1", "p", "f1"]
    with pytest.raises(CascadeError) as caught:
        check_fitness("recall")
    assert str(caught.value) == "unknown fitness 'recall'; valid: prf1, p, f1"
