"""``python -m orchestai.phase1.train``: supervised pre-training of the PlannerModel.

Reads ``configs/phase1.yaml`` (``--config``), applies flags (every config key is a flag),
trains on execution logs (or TaskBench-format plans with ``--format taskbench``), and
writes into ``--out-dir``:

* ``phase1_best_model_{N}.pth``: the model with the best validation loss so far (N = the
  number of logs), written atomically whenever validation loss improves;
* ``phase1_last_model_{N}.pth``: the state after the last finished epoch (for ``--resume``);
* ``phase1_metrics_{N}.csv`` / ``.json``: one row per epoch, plus the nearest-neighbour
  baseline's validation metrics.

From execution logs the planner learns two things: the plan (types, DAG, the model
chosen per subtask) and every logged routing decision, retries included, with the
observation the router had at that call (rebuilt by
:class:`~orchestai.envs.log_replay.LogReplayEnv`), so that the routing branches learn
how the logs' router used execution feedback and the models' published estimates.

A non-finite loss stops training with an error naming the epoch and batch; Ctrl-C saves
the last state and exits; neither touches the best checkpoint.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F
from tqdm import tqdm

from orchestai.configuration import ConfigError, add_config_flags, apply_flags, load_yaml_config, to_mapping
from orchestai.data.examples import PlanExample, examples_from_logs, split_indices
from orchestai.data.schema import ExecutionLog, LogValidationError
from orchestai.paths import CONFIG_DIR
from orchestai.phase1.config import Phase1Config
from orchestai.planner.checkpoint import CheckpointError, load_planner, save_checkpoint
from orchestai.planner.dag import notears_dag_loss
from orchestai.planner.inference import decode_plans
from orchestai.planner.metrics import Plan, plan_metrics
from orchestai.planner.model import PlannerModel, PlannerVocabulary
from orchestai.planner.nearest_neighbour import NearestNeighbourPlanner
from orchestai.planner.routing import ROUTING_KEYS
from orchestai.planner.tensors import IGNORE, DecisionTensors, PlanTensors, tensorize


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss."""


@dataclass
class Phase1Data:
    """Examples, the planner vocabulary, and what was skipped on loading.

    ``logs`` (execution logs only, aligned with ``examples``) and their ``world`` are
    what the routing decisions are replayed from.
    """

    examples: list[PlanExample]
    vocabulary: PlannerVocabulary
    source: str
    skipped: list[str] = field(default_factory=list)
    logs: list[ExecutionLog] | None = None
    world: Any = None


def load_phase1_data(config: Phase1Config) -> Phase1Data:
    """Load the configured data set (generating the default synthetic logs if needed)."""
    if config.format == "taskbench":
        from orchestai.data.taskbench import load_taskbench

        if config.data is None:
            raise ConfigError("command line", "data", "--format taskbench needs --data PATH (a TaskBench-format file)")
        data = load_taskbench(config.data)
        vocabulary = PlannerVocabulary(
            type_names=data.type_names,
            model_names=[],
            capable=[[] for _ in data.type_names],
            default_tokens=[[0, 0] for _ in data.type_names],
            extra={"source": f"taskbench {config.data}"},
        )
        return Phase1Data(data.examples, vocabulary, config.data)

    from orchestai.data.generate import ensure_default_logs
    from orchestai.data.logs import load_logs
    from orchestai.paths import PROJECT_ROOT
    from orchestai.world.world import World

    world = World.load(config.world)
    if config.data is None:
        path = PROJECT_ROOT / "data" / f"synthetic_logs_{config.n_logs}.jsonl"
        ensure_default_logs(path, n=config.n_logs, world=world)
    else:
        path = Path(config.data)
    loaded = load_logs(path, world, skip_invalid=config.skip_invalid)
    vocabulary = vocabulary_for_world(world)
    return Phase1Data(
        examples_from_logs(loaded.logs, world), vocabulary, str(path), [str(e) for e in loaded.skipped], loaded.logs, world
    )


