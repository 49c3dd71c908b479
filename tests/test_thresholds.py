import json
import logging

import numpy as np
import pytest

from cascade.cli.main import main
from cascade.data import open_dataset
from cascade.defaults import DEFAULT_THRESHOLDS
from cascade.errors import CascadeError
from cascade.metrics import sample_prf
from cascade.thresholds import Thresholds, load_thresholds, save_thresholds
from cascade.thresholds.fitness import swarm_cost
from cascade.thresholds.tune import constant_baseline, grid_search, tune_pso
from cascade.thresholds.workflow import labelled_scores
from conftest import WEIGHTS


@pytest.fixture(scope="module")
def train_scores(detected_run, sample_release):
    scores, truth = labelled_scores(open_dataset(sample_release), "train", detected_run, conf=0.5)
    return scores.to_numpy(), truth


def test_swarm_cost_equals_the_challenge_formula_per_particle():
    rng = np.random.default_rng(1)
    scores, truth = rng.random((200, 6)), rng.random((200, 6)) < 0.3
    truth[:5] = False  # videos with no actor take the metric's empty-truth branch
    swarm = rng.uniform(0.1, 0.4, (40, 6))
    loop = [-np.prod(sample_prf(scores >= p, truth)) for p in swarm]
    assert np.allclose(swarm_cost(swarm, scores, truth, "prf1"), loop)
    nine = rng.random((50, 9)), rng.random((50, 9)) < 0.3  # more groups than a byte holds: generic path
    assert np.allclose(swarm_cost(swarm[:, :1].repeat(9, 1), *nine, "f1"),
                       [-sample_prf(nine[0] >= p, nine[1])[2] for p in swarm[:, :1].repeat(9, 1)])
    p_only = swarm_cost(swarm, scores, truth, "p")
    assert p_only.shape == (40,) and (p_only <= 0).all()


def test_pso_is_at_least_as_good_as_the_constant_baseline(train_scores):
    scores, truth = train_scores
    pso = tune_pso(scores, truth, particles=20, iters=5, restarts=2, seed=0)
    constant = constant_baseline(scores, truth)
    assert pso.value >= constant.value
    assert ((pso.thresholds >= 0.1) & (pso.thresholds <= 0.4)).all()
    assert len(pso.history) == 2 and len(pso.history[0]) == 5
    assert grid_search(scores, truth).value >= constant.value


def test_same_seed_same_thresholds(train_scores):
    scores, truth = train_scores
    first = tune_pso(scores, truth, particles=10, iters=4, restarts=2, seed=3)
    again = tune_pso(scores, truth, particles=10, iters=4, restarts=2, seed=3)
    other = tune_pso(scores, truth, particles=10, iters=4, restarts=2, seed=4)
    assert np.array_equal(first.thresholds, again.thresholds)
    assert not np.array_equal(first.thresholds, other.thresholds)


def test_pyswarms_leaves_logging_and_cwd_alone(train_scores, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    tune_pso(*train_scores, particles=5, iters=2, restarts=1)
    assert list(root.handlers) == handlers and root.level == level
    assert not (tmp_path / "report.log").exists()


def test_thresholds_file_round_trip_and_errors(tmp_path):
    saved = Thresholds(values=dict(person=0.2, ball=0.3, bird=0.1, car=0.1, cat=0.15, dog=0.25), conf=0.4,
                       method="pso", fitness="prf1", precision=0.8, recall=0.7, f1=0.72, data="A2D", split="train")
    save_thresholds(tmp_path / "thresholds.json", saved)
    assert load_thresholds(tmp_path) == saved
    assert load_thresholds(tmp_path / "elsewhere").method.startswith("built-in")
    with pytest.raises(CascadeError, match="no thresholds"):
        load_thresholds(tmp_path / "elsewhere", "file")
    not_ours = f"{tmp_path / 'thresholds.json'}: not a cascade thresholds file"
    replace = "run `cascade tune-thresholds` to replace it, or pass --thresholds builtin"
    needs = ("it needs a number under 'values' for each of person, ball, bird, car, cat, dog; a number 'conf'; a "
             "list 'rules'")
    for text in (json.dumps({"values": {"person": 0.2}}), json.dumps({**saved.to_json(), "rules": "cat-dog"})):
        (tmp_path / "thresholds.json").write_text(text)
        with pytest.raises(CascadeError) as caught:
            load_thresholds(tmp_path)
        assert str(caught.value) == f"{not_ours} ({needs}); {replace}"  # the second: rules as a string
    (tmp_path / "thresholds.json").write_text("{half")
    with pytest.raises(CascadeError) as caught:
        load_thresholds(tmp_path)
    assert str(caught.value) == f"{not_ours} (not JSON text); {replace}"


def test_cli_tune_thresholds_writes_file_and_report(run_copy, sample_release, capsys):
    code = main(["tune-thresholds", "--data", str(sample_release), "--run-dir", str(run_copy), "--weights",
                 str(WEIGHTS), "--device", "cpu", "--particles", "10", "--iters", "3", "--restarts", "2", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert [row["method"] for row in out["table"]] == ["builtin", "shrink", "margin", "pso", "grid", "constant 0.15"]
    saved = json.loads((run_copy / "thresholds.json").read_text())
    assert saved["method"] == "builtin" and saved["split"] == "train" and saved["conf"] == 0.5
    assert saved["values"] == DEFAULT_THRESHOLDS  # the default saves the seed's published thresholds
    for name in ("sweep.png", "pso_cost.png"):
        assert (run_copy / "thresholds" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "method" in (run_copy / "thresholds" / "table.csv").read_text()
