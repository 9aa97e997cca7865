"""Synthetic compositions of two training requests: one request that asks for both, with both plans chained.

Real planning data sets hold few requests that combine unrelated intents ("book the
train, then set an alarm"): UltraTool has no request mentioning both a flight and a
calendar. A planner trained on them learns each domain's usual plan length and keeps it
when a request adds an intent. A composition joins request ``a`` and request ``b``
("<a>, and then <b>") and chains their plans (``a``'s steps, then ``b``'s, the last of
``a`` feeding the first of ``b`` where the catalogue's graph allows that link; otherwise
``b``'s part stands apart, as a second intent does), so the number of steps follows the
number of things asked. They are synthetic examples, drawn with a seed from the training
split only, and named ``composed-<a>+<b>``.

A second intent is often one short clause ("..., then set an alarm for 6 am"), unlike a
whole request. Where a data set describes each step of its plans (UltraTool's
``task_steps``: "Step 2 Call clock_alarm_set to set a new alarm for 7 am"), a *step
composition* joins a training request and one such clause of another training record
("<a>, then set a new alarm for 7 am", or the clause first), the plan ``a``'s with that
step added (named ``composed-<a>+<b>.step<k>``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from orchestai.data.examples import PlanExample

CONNECTIVES = (", and then ", ", then ", ". After that, ", ". Then ", " and also ")
STEP_CONNECTIVES = (", then ", ", and then ", " and ", ", and ", ". Then ", ". Also ")
COMPOSE_LINKS = ("graph", "any")  # Phase1Config.compose_links: which pairs of requests compose
MAX_COMPOSED_STEPS = 6


def _lower_first(text: str) -> str:
    first = text.split(maxsplit=1)[0] if text.split() else ""
    if first == "I" or first.startswith("I'") or first.isupper():
        return text
    return text[:1].lower() + text[1:]


def _joined(first: str, second: str, connective: str) -> str:
    return f"{first.strip().rstrip('.!?;,')}{connective}{_lower_first(second.strip())}"


def compose(a: PlanExample, b: PlanExample, connective: str, linked: bool = True) -> PlanExample:
    """One request asking for ``a`` and then ``b``; ``linked``: ``b``'s first step is fed by ``a``'s last."""
    n = a.n_subtasks
    joining = (n - 1,) if linked else ()
    parents = (*a.parents, *(tuple(p + n for p in ps) + (joining if i == 0 else ()) for i, ps in enumerate(b.parents)))
    quality = (*a.input_quality, *b.input_quality) if a.input_quality and b.input_quality else ()
    return PlanExample(
        id=f"composed-{a.id}+{b.id}",
        instruction=_joined(a.instruction, b.instruction, connective),
        types=(*a.types, *b.types),
        parents=tuple(tuple(sorted(ps)) for ps in parents),
        models=(*a.models, *b.models),
        input_tokens=(*a.input_tokens, *b.input_tokens),
        output_tokens=(*a.output_tokens, *b.output_tokens),
        input_quality=quality,
    )


def composed_examples(
    examples: Sequence[PlanExample],
    fraction: float,
    seed: int,
    allowed: set[tuple[int, int]] | None = None,
    links: str = "graph",
    max_steps: int = MAX_COMPOSED_STEPS,
) -> tuple[list[PlanExample], list[tuple[int, int]]]:
    """Up to ``round(fraction * len(examples))`` compositions of two examples, and the positions of each one's parts.

    Pairs are drawn with ``seed`` (at most 50 draws per composition asked for); a pair is
    kept when its plans share no type and together have at most ``max_steps`` steps.
    Where a graph of ``allowed`` (parent type, child type) links is given, with ``links``
    "graph" a pair is kept only when the link from ``a``'s last step to ``b``'s first is
    in it (UltraTool: 684 of 1,090 asked for); with "any" every pair is kept and ``b``'s
    part stands apart where the graph has no such link (most pairs of unrelated
    UltraTool requests: the request asks for two unrelated things).
    """
    wanted = int(round(fraction * len(examples)))
    if wanted == 0 or len(examples) < 2:
        return [], []
    rng = np.random.default_rng(seed)
    composed: list[PlanExample] = []
    parts: list[tuple[int, int]] = []
    for _ in range(50 * wanted):
        if len(composed) == wanted:
            break
        i, j = (int(k) for k in rng.choice(len(examples), size=2, replace=False))
        connective = CONNECTIVES[int(rng.integers(len(CONNECTIVES)))]
        a, b = examples[i], examples[j]
        if not a.types or not b.types or set(a.types) & set(b.types) or a.n_subtasks + b.n_subtasks > max_steps:
            continue
        linked = allowed is None or (a.types[-1], b.types[0]) in allowed
        if not linked and links == "graph":
            continue
        composed.append(compose(a, b, connective, linked))
        parts.append((i, j))
    return composed, parts


def step_example(source: PlanExample, k: int) -> PlanExample:
    """A one-step request made of ``source``'s k-th step clause (its tool, no links)."""
    tool, clause = source.step_clauses[k]
    return PlanExample(f"{source.id}.step{k}", clause[:1].upper() + clause[1:], (tool,), ((),), (-1,), (0,), (0,))


def step_compositions(
    examples: Sequence[PlanExample],
    fraction: float,
    seed: int,
    allowed: set[tuple[int, int]] | None = None,
    max_steps: int = MAX_COMPOSED_STEPS,
) -> tuple[list[PlanExample], list[int]]:
    """Up to ``round(fraction * len(examples))`` step compositions, and the position of each one's request.

    Each joins an example ``a`` and one step clause of another example (drawn with
    ``seed``; at most 50 draws per composition asked for), the clause after ``a`` or
    before it (even odds). A draw is kept when the clause's tool is not in ``a``'s plan
    and the plan stays within ``max_steps``. The step is linked to ``a``'s adjacent end
    step where there is no graph of ``allowed`` (parent type, child type) links or the
    graph has that link; otherwise it stands apart, as a second intent does.
    """
    wanted = int(round(fraction * len(examples)))
    described = [(j, k) for j, e in enumerate(examples) for k in range(len(e.step_clauses))]
    if wanted == 0 or len(examples) < 2 or not described:
        return [], []
    rng = np.random.default_rng(seed)
    composed: list[PlanExample] = []
    requests: list[int] = []
    for _ in range(50 * wanted):
        if len(composed) == wanted:
            break
        i = int(rng.integers(len(examples)))
        j, k = described[int(rng.integers(len(described)))]
        connective = STEP_CONNECTIVES[int(rng.integers(len(STEP_CONNECTIVES)))]
        before = bool(rng.integers(2))
        a = examples[i]
        tool = examples[j].step_clauses[k][0]
        if i == j or not a.types or tool in a.types or a.n_subtasks + 1 > max_steps:
            continue
        step = step_example(examples[j], k)
        first, second = (step, a) if before else (a, step)
        linked = allowed is None or (first.types[-1], second.types[0]) in allowed
        composed.append(compose(first, second, connective, linked))
        requests.append(i)
    return composed, requests