def replayed_decisions(data: Phase1Data, indices: list[int]) -> DecisionTensors | None:
    """The routing decisions of the logs at ``indices``, replayed (None without execution logs)."""
    if data.logs is None or not data.vocabulary.n_models:
        return None
    from orchestai.envs.log_replay import replay_decisions

    logs = [data.logs[i] for i in indices]
    # no instruction tokens: a decision reads its log's summary, computed with the plan batch
    keys = [key for key in ROUTING_KEYS if key != "instruction"]
    return DecisionTensors.of(replay_decisions(logs, data.world, keys, data.source), len(logs))


def decision_losses(model: PlannerModel, decisions: DecisionTensors, summary: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of the planner's routing logits against the logged models, and the number of hits.

    ``summary`` ``(D, d)`` is each decision's instruction summary, as the forward pass
    over the decisions' logs computed it.
    """
    logits, _ = model.routing_logits(decisions.observations, summary, read_words=False)
    return F.cross_entropy(logits, decisions.actions), (logits.argmax(1) == decisions.actions).sum()


def vocabulary_for_world(world: Any) -> PlannerVocabulary:
    """The planner vocabulary of a :class:`World` (its types, models, capabilities, tokenizer)."""
    return PlannerVocabulary(
        type_names=list(world.type_names),
        model_names=list(world.model_names),
        capable=world.capable.tolist(),
        default_tokens=[[int(i), int(o)] for i, o in zip(world.type_input_tokens, world.type_output_tokens, strict=True)],
        skill=world.skill.tolist(),
        vocab_size=world.config.tokenizer.vocab_size,
        max_tokens=world.config.tokenizer.max_tokens,
        max_subtasks=world.config.templates.max_subtasks,
        extra={"source": f"world {world.source}"},
    )


def compute_losses(
    model: PlannerModel, batch: PlanTensors, config: Phase1Config, decisions: DecisionTensors | None = None
) -> dict[str, torch.Tensor]:
    """Type CE, model CE, edge BCE, DAG loss and their weighted total for one batch.

    With ``decisions`` (the replayed routing decisions of the batch's logs, in batch
    order), also the routing loss, reading the summaries the batch's forward pass
    computed, added with ``lambda_decision``.
    """
    out = model(batch.tokens, batch.types, batch.features)
    losses = losses_from_outputs(model, out, batch, config)
    if decisions is not None and len(decisions):
        losses["decision"] = decision_losses(model, decisions, out["summary"][decisions.log_index])[0]
        losses["total"] = losses["total"] + config.lambda_decision * losses["decision"]
    return losses


def losses_from_outputs(
    model: PlannerModel, out: dict[str, torch.Tensor], batch: PlanTensors, config: Phase1Config
) -> dict[str, torch.Tensor]:
    """The losses of :func:`compute_losses` from already computed model outputs."""
    n_classes = out["type_logits"].shape[-1]
    type_loss = F.cross_entropy(out["type_logits"].reshape(-1, n_classes), batch.types.reshape(-1))
    if model.vocabulary.n_models and (batch.models != IGNORE).any():
        logits = out["model_logits"]
        model_loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch.models.reshape(-1), ignore_index=IGNORE)
    else:
        model_loss = torch.zeros(())
    mask = batch.pair_mask
    edge_loss = (
        F.binary_cross_entropy_with_logits(out["edge_logits"][mask], batch.edges[mask]) if mask.any() else torch.zeros(())
    )
    probabilities = torch.sigmoid(out["edge_logits"]) * mask
    dag_loss = notears_dag_loss(probabilities).mean()
    total = (
        config.lambda_type * type_loss
        + config.lambda_model * model_loss
        + config.lambda_edge * edge_loss
        + config.lambda_dag * dag_loss
    )
    return {
        "total": total,
        "ce": type_loss + model_loss,
        "type": type_loss,
        "model": model_loss,
        "edge": edge_loss,
        "dag": dag_loss,
    }


@torch.no_grad()
def validate(
    model: PlannerModel, data: PlanTensors, gold: list[Plan], config: Phase1Config, decisions: DecisionTensors | None = None
) -> tuple[dict[str, float], dict[str, float]]:
    """Validation losses (example-weighted means) and plan metrics, from one forward pass per chunk.

    With ``decisions``, also the routing loss (decision-weighted, added to the total
    with ``lambda_decision``) and ``decision_accuracy``.
    """
    model.eval()
    sums: dict[str, float] = {}
    plans: list[Plan] = []
    for start in range(0, len(data), 256):
        batch = data.select(slice(start, start + 256))
        encoding = model.encode(batch.tokens)
        slots = model.decompose(encoding)
        out = {
            "type_logits": model.type_head(slots.states),
            "edge_logits": model.edge_logits(slots),
            "model_logits": model.selector_logits(encoding.summary, batch.types, batch.features),
        }
        for key, value in losses_from_outputs(model, out, batch, config).items():
            sums[key] = sums.get(key, 0.0) + float(value) * len(batch)
        if decisions is not None:
            chosen = decisions.of_logs(range(start, start + len(batch)))
            if len(chosen):
                loss, hits = decision_losses(model, chosen, encoding.summary[chosen.log_index])
                sums["_decision_loss"] = sums.get("_decision_loss", 0.0) + float(loss) * len(chosen)
                sums["_decision_hits"] = sums.get("_decision_hits", 0.0) + float(hits)
        plans.extend(decode_plans(model, encoding.summary, out["type_logits"], out["edge_logits"], config.edge_threshold))
        if model.vocabulary.n_models:
            known = batch.models >= 0
            hits = (out["model_logits"].argmax(-1)[known] == batch.models[known]).sum()
            sums["_routing_hits"] = sums.get("_routing_hits", 0.0) + float(hits)
            sums["_routing_total"] = sums.get("_routing_total", 0.0) + float(known.sum())
    metrics = plan_metrics(plans, gold, model.vocabulary.type_names)
    if sums.get("_routing_total"):
        metrics["routing_accuracy"] = sums.pop("_routing_hits") / sums.pop("_routing_total")
    losses = {key: value / len(data) for key, value in sums.items() if not key.startswith("_")}
    if decisions is not None and len(decisions):
        losses["decision"] = sums["_decision_loss"] / len(decisions)
        losses["total"] += config.lambda_decision * losses["decision"]
        metrics["decision_accuracy"] = sums["_decision_hits"] / len(decisions)
    return losses, metrics


def _format_metrics(metrics: dict[str, float]) -> str:
    keys = (
        "type_accuracy", "node_f1", "edge_f1", "edge_f1_position", "model_accuracy", "routing_accuracy",
        "decision_accuracy", "valid_dag",
    )  # fmt: skip
    short = {
        "type_accuracy": "type_acc",
        "edge_f1_position": "edge_f1_pos",
        "model_accuracy": "model_acc",
        "routing_accuracy": "route_acc",
        "decision_accuracy": "decision_acc",
    }
    return " ".join(f"{short.get(k, k)} {metrics[k]:.3f}" for k in keys if k in metrics)


class LengthBucketBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of instructions of similar length, in random order.

    Examples are shuffled, sorted by length within windows of 8 batches, cut into
    batches, and the batches shuffled: batches carry little padding, and the encoder
    drops a batch's all-padding tail, so an epoch costs about a third less.
    """

    def __init__(self, lengths: torch.Tensor, batch_size: int, generator: torch.Generator, window_batches: int = 8) -> None:
        self.lengths = lengths
        self.batch_size = batch_size
        self.generator = generator
        self.window = batch_size * window_batches

    def __iter__(self):  # noqa: D105
        order = torch.randperm(len(self.lengths), generator=self.generator)
        batches = []
        for start in range(0, len(order), self.window):
            window = order[start : start + self.window]
            window = window[torch.argsort(self.lengths[window], stable=True)]
            batches.extend(window[i : i + self.batch_size].tolist() for i in range(0, len(window), self.batch_size))
        for b in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[b]

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)


