"""Turn an instruction into a plan (subtasks, dependencies, models) with a planner checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from threadpoolctl import ThreadpoolController

from orchestai.data.examples import PlanExample
from orchestai.envs.embeddings import resolve_precision
from orchestai.planner.checkpoint import load_planner
from orchestai.planner.inference import decode_plans
from orchestai.planner.model import PlannerModel
from orchestai.planner.tensors import tensorize
from orchestai.planner.text_inputs import builder_for_checkpoint

LIKELY_STEP_COUNT = 0.5  # familiarity: a decoded step count less likely than this is unfamiliar


class InstructionPlanner:
    """A loaded planner that turns instructions into plans (load once, plan many: what ``orchestai.plan`` runs).

    ``checkpoint`` is a planner checkpoint path (Phase 1 or Phase 2) or a loaded
    :class:`PlannerModel`. When the planner chooses models and ``world`` (a
    :class:`~orchestai.world.world.World`, by default the bundled one if its names
    match the checkpoint) is known, each subtask gets its expected cost. A planner
    trained with a retrieval memory also says how familiar a request looks
    (:func:`familiarity`). ``encoder_precision`` is what the pretrained text encoder
    computes in: ``auto`` (:func:`~orchestai.envs.embeddings.fastest_precision`: bfloat16
    only where it is measured faster on this CPU), ``float32`` or ``bfloat16``.
    ``concurrent_clauses=False`` encodes a request's clauses after the request, on one
    thread (the reference ``benchmarks/plan_speed.py`` measures against).
    """

    def __init__(
        self,
        checkpoint: str | Path | PlannerModel,
        world: Any = None,
        edge_threshold: float = 0.5,
        encoder_precision: str = "auto",
        concurrent_clauses: bool = True,
    ) -> None:
        stored: dict[str, Any] = {}
        if isinstance(checkpoint, PlannerModel):
            self.model, self.source = checkpoint, "<model>"
        else:
            self.model, stored = load_planner(checkpoint)
            self.source = str(checkpoint)
        vocabulary = self.model.vocabulary
        if world is None and vocabulary.n_models:
            from orchestai.world.world import World

            candidate = World.load()
            if candidate.names_signature() == {"task_types": vocabulary.type_names, "models": vocabulary.model_names}:
                world = candidate
        self.world = world
        self.edge_threshold = edge_threshold
        # free text is encoded in memory only: one request must not rewrite a data set's cache
        minilm = self.model.config.encoder == "minilm"
        self.encoder_precision = resolve_precision(encoder_precision) if minilm else "float32"
        self.builder = builder_for_checkpoint(self.model, stored, cache_dir=None, precision=self.encoder_precision)
        self.concurrent_clauses = concurrent_clauses
        self._libraries = ThreadpoolController()  # the native thread pools loaded (numpy's BLAS among them)

    def plan(self, instruction: str) -> dict[str, Any]:
        """Plan ``instruction``: a dict with the execution-log schema's field names.

        With ``concurrent_clauses`` (the default), the request and its clauses are
        encoded at the same time, on two threads; numpy's BLAS runs on one thread
        meanwhile: its products here are small, and its idle threads would spin on the
        core that encodes the clauses.
        """
        with self._libraries.limit(limits=1, user_api="blas"):
            return self._plan(instruction)

    def _plan(self, instruction: str) -> dict[str, Any]:
        model, vocabulary, world = self.model, self.model.vocabulary, self.world
        example = PlanExample("plan", instruction, (), (), (), (), ())
        if self.concurrent_clauses:
            self.builder.encode_ahead([instruction])
        batch = tensorize([example], vocabulary, self.builder)
        model.eval()
        with torch.no_grad():
            encoding, type_logits, edge_logits = model.plan_heads(batch.tokens, batch.inputs)
        decoded = decode_plans(model, encoding.summary, type_logits, edge_logits, self.edge_threshold)
        plan = self.builder.covered(decoded, [instruction])[0]
        subtasks = []
        total = 0.0
        for i, (t, parents) in enumerate(zip(plan.types, plan.parents, strict=True)):
            input_tokens, output_tokens = vocabulary.default_tokens[t]
            subtask: dict[str, Any] = {
                "id": f"s{i}",
                "type": vocabulary.type_names[t],
                "depends_on": [f"s{p}" for p in parents],
                "model": vocabulary.model_names[plan.models[i]] if vocabulary.n_models else None,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
            }
            if world is not None and vocabulary.n_models:
                cost = world.expected_cost(plan.models[i], input_tokens, output_tokens)
                subtask["expected_cost_usd"] = cost
                total += cost
            subtasks.append(subtask)
        result: dict[str, Any] = {"instruction": instruction, "subtasks": subtasks, "checkpoint": self.source}
        if world is not None and vocabulary.n_models:
            result["expected_cost_usd"] = total
        if self.builder.coverage is not None:  # steps the planner missed and a clause of their own names
            added = set(plan.types) - set(decoded[0].types)
            result["added_by_clause_coverage"] = [s["id"] for s, t in zip(subtasks, plan.types, strict=True) if t in added]
        # the planner's own confidence: in the length it decoded, before coverage
        n_decoded = len(decoded[0].types)
        result["familiarity"] = familiarity(model, type_logits, n_decoded, self.builder, batch.inputs, instruction)
        return result


def familiarity(
    model: PlannerModel, type_logits: torch.Tensor, n_steps: int, builder: Any, inputs: Any, instruction: str
) -> dict[str, Any]:
    """How much a request looks like the planner's training requests.

    ``step_count_probability``: the planner's probability of the number of steps it
    decoded; ``nearest_training_similarity``: the cosine similarity to the most similar
    training request (with a retrieval memory), against ``training_low_similarity``, the
    1st percentile of the training requests' own nearest similarities. ``unfamiliar`` is
    true when the request is less similar than that to every training request, or the
    step count is less likely than not; ``reasons`` says which (:func:`unfamiliar_reasons`).
    """
    p_none = type_logits[0].softmax(-1)[:, model.none_class]
    probability = float(torch.prod(1 - p_none[:n_steps]) * (p_none[n_steps] if n_steps < len(p_none) else 1.0))
    result: dict[str, Any] = {"step_count_probability": round(probability, 4)}
    similarity = low = None
    memory = builder.memory
    if memory is not None:
        similarity = float(memory.nearest(builder.request_vectors([instruction]))[0])  # token states: cached in memory
        low = float(memory.nearest_quantile)
        result["nearest_training_similarity"] = round(similarity, 4)
        result["training_low_similarity"] = round(low, 4)
    reasons = unfamiliar_reasons(probability, similarity, low)
    result["unfamiliar"] = bool(reasons)
    result["reasons"] = reasons
    return result


def unfamiliar_reasons(probability: float, similarity: float | None = None, low: float | None = None) -> list[str]:
    """What makes a request unfamiliar (:func:`familiarity`), one phrase per condition that holds (none: familiar).

    ``probability`` is the decoded step count's; ``similarity`` the cosine to the nearest
    training request and ``low`` the 1st percentile of the training requests' own (both
    ``None`` without a retrieval memory).
    """
    reasons = []
    if probability < LIKELY_STEP_COUNT:
        reasons.append(f"step-count probability {probability:.2f}, below {LIKELY_STEP_COUNT}")
    if similarity is not None and low is not None and similarity < low:
        reasons.append(
            f"similarity {similarity:.2f} to the nearest one, below the 1st percentile {low:.2f} of training requests"
        )
    return reasons


def plan_instruction(
    instruction: str,
    checkpoint: str | Path | PlannerModel,
    world: Any = None,
    edge_threshold: float = 0.5,
    encoder_precision: str = "auto",
) -> dict[str, Any]:
    """Plan one instruction (see :class:`InstructionPlanner`)."""
    return InstructionPlanner(checkpoint, world, edge_threshold, encoder_precision).plan(instruction)


def plan_to_dot(plan: dict[str, Any]) -> str:
    """A Graphviz DOT picture of a plan returned by :func:`plan_instruction`."""
    lines = ["digraph plan {", "  rankdir=LR;", '  node [shape=box, style=rounded, fontname="Helvetica"];']
    for subtask in plan["subtasks"]:
        label = f"{subtask['id']}: {subtask['type']}"
        if subtask.get("model"):
            label += f"\\n{subtask['model']}"
        lines.append(f'  "{subtask["id"]}" [label="{label}"];')
    for subtask in plan["subtasks"]:
        for parent in subtask["depends_on"]:
            lines.append(f'  "{parent}" -> "{subtask["id"]}";')
    lines.append("}")
    return "\n".join(lines) + "\n"
