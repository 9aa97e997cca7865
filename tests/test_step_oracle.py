"""The step-clause oracle of evaluate.planning: tools classified from the annotators' own step descriptions."""

from __future__ import annotations

import numpy as np

from orchestai.data.examples import PlanExample
from orchestai.evaluate.step_oracle import described_slots, step_description_plans
from orchestai.planner.metrics import Plan, plan_metrics

# each clause is one direction in a 4-d space: a toy encoder whose neighbours are exact
CLAUSE_VECTORS = {"find a train": 0, "book the seat": 1, "change the alarm": 2, "pay the bill": 3}
TYPE_NAMES = ["search", "book", "alarm_change", "alarm_set", "pay"]


def _embed(texts: list[str]) -> np.ndarray:
    vectors = np.zeros((len(texts), len(CLAUSE_VECTORS)), dtype=np.float32)
    for row, text in enumerate(texts):
        vectors[row, CLAUSE_VECTORS[text]] = 1.0
    return vectors


def _example(k: int, steps: list[tuple[int, str]], described: int | None = None) -> PlanExample:
    n = len(steps)
    return PlanExample(
        f"r{k}", f"request {k}", tuple(t for t, _ in steps), tuple(() if i == 0 else (i - 1,) for i in range(n)),
        tuple(-1 for _ in steps), tuple(10 for _ in steps), tuple(10 for _ in steps),
        step_clauses=tuple(steps[:described]),
    )  # fmt: skip


def _records(n: int = 80) -> list[PlanExample]:
    """ "change the alarm" is annotated alarm_change in a quarter of the records and alarm_set in another quarter."""
    examples = []
    for k in range(n):
        if k % 2:
            examples.append(_example(k, [(0, "find a train"), (1, "book the seat")]))
        else:
            examples.append(_example(k, [(2 if k % 4 == 0 else 3, "change the alarm"), (4, "pay the bill")]))
    return examples


def test_described_slots_pairs_each_step_with_its_own_clause():
    # the same tool twice takes two clauses, in order; a step without a clause: None
    assert described_slots(_example(0, [(0, "find a train"), (1, "book the seat"), (0, "find a train")])) == [0, 1, 2]
    assert described_slots(_example(1, [(0, "find a train"), (4, "pay the bill")], described=1)) is None


def test_oracle_classifies_the_described_steps_and_keeps_the_gold_links():
    held_out = [
        _example(200, [(0, "find a train"), (1, "book the seat")]),
        _example(201, [(3, "change the alarm"), (4, "pay the bill")]),
        _example(202, [(0, "find a train"), (4, "pay the bill")], described=1),
    ]
    plans = step_description_plans(_records(), held_out, _embed, len(TYPE_NAMES))
    assert set(plans) == {0, 1}  # the record with an undescribed step is left out
    assert plans[0].types == (0, 1) and plans[0].parents == ((), (0,))
    # an evenly split annotation: the oracle names one of the two alarm tools
    assert plans[1].types[0] in (2, 3) and plans[1].types[1] == 4 and plans[1].parents == ((), (0,))
    assert step_description_plans(_records(), [], _embed, len(TYPE_NAMES)) == {}
    assert step_description_plans([], held_out, _embed, len(TYPE_NAMES)) == {}


def test_oracle_misses_only_where_the_annotation_is_split():
    held_out = [_example(300 + k, [(2 + k % 2, "change the alarm"), (4, "pay the bill")]) for k in range(10)]
    held_out += [_example(400 + k, [(0, "find a train"), (1, "book the seat")]) for k in range(10)]
    plans = step_description_plans(_records(), held_out, _embed, len(TYPE_NAMES))
    gold = [Plan(e.types, e.parents) for e in held_out]
    clear = plan_metrics([plans[k] for k in range(10, 20)], gold[10:], TYPE_NAMES)
    assert clear["exact_plan"] == 1.0
    # of the split records, the oracle names the same alarm tool every time: half of them are right
    assert len({plans[k].types[0] for k in range(10)}) == 1
    assert plan_metrics([plans[k] for k in range(20)], gold, TYPE_NAMES)["exact_plan"] == 0.75