class Phase1Trainer:
    """Runs Phase 1 training for one configuration; :meth:`run` returns the process exit code."""

    def __init__(self, config: Phase1Config, log: Any = print) -> None:
        self.config = config
        self.log = log
        self.out_dir = Path(config.out_dir)

    def run(self) -> int:
        """Train, validate, checkpoint and report."""
        config = self.config
        torch.set_num_threads(config.num_threads)
        torch.manual_seed(config.seed)
        data = load_phase1_data(config)
        n_logs = len(data.examples)
        if n_logs < 2:
            raise ConfigError("command line", "data", f"{data.source}: needs at least 2 valid records, found {n_logs}")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if data.skipped:
            report = self.out_dir / "skipped_records.txt"
            report.write_text("\n".join(data.skipped) + "\n", encoding="utf-8")
            self.log(f"skipped {len(data.skipped)} invalid records (each with its reason in {report})")
        train_index, val_index = split_indices(n_logs, config.val_fraction, config.split_seed)
        train, val = [data.examples[i] for i in train_index], [data.examples[i] for i in val_index]
        train_decisions, val_decisions = replayed_decisions(data, train_index), replayed_decisions(data, val_index)
        self.best_path = self.out_dir / f"phase1_best_model_{n_logs}.pth"
        self.last_path = self.out_dir / f"phase1_last_model_{n_logs}.pth"
        self.metrics_stem = self.out_dir / f"phase1_metrics_{n_logs}"

        state: dict[str, Any] = {"history": [], "best_val_loss": math.inf, "best_epoch": 0, "bad_epochs": 0}
        start_epoch = 1
        if config.resume:
            model, checkpoint = load_planner(
                config.resume, {"task_types": data.vocabulary.type_names, "models": data.vocabulary.model_names}
            )
            model.train()
            optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
            optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
            state.update(checkpoint["extra"].get("training_state", {}))
            start_epoch = checkpoint["epoch"] + 1
            self.log(f"resuming from {config.resume} at epoch {start_epoch}")
        else:
            model = PlannerModel(config.model, data.vocabulary)
            optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)

        train_tensors, val_tensors = tensorize(train, data.vocabulary), tensorize(val, data.vocabulary)
        gold_val = [Plan(e.types, e.parents, e.models) for e in val]
        baseline = plan_metrics(
            NearestNeighbourPlanner(train).plan([e.instruction for e in val]), gold_val, data.vocabulary.type_names
        )
        n_params = sum(p.numel() for p in model.parameters())
        self.log(
            f"phase 1: {n_logs} logs from {data.source} ({len(train)} train / {len(val)} validation), "
            f"{n_params:,} parameters, epochs {start_epoch}..{config.epochs}"
        )
        if train_decisions is not None and val_decisions is not None:
            self.log(f"routing decisions replayed from the logs: {len(train_decisions)} train / {len(val_decisions)} validation")
        self.log(f"nearest-neighbour baseline (validation): {_format_metrics(baseline)}")
        self.baseline = baseline
        generator = torch.Generator().manual_seed(config.seed)
        epoch = start_epoch - 1
        try:
            for epoch in range(start_epoch, config.epochs + 1):
                started = time.perf_counter()
                train_loss = self._train_epoch(model, optimizer, train_tensors, train_decisions, epoch, generator)
                losses, metrics = validate(model, val_tensors, gold_val, config, val_decisions)
                seconds = time.perf_counter() - started
                row = {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    **{f"val_{k}": v for k, v in losses.items()},
                    **metrics,
                    "seconds": seconds,
                }
                state["history"].append(row)
                improved = losses["total"] < state["best_val_loss"]
                if improved:
                    state["best_val_loss"], state["best_epoch"], state["bad_epochs"] = losses["total"], epoch, 0
                    save_checkpoint(self.best_path, model, optimizer, epoch, losses["total"], self._extra(state))
                else:
                    state["bad_epochs"] += 1
                save_checkpoint(self.last_path, model, optimizer, epoch, losses["total"], self._extra(state))
                self._write_metrics(state)
                self.log(
                    f"epoch {epoch:3d} | train {train_loss:.4f} | val {losses['total']:.4f} "
                    f"(ce {losses['ce']:.4f}, edge {losses['edge']:.4f}, dag {losses['dag']:.4f}"
                    + (f", decision {losses['decision']:.4f}" if "decision" in losses else "")
                    + ") | "
                    f"{_format_metrics(metrics)} | {seconds:.2f}s{' *' if improved else ''}"
                )
                if state["bad_epochs"] >= config.patience:
                    self.log(f"early stop: no better validation loss for {config.patience} epochs")
                    break
        except KeyboardInterrupt:
            save_checkpoint(self.last_path, model, optimizer, epoch - 1, state["best_val_loss"], self._extra(state))
            self._write_metrics(state)
            self.log(
                f"interrupted during epoch {epoch}: saved the last finished state to {self.last_path}; "
                f"best checkpoint (epoch {state['best_epoch']}) intact at {self.best_path}"
            )
            return 130
        except NonFiniteLossError as error:
            self._write_metrics(state)
            self.log(f"error: {error}; best checkpoint (epoch {state['best_epoch']}) intact at {self.best_path}")
            return 1
        self.log(f"best validation loss {state['best_val_loss']:.4f} at epoch {state['best_epoch']}: {self.best_path}")
        self.log(f"metrics: {self.metrics_stem}.csv, {self.metrics_stem}.json")
        return 0

    def _train_epoch(
        self,
        model: PlannerModel,
        optimizer: torch.optim.Optimizer,
        data: PlanTensors,
        decisions: DecisionTensors | None,
        epoch: int,
        generator: torch.Generator,
    ) -> float:
        model.train()
        sampler = LengthBucketBatchSampler((data.tokens != 0).sum(1), self.config.batch_size, generator)
        loader = torch.utils.data.DataLoader(range(len(data)), batch_sampler=sampler)
        total, seen = 0.0, 0
        # disable=None: no bar where stderr is not a terminal (CI logs)
        bar = tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=None if self.config.progress else True, file=sys.stderr)
        for batch_index, indices in enumerate(bar, start=1):
            batch = data.select(indices)
            if decisions is None:
                losses = compute_losses(model, batch, self.config)
            else:  # with the routing decisions of the same logs
                losses = compute_losses(model, batch, self.config, decisions.of_logs(indices))
            if not torch.isfinite(losses["total"]):
                parts = ", ".join(f"{k} {float(v.detach()):.4g}" for k, v in losses.items())
                raise NonFiniteLossError(f"non-finite loss at epoch {epoch}, batch {batch_index} ({parts})")
            optimizer.zero_grad(set_to_none=True)
            losses["total"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.config.grad_clip)
            optimizer.step()
            total += float(losses["total"].detach()) * len(indices)
            seen += len(indices)
            bar.set_postfix(loss=f"{total / seen:.4f}")
        return total / max(seen, 1)

    def _extra(self, state: dict[str, Any]) -> dict[str, Any]:
        return {"phase1_config": to_mapping(self.config), "training_state": state, "baseline": self.baseline}

    def _write_metrics(self, state: dict[str, Any]) -> None:
        history = state["history"]
        payload = {"history": history, "nearest_neighbour_baseline": self.baseline, "best_epoch": state["best_epoch"]}
        self.metrics_stem.with_suffix(".json").write_text(json.dumps(payload, indent=1), encoding="utf-8")
        if history:
            columns = list(dict.fromkeys(k for row in history for k in row))
            with self.metrics_stem.with_suffix(".csv").open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns)
                writer.writeheader()
                writer.writerows(history)


def parse_config(argv: list[str] | None = None) -> Phase1Config:
    """The Phase 1 configuration from ``--config`` plus flags."""
    parser = argparse.ArgumentParser(description="Phase 1: supervised pre-training of the OrchestAI planner.")
    parser.add_argument("--config", type=Path, default=CONFIG_DIR / "phase1.yaml", help="YAML configuration")
    add_config_flags(parser, Phase1Config)
    args = vars(parser.parse_args(argv))
    config_path = args.pop("config")
    return apply_flags(load_yaml_config(Phase1Config, config_path), args)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    try:
        config = parse_config(argv)
        return Phase1Trainer(config).run()
    except (ConfigError, LogValidationError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["Phase1Data", "Phase1Trainer", "compute_losses", "load_phase1_data", "main", "vocabulary_for_world"]
