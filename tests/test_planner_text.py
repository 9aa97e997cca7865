"""The planner on real text: encoder cache, catalogue grounding, graph-respecting decoding, retrieval prior, familiarity."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestai.data.examples import PlanExample, held_out_types
from orchestai.envs.embeddings import (
    EMBEDDINGS_EXTRA_HINT,
    TokenStateCache,
    embeddings_available,
    resolve_precision,
)
from orchestai.planner.inference import beam_types, decode_plans
from orchestai.planner.metrics import Plan, is_dag
from orchestai.planner.model import PlannerConfig, PlannerModel
from orchestai.planner.text_inputs import RetrievalMemory, bag_of_words
from orchestai.planner.vocabulary import vocabulary_for_catalogue, with_plan_rules

needs_minilm = pytest.mark.skipif(not embeddings_available(), reason=f"needs the embeddings extra: {EMBEDDINGS_EXTRA_HINT}")


def _example(k: int, types: tuple[int, ...], text: str = "") -> PlanExample:
    n = len(types)
    parents = tuple(() if i == 0 else (i - 1,) for i in range(n))
    return PlanExample(str(k), text or f"request {k}", types, parents, (-1,) * n, (0,) * n, (0,) * n)


@needs_minilm
def test_the_token_state_cache_hits_misses_and_rebuilds_a_corrupted_file(tmp_path: Path, capsys: pytest.CaptureFixture):
    cache = TokenStateCache(tmp_path)
    first = cache.states(["Book a flight to Rome. Then add it to my calendar!", "set an alarm"])
    assert cache.encoded == 2 and cache.path is not None and cache.path.exists()
    assert first[0].states.shape[1] == 384 and first[0].states.dtype == np.float16
    assert first[0].sentence[0] == 0 and first[0].sentence.max() == 2  # two sentence ends, then [SEP]
    assert abs(float(np.linalg.norm(first[0].pooled)) - 1.0) < 1e-5

    again = TokenStateCache(tmp_path)
    second = again.states(["set an alarm", "a new text"])  # one hit from the file, one miss
    assert again.encoded == 1
    np.testing.assert_array_equal(second[0].states, first[1].states)  # read back exactly

    cache.path.write_bytes(b"not a zip file at all")
    rebuilt = TokenStateCache(tmp_path)
    third = rebuilt.states(["set an alarm"])
    assert rebuilt.encoded == 1  # rebuilt, not read
    # encoded again (alone, not padded in a batch: equal up to float16 rounding)
    np.testing.assert_allclose(third[0].states.astype(np.float32), first[1].states.astype(np.float32), atol=2e-2)
    err = capsys.readouterr().err
    assert "unreadable text-encoder cache" in err and str(cache.path) in err and len(err.strip().splitlines()) == 1
    assert cache.path.with_suffix(".corrupt").exists()
    assert TokenStateCache(tmp_path).states(["set an alarm"]) and not list(tmp_path.glob(".*.tmp.npz"))


@needs_minilm
def test_bfloat16_token_states_agree_with_float32_and_are_cached_apart(tmp_path: Path):
    texts = ["Book a flight to Rome, then add it to my calendar.", "set an alarm for 6 am"]
    exact = TokenStateCache(tmp_path).states(texts)
    fast = TokenStateCache(tmp_path, precision="bfloat16")
    assert fast.path is not None and fast.path.name == "tokens-all-MiniLM-L6-v2-bfloat16.npz"
    rounded = fast.states(texts)
    assert fast.encoded == 2  # not read from the float32 file
    for a, b in zip(exact, rounded, strict=True):
        assert a.states.shape == b.states.shape and b.states.dtype == np.float16
        np.testing.assert_array_equal(a.sentence, b.sentence)
        assert float(a.pooled @ b.pooled) > 0.999
        assert not np.array_equal(a.states, b.states)  # computed in bfloat16 indeed
    assert TokenStateCache(tmp_path).states(texts)[0].states.tobytes() == exact[0].states.tobytes()
    assert resolve_precision("float32") == "float32"
    assert resolve_precision("auto") in ("bfloat16", "float32")
    with pytest.raises(ValueError, match="encoder precision must be auto or one of float32, bfloat16"):
        TokenStateCache(tmp_path, precision="float16")


def _fake_encoder(monkeypatch: pytest.MonkeyPatch, seconds: dict[str, float] | None = None) -> list[list[str]]:
    """Replace MiniLM with a fake encoder (one zero state per word; ``seconds`` per call and precision); returns its calls."""
    import time

    from orchestai.envs import embeddings

    calls: list[list[str]] = []

    def encode(texts, batch_size, layer=None, precision="float32"):
        calls.append(list(texts))
        time.sleep((seconds or {}).get(precision, 0.0))
        return [
            embeddings.TokenStates(np.zeros((len(t.split()), 2), np.float16), np.zeros(len(t.split()), np.int16))
            for t in texts
        ]

    monkeypatch.setattr(embeddings, "_encode_tokens", encode)
    return calls


@pytest.mark.parametrize(("bfloat16_seconds", "chosen"), [(0.001, "bfloat16"), (0.02, "float32"), (0.0095, "float32")])
def test_auto_precision_takes_bfloat16_only_where_it_is_measured_clearly_faster(
    monkeypatch: pytest.MonkeyPatch, bfloat16_seconds: float, chosen: str
):
    from orchestai.envs import embeddings

    _fake_encoder(monkeypatch, {"float32": 0.01, "bfloat16": bfloat16_seconds})
    embeddings.fastest_precision.cache_clear()
    monkeypatch.setattr(embeddings, "bfloat16_is_fast", lambda: True)
    try:
        assert resolve_precision("auto") == chosen  # 0.0095 s: faster, but not by 10%
        embeddings.fastest_precision.cache_clear()
        monkeypatch.setattr(embeddings, "bfloat16_is_fast", lambda: False)
        calls = _fake_encoder(monkeypatch)
        assert resolve_precision("auto") == "float32" and calls == []  # no bfloat16 hardware: nothing to measure
    finally:
        embeddings.fastest_precision.cache_clear()


def test_a_cache_without_a_folder_keeps_only_the_most_recent_texts_and_serves_threads(monkeypatch: pytest.MonkeyPatch):
    from concurrent.futures import ThreadPoolExecutor

    from orchestai.envs import embeddings

    calls = _fake_encoder(monkeypatch)
    monkeypatch.setattr(embeddings, "MEMORY_ONLY_TEXTS", 3)
    cache = TokenStateCache(None)
    assert [len(s.states) for s in cache.states(["one", "two words", "three more words"])] == [1, 2, 3]
    cache.states(["four words at once"])  # the least recently used text is dropped
    assert cache.states(["two words"]) and cache.encoded == 4  # still kept: a hit, now the most recently used
    assert cache.states(["one"]) and cache.encoded == 5  # dropped: encoded again, dropping "three more words"
    assert cache.states(["two words"]) and cache.encoded == 5
    assert cache.states(["three more words"]) and cache.encoded == 6
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda k: cache.states([f"text {k}", "shared text"]), range(40)))
    assert all(len(a.states) == 2 and len(b.states) == 2 for a, b in found)
    assert len(cache._memory) <= 3 and sum(len(c) for c in calls) == cache.encoded


def test_the_retrieval_prior_is_the_similarity_weighted_vote_of_the_nearest_plans_and_never_sees_itself():
    vectors = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0]], dtype=np.float32)
    memory = RetrievalMemory.build(vectors, [_example(0, (0, 1)), _example(1, (0, 2)), _example(2, (2,))])
    prior = memory.prior(np.array([[1.0, 0.0]]), k=2, n_slots=4, n_types=3)
    assert prior.shape == (1, 4, 4)
    np.testing.assert_allclose(prior.sum(-1), 1.0, rtol=1e-6)  # a distribution per slot
    assert prior[0, 0, 0] == pytest.approx(1.0)  # both neighbours start with type 0
    assert prior[0, 1, 1] > prior[0, 1, 2] > 0  # the nearer neighbour's second step weighs more
    assert prior[0, 2, 3] == pytest.approx(1.0) and prior[0, 1, 2] + prior[0, 1, 1] == pytest.approx(1.0)
    left_out = memory.prior(vectors[:1], k=1, n_slots=4, n_types=3, exclude=[0])
    assert left_out[0, 1, 2] == pytest.approx(1.0)  # record 0 sees record 1's plan, not its own
    assert memory.nearest(vectors[:1], exclude=[0])[0] == pytest.approx(0.99 / float(np.hypot(0.99, 0.14)), rel=1e-5)
    restored = RetrievalMemory.from_state(memory.state())
    assert restored.types == memory.types and restored.nearest_quantile == pytest.approx(memory.nearest_quantile)
    counts = bag_of_words(["book book a flight"], 64)
    assert counts.shape == (1, 64) and counts.sum() == 4


def test_held_out_types_are_a_seeded_share_of_the_used_types():
    examples = [_example(k, (k % 10, (k + 1) % 10)) for k in range(40)]
    first, again = held_out_types(examples, 0.2, 0), held_out_types(examples, 0.2, 0)
    assert first == again and len(first) == 2 and first <= set(range(10))
    assert held_out_types(examples, 0.0, 0) == set()
    assert held_out_types(examples, 0.2, 1) != first or held_out_types(examples, 0.2, 2) != first


def test_plans_that_never_repeat_a_type_make_decoding_forbid_repeats():
    vocabulary = vocabulary_for_catalogue(["a", "b", "c"], "toy")
    assert with_plan_rules(vocabulary, [_example(0, (0, 1)), _example(1, (2,))]).repeat_types is False
    assert with_plan_rules(vocabulary, [_example(0, (0, 0)), _example(1, (2,))]).repeat_types is True


def test_plans_with_a_step_no_other_feeds_let_decoding_leave_a_step_unfed():
    vocabulary = vocabulary_for_catalogue(["a", "b", "c"], "toy")
    chained = [_example(k, (0, 1)) for k in range(10)]  # every later step fed
    apart = PlanExample("apart", "a, and then c", (0, 2), ((), ()), (-1, -1), (1, 1), (1, 1))
    assert with_plan_rules(vocabulary, chained).unfed_steps is False
    assert with_plan_rules(vocabulary, [*chained, apart]).unfed_steps is True  # 1 of 11 is at least 5%
    assert with_plan_rules(vocabulary, [*chained * 4, apart]).unfed_steps is False  # 1 of 41 is not


def test_plans_that_feed_every_step_the_graph_lets_be_fed_make_decoding_feed_them():
    vocabulary = vocabulary_for_catalogue(["a", "b", "c"], "toy", allowed_edges=[[0, 1]])
    chained = [_example(k, (0, 1)) for k in range(10)]
    apart = PlanExample("apart", "a, and then c", (0, 2), ((), ()), (-1, -1), (1, 1), (1, 1))  # no a -> c link
    unfed = PlanExample("unfed", "a, and b", (0, 1), ((), ()), (-1, -1), (1, 1), (1, 1))  # a may feed b, does not
    assert with_plan_rules(vocabulary, [*chained, apart]).fed_where_allowed is True
    assert with_plan_rules(vocabulary, [*chained, unfed]).fed_where_allowed is False  # 1 of 11 is at least 5%
    assert with_plan_rules(vocabulary_for_catalogue(["a", "b"], "toy"), chained).fed_where_allowed is False  # no graph


def test_feeding_where_allowed_adds_the_most_likely_allowed_parent_and_never_a_cycle():
    from orchestai.planner.dag import feed_where_allowed

    probabilities = np.array([[0, 0.3, 0.2, 0], [0, 0, 0.4, 0], [0, 0, 0, 0], [0.9, 0, 0, 0]])
    allowed = np.array([[0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=bool)
    # node 1: its only allowed parent 0; node 2: 1 is likelier than 0; node 3: no allowed parent, stands apart
    assert feed_where_allowed([(), (), (), ()], probabilities, allowed) == [(), (0,), (1,), ()]
    assert feed_where_allowed([(), (), (0,), ()], probabilities, allowed) == [(), (0,), (0,), ()]  # fed: kept
    allowed[0, 3] = True  # 3 -> 0 exists, so 0 -> 3 would close a cycle
    assert feed_where_allowed([(3,), (), (), ()], probabilities, allowed)[3] == ()


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_types=st.integers(2, 7),
    density=st.floats(0.0, 1.0),
    repeats=st.booleans(),
    unfed=st.booleans(),
    fed_where_allowed=st.booleans(),
)
def test_decoding_is_acyclic_and_respects_the_catalogue_graph(
    seed: int, n_types: int, density: float, repeats: bool, unfed: bool, fed_where_allowed: bool
):
    rng = np.random.default_rng(seed)
    allowed = rng.random((n_types, n_types)) < density
    edges = [[int(i), int(j)] for i, j in zip(*np.nonzero(allowed), strict=True)]
    vocabulary = vocabulary_for_catalogue([f"t{i}" for i in range(n_types)], "toy", allowed_edges=edges)
    rules = {"repeat_types": repeats, "unfed_steps": unfed, "fed_where_allowed": fed_where_allowed}
    vocabulary = type(vocabulary)(**{**vocabulary.__dict__, "max_subtasks": 6, **rules})
    model = PlannerModel(PlannerConfig(d_model=16, n_heads=2, slot_layers=0), vocabulary)
    type_logits = torch.from_numpy(rng.normal(0, 3, (3, 6, n_types + 1)).astype(np.float32))
    edge_logits = torch.from_numpy(rng.normal(0, 3, (3, 6, 6)).astype(np.float32))
    plans = decode_plans(model, torch.zeros(3, 16), type_logits, edge_logits, 0.5)
    for k, plan in enumerate(plans):
        assert is_dag(plan.parents)
        if not repeats:
            assert len(set(plan.types)) == len(plan.types)
        if not edges:  # no graph given: nothing more to respect
            continue
        for child, parents in enumerate(plan.parents):
            for parent in parents:
                assert allowed[plan.types[parent], plan.types[child]]  # only edges the graph allows
        for i in range(1, len(plan.types) if not unfed else 0):  # each later step fed where any type could be
            if allowed[list(plan.types[:i])].any():
                assert allowed[list(plan.types[:i]), plan.types[i]].any()
        graph = nx.DiGraph([(p, c) for c, ps in enumerate(plan.parents) for p in ps])
        graph.add_nodes_from(range(len(plan.types)))
        for i in range(1, len(plan.types) if fed_where_allowed else 0):  # fed wherever the graph lets it be
            feeders = [p for p in range(i) if allowed[plan.types[p], plan.types[i]]]
            assert plan.parents[i] or all(nx.has_path(graph, i, p) for p in feeders)  # unless only via a cycle
        log_probabilities = torch.log_softmax(type_logits[k], -1).numpy()
        assert plan.types == beam_types(log_probabilities, n_types, allowed if edges and not unfed else None, repeats)


def test_the_plan_length_is_decided_on_the_marginal_probability_of_a_step():
    # slot 1: "no subtask" 0.4 is the most likely single class, but a step (0.6 in all) is more likely than none
    probabilities = np.array([[0.9, 0.05, 0.05, 0.0], [0.2, 0.2, 0.2, 0.4], [0.01, 0.01, 0.01, 0.97]])
    log_probabilities = np.log(probabilities + 1e-12)
    assert beam_types(log_probabilities, 3, None, repeats=False) == (0, 1)


def test_a_graph_penalty_lets_a_confident_type_outside_the_graph_through():
    # types 0 -> 1 allowed; nothing may feed 2; slot 1 prefers 2 (0.7) over the allowed 1 (0.2)
    allowed = np.array([[False, True, False], [False, False, False], [False, False, False]])
    probabilities = np.array([[0.9, 0.05, 0.05, 0.0], [0.05, 0.2, 0.7, 0.05], [0.0, 0.0, 0.0, 1.0]])
    log_probabilities = np.log(probabilities + 1e-12)
    assert beam_types(log_probabilities, 3, allowed, repeats=False) == (0, 1)  # hard: only what the graph allows
    assert beam_types(log_probabilities, 3, allowed, repeats=False, penalty=0.5) == (0, 2)  # 0.7 x 0.5 > 0.2
    assert beam_types(log_probabilities, 3, allowed, repeats=False, penalty=0.1) == (0, 1)  # 0.07 < 0.2


def _toy_catalogue(tmp_path: Path) -> Path:
    """Twelve tools named by a keyword each; training requests never use the last one."""
    keywords = [
        "weather",
        "flight",
        "hotel",
        "train",
        "taxi",
        "music",
        "email",
        "calendar",
        "recipe",
        "stock",
        "news",
        "alarm",
    ]
    tools = [{"id": f"{w}_tool", "desc": f"tool for {w} requests"} for w in keywords]
    (tmp_path / "tool_desc.json").write_text(json.dumps({"nodes": tools}))
    records, k = [], 0
    rng = np.random.default_rng(0)
    for _ in range(30):
        for a in range(11):
            b = int(rng.integers(0, 11))
            if b == a:
                continue
            request = f"please handle my {keywords[a]} and then my {keywords[b]}"
            nodes = [{"task": f"{keywords[a]}_tool"}, {"task": f"{keywords[b]}_tool"}]
            links = [{"source": f"{keywords[a]}_tool", "target": f"{keywords[b]}_tool"}]
            records.append({"id": k, "user_request": request, "task_nodes": nodes, "task_links": links})
            k += 1
    path = tmp_path / "data.json"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


@pytest.mark.slow
@needs_minilm
def test_grounding_picks_a_described_catalogue_entry_never_seen_in_training(tmp_path: Path):
    data = _toy_catalogue(tmp_path)
    out = tmp_path / "run"
    flags = ["--format", "taskbench", "--data", str(data), "--epochs", "15", "--out-dir", str(out), "--no-progress",
             "--model-d-model", "32", "--model-grounding", "--model-encoder", "minilm", "--learning-rate", "3e-3",
             "--model-slot-layers", "1", "--text-cache-dir", str(tmp_path / "cache"), "--model-retrieval-k", "4"]  # fmt: skip
    trained = subprocess.run(
        [sys.executable, "-m", "orchestai.phase1.train", *flags], capture_output=True, text=True, timeout=600
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    checkpoint = next(out.glob("phase1_best_model_*.pth"))
    planned = subprocess.run(
        [sys.executable, "-m", "orchestai.plan", "please handle my alarm and then my weather", "--checkpoint", str(checkpoint),
         "--encoder-precision", "float32"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert [s["type"] for s in plan["subtasks"]] == ["alarm_tool", "weather_tool"]
    assert plan["subtasks"][1]["depends_on"] == ["s0"]
    assert set(plan["familiarity"]) >= {"step_count_probability", "unfamiliar"}
    second = subprocess.run(
        [sys.executable, "-m", "orchestai.plan", "please handle my hotel and then my alarm", "--checkpoint", str(checkpoint),
         "--encoder-precision", "bfloat16"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert [s["type"] for s in json.loads(second.stdout)["subtasks"]] == ["hotel_tool", "alarm_tool"]
    # requests naming a tool no training request named are less similar than any training request is to another
    assert plan["familiarity"]["unfamiliar"]
    familiar = subprocess.run(
        [sys.executable, "-m", "orchestai.plan", "please handle my hotel and then my weather", "--checkpoint", str(checkpoint)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert not json.loads(familiar.stdout)["familiarity"]["unfamiliar"] and "warning" not in familiar.stderr
    odd = subprocess.run(
        [sys.executable, "-m", "orchestai.plan", "Translate this sonnet into Latin hexameters.", "--checkpoint", str(checkpoint)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert odd.returncode == 0, odd.stderr
    known = json.loads(odd.stdout)["familiarity"]
    assert known["unfamiliar"] and known["nearest_training_similarity"] < known["training_low_similarity"]
    assert any(reason.startswith("similarity") for reason in known["reasons"])
    assert "looks unlike the planner's training requests" in odd.stderr


def test_held_out_type_scores_and_length_accuracy_on_a_hand_case():
    from orchestai.evaluate.planning import unseen_type_scores
    from orchestai.planner.metrics import Plan, plan_metrics

    gold = [_example(0, (0, 5)), _example(1, (1, 2, 6)), _example(2, (5, 6))]
    predicted = [Plan((0, 5), ((), (0,))), Plan((1, 5), ((), (0,))), Plan((3,), ((),))]
    scores = unseen_type_scores(predicted, gold, {5, 6})
    assert scores == {"unseen_type_recall": pytest.approx(1 / 4), "unseen_type_precision": pytest.approx(1 / 2)}
    names = [f"t{i}" for i in range(7)]
    gold_plans = [Plan(e.types, e.parents) for e in gold]
    assert plan_metrics(predicted, gold_plans, names)["length_accuracy"] == pytest.approx(1 / 3)


@needs_minilm
def test_fine_tuned_top_layers_start_as_minilm_and_train_from_the_cached_states_below_them(tmp_path: Path):
    from orchestai.phase1.config import Phase1Config
    from orchestai.phase1.trainer import make_optimizer
    from orchestai.planner.finetuned_layers import BertLayer
    from orchestai.planner.text_inputs import PlannerInputsBuilder

    texts = ["Book a flight to Rome, then add it to my calendar.", "set an alarm"]
    final = TokenStateCache(tmp_path).states(texts)
    lower = TokenStateCache(tmp_path, layer=4)
    assert lower.path is not None and lower.path.name == "tokens-all-MiniLM-L6-v2-layer4.npz"
    below = lower.states(texts)
    assert [s.states.shape for s in below] == [s.states.shape for s in final]
    np.testing.assert_array_equal(below[0].sentence, final[0].sentence)
    with pytest.raises(ValueError, match="layer must be within"):
        TokenStateCache(tmp_path, layer=7)

    vocabulary = vocabulary_for_catalogue(["flight_search", "add_event", "set_alarm"], "toy")
    config = PlannerConfig(d_model=32, encoder="minilm", finetune_layers=2)
    model = PlannerModel(config, vocabulary)
    model.load_pretrained_layers()
    assert len(model.text_layers) == 2 and all(isinstance(layer, BertLayer) for layer in model.text_layers)
    builder = PlannerInputsBuilder(config, vocabulary, tmp_path)
    inputs = builder.inputs(texts)
    assert inputs.text is not None and inputs.text_pad is not None
    np.testing.assert_array_equal(inputs.text[0, : len(below[0].states)].numpy(), below[0].states)  # layer 4's states
    model.eval()
    with torch.no_grad():
        encoding = model.encode(torch.zeros(2, 4, dtype=torch.long), inputs)
    assert encoding.raw is not None
    for row, states in enumerate(final):  # MiniLM's own top layers on the cached layer-4 states: its final states
        np.testing.assert_allclose(
            encoding.raw[row, : len(states.states)].numpy(), states.states.astype(np.float32), atol=2e-2
        )
    state = model.state_dict()
    assert any(key.startswith("text_layers.1.") for key in state)  # a checkpoint holds the fine-tuned layers

    optimizer = make_optimizer(model, Phase1Config(learning_rate=1e-3, finetune_learning_rate=3e-5))
    assert [group["lr"] for group in optimizer.param_groups] == [1e-3, 3e-5]
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters()))
    with pytest.raises(ValueError, match="finetune_layers"):
        PlannerConfig(finetune_layers=1).validate()  # the words encoder has no layers to fine-tune


def test_the_encoder_ignores_how_much_padding_its_batch_has():
    vocabulary = vocabulary_for_catalogue(["a", "b", "c"], "toy")
    model = PlannerModel(PlannerConfig(d_model=16), vocabulary).eval()
    with torch.no_grad():  # trained norms have biases (at initialisation they are 0 and hide a leak)
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.bias.normal_()
    short = torch.tensor([[5, 6, 7, 0, 0, 0, 0, 0, 0, 0]])
    long = torch.tensor([[8] * 10])
    with torch.no_grad():
        alone = model.plan_heads(short[:, :3])[1]
        batched = model.plan_heads(torch.cat([short, long]))[1][:1]
    torch.testing.assert_close(alone, batched, atol=1e-5, rtol=1e-5)


def test_a_composition_asks_for_both_requests_and_chains_both_plans():
    from orchestai.data.compositions import compose, composed_examples

    a = PlanExample("a", "Please book a train ticket to Beijing.", (0, 1), ((), (0,)), (-1, -1), (1, 1), (1, 1))
    b = PlanExample("b", "Set an alarm for 6 am", (2,), ((),), (-1,), (1,), (1,))
    joined = compose(a, b, ", and then ")
    assert joined.instruction == "Please book a train ticket to Beijing, and then set an alarm for 6 am"
    assert joined.types == (0, 1, 2) and joined.parents == ((), (0,), (1,)) and joined.id == "composed-a+b"
    assert compose(a, b, ". Then ").instruction == "Please book a train ticket to Beijing. Then set an alarm for 6 am"
    assert compose(a, b, ", then ", linked=False).parents == ((), (0,), ())  # b's part stands apart
    examples = [_example(k, (k % 6, (k + 1) % 6)) for k in range(30)]
    composed, parts = composed_examples(examples, 0.5, seed=3)
    again, _ = composed_examples(examples, 0.5, seed=3)
    assert len(composed) == 15 and composed == again  # seeded
    for plan, (first, second) in zip(composed, parts, strict=True):
        assert plan.types == examples[first].types + examples[second].types and len(set(plan.types)) == 4  # disjoint
        assert all(len(ps) == 1 and ps[0] == i - 1 for i, ps in enumerate(plan.parents) if i)  # one chain
    graph = {(1, 4)}
    only = composed_examples(examples, 0.5, seed=3, allowed=graph)[0]  # "graph": the link a -> b must be in it
    assert only and all((plan.types[1], plan.types[2]) == (1, 4) and plan.parents[2] == (1,) for plan in only)
    every = composed_examples(examples, 0.5, seed=3, allowed=graph, links="any")[0]  # "any": linked where it is
    assert len(every) == 15 and any(plan.parents[2] == () for plan in every)
    for plan in every:
        assert plan.parents[2] == ((1,) if (plan.types[1], plan.types[2]) in graph else ())


def test_a_step_composition_adds_one_described_step_of_another_record_before_or_after():
    from orchestai.data.compositions import step_compositions

    examples = [
        dataclasses.replace(_example(k, (k % 6, (k + 1) % 6)), step_clauses=((k % 6, f"do task {k % 6} for record {k}"),))
        for k in range(30)
    ]
    composed, requests = step_compositions(examples, 0.5, seed=3)
    assert len(composed) == 15 and (composed, requests) == step_compositions(examples, 0.5, seed=3)  # seeded
    orders = set()
    for plan, i in zip(composed, requests, strict=True):
        a = examples[i]
        (step,) = set(plan.types) - set(a.types)  # one step, of a tool a's plan lacks
        clause = next(c for e in examples for t, c in e.step_clauses if t == step and c in plan.instruction.lower())
        after = plan.types == (*a.types, step)
        assert after or plan.types == (step, *a.types)
        assert plan.instruction.startswith(a.instruction.rstrip(".") if after else clause[:1].upper() + clause[1:])
        assert f"record {i}" not in clause  # another record's step
        assert all(len(ps) == 1 and ps[0] == k - 1 for k, ps in enumerate(plan.parents) if k)  # no graph: one chain
        orders.add(after)
    assert orders == {True, False}
    graph = {(1, 4), (4, 0)}  # a step stands apart unless the graph links it to the adjacent end of the request
    for plan, i in zip(*step_compositions(examples, 0.5, seed=3, allowed=graph), strict=True):
        n = examples[i].n_subtasks
        if plan.types[:n] == examples[i].types:
            assert plan.parents[n] == ((n - 1,) if (plan.types[n - 1], plan.types[n]) in graph else ())
        else:
            assert plan.parents[1] == ((0,) if (plan.types[0], plan.types[1]) in graph else ())
    assert step_compositions([_example(k, (k % 6,)) for k in range(30)], 0.5, seed=3) == ([], [])  # nothing described


@needs_minilm
def test_clause_segments_end_at_commas_and_then_and_the_inputs_carry_them(tmp_path: Path):
    from orchestai.envs.embeddings import clause_indices
    from orchestai.planner.text_inputs import PlannerInputsBuilder

    text = "look up flights to Rome, book the cheapest one and add it to my calendar"
    (index,) = clause_indices([text])
    assert index[0] == 0 and index.max() == 2 and (np.diff(index) >= 0).all()  # "," and "and" end two clauses
    vocabulary = vocabulary_for_catalogue(["flight_search", "book_flight", "add_event"], "toy")
    sentences = PlannerInputsBuilder(PlannerConfig(encoder="minilm"), vocabulary, tmp_path).inputs([text])
    clauses = PlannerInputsBuilder(PlannerConfig(encoder="minilm", segments="clauses"), vocabulary, tmp_path).inputs([text])
    assert sentences.text_sentence is not None and clauses.text_sentence is not None
    assert int(sentences.text_sentence.max()) == 0 and int(clauses.text_sentence.max()) == 2
    assert clauses.text is not None and sentences.text is not None and torch.equal(clauses.text, sentences.text)


def test_request_clauses_end_at_punctuation_and_then_and_drop_fillers():
    from orchestai.planner.coverage import request_clauses

    text = "Book a train ticket to Beijing for tomorrow, then set an alarm for 6 am. Also please call mum"
    assert request_clauses(text) == ["Book a train ticket to Beijing for tomorrow", "set an alarm for 6 am", "call mum"]
    assert request_clauses("Hi! Thanks") == []  # one-word parts are not clauses


def _coverage(description_similarity: float = 0.7):
    from orchestai.planner.coverage import ClauseCoverage

    # 4 tools; the step clauses of tools 0, 1 and 2 lie along axes 0, 1 and 2; tool 3 is only described (axis 3)
    steps = [PlanExample(str(t), "", (t,), ((),), (-1,), (0,), (0,), step_clauses=((t, f"clause {t}"),)) for t in range(3)]
    axes = {f"clause {t}": np.eye(5)[t] for t in range(3)}
    config = PlannerConfig(encoder="minilm", coverage=True, coverage_description_similarity=description_similarity)
    return ClauseCoverage.build(
        steps * 3 + steps[2:] * 6, lambda texts: np.stack([axes[t] for t in texts]), np.eye(4, 5), config
    )


def test_clause_coverage_adds_the_tool_a_clause_of_its_own_names_and_the_plan_lacks():
    coverage = _coverage()
    plan = Plan((0, 1), ((), (0,)), (-1, -1))
    near = lambda axis: np.eye(5)[axis] + 0.1 * np.eye(5)[4]  # noqa: E731  (cosine 0.995 to the axis)
    clauses = np.stack([near(0), near(2)])  # "book it ..., then <a clause of tool 2>"
    assert coverage.cover(plan, clauses, None, 6) == Plan((0, 1, 2), ((), (0,), (1,)), (-1, -1, -1))  # no graph: linked
    assert coverage.cover(plan, clauses, {(0, 1)}, 6).parents == ((), (0,), ())  # the graph has no 1 -> 2: apart
    assert coverage.cover(plan, clauses[::-1], {(2, 0)}, 6) == Plan((2, 0, 1), ((), (0,), (1,)), (-1, -1, -1))  # first
    assert coverage.cover(plan, clauses, None, 2) == plan  # at most max_steps
    assert coverage.cover(plan, clauses[1:], None, 6) == plan  # one clause: the whole request, read by the planner
    assert coverage.cover(plan, np.stack([near(0), near(1)]), None, 6) == plan  # every clause's tool is there
    unclear = np.stack([near(0), np.eye(5)[2] + 1.2 * np.eye(5)[4]])  # cosine 0.64: below 0.8 (and 0.7)
    assert coverage.cover(plan, unclear, None, 6) == plan
    # cosine 0.86 to tool 3's description, 0.26 to tool 2's clauses (its nearest, none of the plan's tools)
    described = np.stack([near(0), np.eye(5)[3] + 0.5 * np.eye(5)[4] + 0.3 * np.eye(5)[2]])
    assert coverage.cover(plan, described, None, 6).types == (0, 1, 3)
    assert _coverage(description_similarity=0.95).cover(plan, described, None, 6) == plan
    state = coverage.state()
    again = type(coverage).from_state(state, PlannerConfig(encoder="minilm", coverage=True))
    assert again.cover(plan, clauses, None, 6) == coverage.cover(plan, clauses, None, 6)


@pytest.mark.slow
@needs_minilm
def test_plan_adds_the_step_a_clause_of_its_own_asks_for_through_clause_coverage(tmp_path: Path):
    tools = ["train_search", "train_book", "alarm_set", "alarm_label"]
    (tmp_path / "tool_desc.json").write_text(json.dumps({"nodes": [{"id": t, "desc": t.replace("_", " ")} for t in tools]}))
    links = [{"source": "train_search", "target": "train_book"}, {"source": "alarm_set", "target": "alarm_label"}]
    (tmp_path / "graph_desc.json").write_text(json.dumps({"links": links}))
    cities, labels = ["Rome", "Paris", "Berlin", "Madrid", "Vienna"], ["work", "gym", "school", "train", "call"]
    records = []
    for k in range(40):
        city, hour, label = cities[k % 5], 5 + k % 4, labels[k // 8]
        records.append(
            {
                "id": f"t{k}",
                "user_request": f"find a train to {city} and book a seat",
                "task_nodes": [{"task": "train_search"}, {"task": "train_book"}],
                "task_links": [links[0]],
                "task_steps": [f"Step 1 Call train_search to find a train to {city}", "Step 2 Call train_book to book a seat"],
            }
        )
        records.append({"id": f"a{k}", "user_request": f"set an alarm for {hour} am and name it {label}", "task_nodes":
                        [{"task": "alarm_set"}, {"task": "alarm_label"}], "task_links": [links[1]], "task_steps":
                        [f"Step 1 Call alarm_set to set an alarm for {hour} am",
                         f"Step 2 Call alarm_label to name the alarm {label}"]})  # fmt: skip
    data = tmp_path / "plans.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    out = tmp_path / "run"
    flags = ["--format", "taskbench", "--data", str(data), "--epochs", "10", "--out-dir", str(out), "--no-progress",
             "--model-d-model", "32", "--model-grounding", "--model-encoder", "minilm", "--learning-rate", "3e-3",
             "--model-slot-layers", "1", "--text-cache-dir", str(tmp_path / "cache"), "--model-coverage"]  # fmt: skip
    trained = subprocess.run(
        [sys.executable, "-m", "orchestai.phase1.train", *flags], capture_output=True, text=True, timeout=600
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    checkpoint = next(out.glob("phase1_best_model_*.pth"))
    request = "find a train to Rome and book a seat, then set an alarm for 6 am"
    planned = subprocess.run(
        [sys.executable, "-m", "orchestai.plan", request, "--checkpoint", str(checkpoint)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    # every training plan has two steps of one domain: coverage adds what the planner left out of the three asked
    # for, in the order of the clauses asking for them
    types = [s["type"] for s in plan["subtasks"]]
    assert {"train_search", "train_book", "alarm_set"} <= set(types) and plan["added_by_clause_coverage"]
    assert types.index("train_search") < types.index("train_book") < types.index("alarm_set")
    for subtask in plan["subtasks"]:  # links only where the graph has them: train -> train, alarm -> alarm
        assert all(types[int(p[1:])].split("_")[0] == subtask["type"].split("_")[0] for p in subtask["depends_on"])


def test_the_unfamiliar_warning_names_only_the_conditions_that_held():
    from orchestai.plan.planning import unfamiliar_reasons

    (reason,) = unfamiliar_reasons(0.42, similarity=0.76, low=0.54)  # an unlikely step count, a familiar text
    assert reason.startswith("step-count probability 0.42") and "similarity" not in reason
    far = unfamiliar_reasons(0.95, similarity=0.49, low=0.54)
    assert far == ["similarity 0.49 to the nearest one, below the 1st percentile 0.54 of training requests"]
    assert len(unfamiliar_reasons(0.1, similarity=0.49, low=0.54)) == 2
    assert unfamiliar_reasons(0.9) == []  # no retrieval memory, a likely count
    assert unfamiliar_reasons(0.49996) != []  # decided on the value itself, not on the 4 digits the JSON keeps


@needs_minilm
def test_a_request_and_its_clauses_are_encoded_at_the_same_time_into_the_same_plan(monkeypatch: pytest.MonkeyPatch):
    import threading

    from orchestai.envs import embeddings
    from orchestai.plan.planning import InstructionPlanner
    from orchestai.planner.coverage import ClauseCoverage

    tools = ["train_search", "train_book", "alarm_set"]
    vocabulary = vocabulary_for_catalogue(tools, "test", [t.replace("_", " ") for t in tools])
    config = PlannerConfig(encoder="minilm", coverage=True, d_model=32)
    torch.manual_seed(0)
    model = PlannerModel(config, vocabulary)
    steps = [
        PlanExample(str(t), "", (t,), ((),), (-1,), (0,), (0,), step_clauses=((t, tools[t].replace("_", " ")),))
        for t in range(3)
    ]
    planners = []
    for concurrent in (True, False):
        planner = InstructionPlanner(model, encoder_precision="float32", concurrent_clauses=concurrent)
        builder = planner.builder
        builder.coverage = ClauseCoverage.build(steps, builder.request_vectors, builder.request_vectors(tools), config)
        planners.append(planner)
    encode, threads = embeddings._encode_tokens, []

    def spy(texts, *args, **kwargs):
        threads.append((threading.current_thread() is threading.main_thread(), len(texts)))
        return encode(texts, *args, **kwargs)

    monkeypatch.setattr(embeddings, "_encode_tokens", spy)
    request = "find a train to Rome, book a seat and then set an alarm for 6 am"
    before = planners[0].builder.cache.encoded
    at_once = planners[0].plan(request)
    # the three clauses on the second thread, the request on this one; nothing encoded twice
    assert sorted(threads) == [(False, 3), (True, 1)] and planners[0].builder.cache.encoded == before + 4
    threads.clear()
    assert planners[1].plan(request) == at_once and sorted(threads) == [(True, 1), (True, 3)]
