from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from orchestai.data.examples import examples_from_logs
from orchestai.logs.io import load_logs
from orchestai.planner.checkpoint import CheckpointError, load_planner, save_checkpoint
from orchestai.planner.dag import decode_dag, notears_dag_loss
from orchestai.planner.inference import predict_plans
from orchestai.planner.metrics import Plan, is_dag, plan_metrics, record_f1
from orchestai.planner.model import PlannerConfig, PlannerModel
from orchestai.planner.tensors import tensorize
from orchestai.planner.vocabulary import vocabulary_for_world
from orchestai.world.world import World

TINY = PlannerConfig(d_model=32, conv_layers=2, slot_layers=1, n_heads=2, dropout=0.0)


@pytest.fixture(scope="module")
def examples(world: World, small_log_file: Path):
    return examples_from_logs(load_logs(small_log_file, world).logs, world)


def test_dag_loss_is_zero_on_a_dag_and_positive_on_a_cycle():
    dag = torch.tensor([[0.0, 0.9, 0.4], [0.0, 0.0, 0.8], [0.0, 0.0, 0.0]])
    cycle = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert float(notears_dag_loss(dag)) == pytest.approx(0.0, abs=1e-6)
    # tr(exp([[0, 1], [1, 0]])) - 2 = 2 cosh(1) - 2
    assert float(notears_dag_loss(cycle)) == pytest.approx(2 * math.cosh(1.0) - 2, rel=1e-5)
    padded = torch.zeros(4, 4)
    padded[:2, :2] = cycle
    assert float(notears_dag_loss(padded)) == pytest.approx(2 * math.cosh(1.0) - 2, rel=1e-5)


def test_decode_dag_skips_the_edge_that_closes_a_cycle():
    probabilities = np.zeros((4, 4))
    probabilities[0, 1], probabilities[1, 2], probabilities[2, 0] = 0.9, 0.8, 0.7  # a 3-cycle
    probabilities[2, 3] = 0.6
    probabilities[3, 0] = 0.4  # below the threshold
    parents = decode_dag(probabilities, 4, threshold=0.5)
    assert parents == [(), (0,), (1,), (2,)]
    assert is_dag(parents)


def test_decoded_plans_are_dags_even_when_every_raw_edge_is_likely(world: World, examples):
    model = PlannerModel(TINY, vocabulary_for_world(world))
    with torch.no_grad():
        model.edge_bias.fill_(20.0)  # every ordered pair, both directions: cycles everywhere
    batch = tensorize(examples[:8], model.vocabulary)
    with torch.no_grad():
        probabilities = torch.sigmoid(model.edge_logits(model.decompose(model.encode(batch.tokens))))
    assert float(probabilities[0, 0, 1]) > 0.99 and float(probabilities[0, 1, 0]) > 0.99
    plans = predict_plans(model, batch)
    assert all(is_dag(p.parents) for p in plans)
    for plan in plans:
        for t, m in zip(plan.types, plan.models, strict=True):
            assert world.capable[t, m]  # only capable models are chosen


def test_metrics_on_hand_made_plans():
    names = ["a", "b", "c"]
    gold = [Plan((0, 1, 2), ((), (0,), (1,)), (0, 1, -1))]
    assert plan_metrics(gold, gold, names)["edge_f1"] == 1.0
    wrong = [Plan((0, 1, 1), ((), (0,), (0,)), (0, 2, 2))]
    m = plan_metrics(wrong, gold, names)
    assert m["type_accuracy"] == pytest.approx(2 / 3)
    assert m["node_f1"] == pytest.approx(2 * (2 / 2) * (2 / 3) / (2 / 2 + 2 / 3))  # sets {a,b} vs {a,b,c}
    assert m["model_accuracy"] == pytest.approx(1 / 2)  # the third gold subtask has no model
    assert m["edge_f1_position"] == pytest.approx(0.5)  # (0,1) right, (0,2) vs (1,2) wrong
    assert record_f1(["x", "x"], ["x"]) == pytest.approx(2 * 0.5 * 1.0 / 1.5)  # GNN4TaskPlan's list denominators


def test_checkpoint_round_trip_with_weights_only(tmp_path: Path, world: World, examples):
    model = PlannerModel(TINY, vocabulary_for_world(world))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    path = save_checkpoint(tmp_path / "p.pth", model, optimizer, epoch=3, val_loss=1.25)
    raw = torch.load(path, weights_only=True)
    assert {"epoch", "model_state_dict", "optimizer_state_dict", "val_loss"} <= raw.keys()
    assert raw["epoch"] == 3 and raw["val_loss"] == 1.25
    loaded, _ = load_planner(path, world.names_signature())
    batch = tensorize(examples[:5], model.vocabulary)
    model.eval()
    with torch.no_grad():
        a, b = model(batch.tokens, batch.types, batch.features), loaded(batch.tokens, batch.types, batch.features)
    for key in a:
        torch.testing.assert_close(a[key], b[key])
    assert predict_plans(model, batch) == predict_plans(loaded, batch)


def test_world_mismatch_is_a_clear_error(tmp_path: Path, world: World):
    model = PlannerModel(TINY, vocabulary_for_world(world))
    path = save_checkpoint(tmp_path / "p.pth", model, None, epoch=1, val_loss=1.0)
    signature = world.names_signature()
    signature["models"] = signature["models"][:-1] + ["gpt-17"]
    with pytest.raises(CheckpointError, match=r"trained for a different world: its models differ .*missing \['gpt-17'\]"):
        load_planner(path, signature)


def test_interrupted_save_leaves_the_old_checkpoint_intact(tmp_path: Path, world: World, monkeypatch):
    model = PlannerModel(TINY, vocabulary_for_world(world))
    path = save_checkpoint(tmp_path / "best.pth", model, None, epoch=1, val_loss=2.0)
    before = path.read_bytes()
    real_save = torch.save

    def dying_save(obj, target, *args, **kwargs):
        real_save(obj, target, *args, **kwargs)
        with open(target, "r+b") as handle:  # leave a truncated file behind, then die
            handle.truncate(100)
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, None, epoch=2, val_loss=1.0)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["best.pth"]
    monkeypatch.undo()
    assert load_planner(path)[1]["epoch"] == 1


def test_truncated_or_foreign_file_is_a_checkpoint_error(tmp_path: Path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable planner checkpoint"):
        load_planner(bad)


def test_observation_layout_mismatch_is_a_clear_error(tmp_path: Path, world: World):
    model = PlannerModel(TINY, vocabulary_for_world(world))
    path = save_checkpoint(tmp_path / "p.pth", model, None, epoch=1, val_loss=1.0)
    load_planner(path, world.names_signature())  # this version's layout: fine
    data = torch.load(path, weights_only=True)
    data["observation_layout"] = {**data["observation_layout"], "version": ["0"], "progress": ["COST", "MAKESPAN"]}
    torch.save(data, path)
    with pytest.raises(
        CheckpointError, match=r"observation layout 0, this version reads layout 1 \(differs in progress, version\)"
    ):
        load_planner(path, world.names_signature())
