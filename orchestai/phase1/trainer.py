"""Phase 1: supervised pre-training of the PlannerModel (the trainer behind ``python -m orchestai.phase1.train``).

Writes into ``out_dir``:

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

import csv
import io
import math
import sys
import time
from pathlib import Path
from typing import Any, cast

import torch
from stable_baselines3.common.utils import set_random_seed
from torch import nn
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from orchestai.cli import EXIT_INTERRUPTED, interrupt_on_sigterm
from orchestai.configuration import ConfigError, to_mapping
from orchestai.data.compositions import composed_examples, step_compositions
from orchestai.data.examples import (
    PlanExample,
    describe_split,
    early_stopping_split,
    held_out_types,
    plan_split_indices,
)
from orchestai.files import write_json_atomic, write_text_atomic
from orchestai.paths import data_dir
from orchestai.phase1.config import BEST_MODEL_NAME, LAST_MODEL_NAME, METRICS_STEM, Phase1Config
from orchestai.phase1.moving_average import warmed_up_ema
from orchestai.planner.checkpoint import (
    CheckpointError,
    check_world,
    planner_from_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from orchestai.planner.datasets import LengthBucketBatchSampler, PlannerData, load_planner_data, replayed_decisions
from orchestai.planner.losses import compute_losses
from orchestai.planner.metrics import Plan, plan_metrics
from orchestai.planner.model import PlannerModel
from orchestai.planner.nearest_neighbour import NearestNeighbourPlanner
from orchestai.planner.tensors import DecisionTensors, PlanTensors, tensorize
from orchestai.planner.text_inputs import PlannerInputsBuilder
from orchestai.planner.validation import format_metrics, validate
from orchestai.planner.vocabulary import plans_with_unfed_steps, repeating_plans, with_plan_rules
from orchestai.rundir import claim_output_dir

PHASE1_OUTPUTS = (
    BEST_MODEL_NAME.format(n="*"),
    LAST_MODEL_NAME.format(n="*"),
    METRICS_STEM.format(n="*") + ".csv",
    METRICS_STEM.format(n="*") + ".json",
    "skipped_records.txt",
)
# flags that may change when a run is resumed; any other difference is an error
RESUMABLE_KEYS = {"epochs", "patience", "out_dir", "resume", "overwrite", "progress", "num_threads"}


def make_optimizer(model: PlannerModel, config: Phase1Config) -> torch.optim.Optimizer:
    """AdamW over the planner; the fine-tuned pretrained layers (if any) at ``finetune_learning_rate``."""
    pretrained = list(getattr(model, "text_layers", nn.ModuleList()).parameters())
    ids = {id(p) for p in pretrained}
    groups: list[dict[str, Any]] = [{"params": [p for p in model.parameters() if id(p) not in ids]}]
    if pretrained:
        groups.append({"params": pretrained, "lr": config.finetune_learning_rate})
    return torch.optim.AdamW(groups, lr=config.learning_rate, weight_decay=config.weight_decay)


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss."""


def check_resume_flags(checkpoint: dict[str, Any], config: Phase1Config, path: str) -> None:
    """Raise :class:`ConfigError` when ``config`` differs from the resumed run's in anything but :data:`RESUMABLE_KEYS`."""
    stored = checkpoint.get("extra", {}).get("phase1_config")
    if not isinstance(stored, dict):
        raise CheckpointError(f"{path}: not a Phase 1 training checkpoint (no phase1_config to resume with)")
    now = to_mapping(config)

    def flat(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in mapping.items():
            out.update(flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
        return out

    before, after = flat(stored), flat(now)
    changed = sorted(k for k in set(before) | set(after) if k not in RESUMABLE_KEYS and before.get(k) != after.get(k))
    if changed:
        detail = ", ".join(f"{k}: {before.get(k)!r} there, {after.get(k)!r} now" for k in changed)
        raise ConfigError(
            "command line",
            changed[0],
            f"--resume {path} was trained with other settings ({detail}); drop those flags or start a new run",
        )


class Phase1Trainer:
    """Runs Phase 1 training for one configuration; :meth:`run` returns the process exit code."""

    def __init__(self, config: Phase1Config, log: Any = print) -> None:
        self.config = config
        self.log = log
        self.out_dir = Path(config.out_dir)
        self.saved_epoch: int | None = None  # the epoch whose state phase1_last_model_N.pth holds
        self.saved_best_epoch: int | None = None  # and phase1_best_model_N.pth
        self.averaged: AveragedModel | None = None  # the moving average of the weights (ema_decay > 0)

    def run(self) -> int:
        """Train, validate, checkpoint and report."""
        config = self.config
        torch.set_num_threads(config.num_threads)
        set_random_seed(config.seed)  # Python, NumPy and torch, as SB3 seeds its runs
        deterministic = torch.are_deterministic_algorithms_enabled()
        # without it, CPU reductions in the backward pass differ in the last bits from run
        # to run, and two runs of one command part by epoch 4 (measured on UltraTool)
        torch.use_deterministic_algorithms(config.deterministic)
        try:
            return self._run()
        finally:
            torch.use_deterministic_algorithms(deterministic)

    def _run(self) -> int:
        config = self.config
        data = load_planner_data(config.format, config.data, config.world, config.n_logs, config.skip_invalid)
        n_logs = len(data.examples)
        if n_logs < 2:
            raise ConfigError("command line", "data", f"{data.source}: needs at least 2 valid records, found {n_logs}")
        resume = read_checkpoint(config.resume) if config.resume else None
        resumed = None
        if resume is not None:
            resumed = planner_from_checkpoint(
                resume, config.resume or ""
            )  # a usable planner, before anything else is read of it
            check_resume_flags(resume, config, config.resume or "")
        with (
            claim_output_dir(self.out_dir, "--out-dir", resume is not None, config.overwrite, PHASE1_OUTPUTS),
            interrupt_on_sigterm(),
        ):
            return self._train(data, resume, resumed)

    def _train(self, data: PlannerData, resume: dict[str, Any] | None, resumed: PlannerModel | None) -> int:
        config = self.config
        n_logs = len(data.examples)
        if data.skipped:
            report = write_text_atomic(self.out_dir / "skipped_records.txt", "\n".join(data.skipped) + "\n")
            self.log(f"skipped {len(data.skipped)} invalid records (each with its reason in {report})")
        if config.val_data is None:
            train_index, val_index = plan_split_indices(data.examples, config.split, config.val_fraction, config.split_seed)
            self.log(
                f"{len(train_index)} training / {len(val_index)} validation records ({describe_split(data.examples, config.split, config.split_seed)})"
            )
            if config.early_stop_fraction:
                # early stopping (and the per-epoch metrics) on a part of the training split:
                # the held-out split stays unseen until python -m orchestai.evaluate.planning
                train_index, val_index = early_stopping_split(train_index, config.early_stop_fraction, config.split_seed)
                self.log(f"early stopping on {len(val_index)} records of the training split; the held-out split is not read")
            train, val = [data.examples[i] for i in train_index], [data.examples[i] for i in val_index]
            train_decisions, val_decisions = replayed_decisions(data, train_index), replayed_decisions(data, val_index)
        else:  # a final model: every record of data trains, validation comes from its own file
            held_out = load_planner_data(config.format, config.val_data, config.world, config.n_logs, config.skip_invalid)
            if held_out.vocabulary.type_names != data.vocabulary.type_names:
                raise ConfigError(
                    "command line", "val_data", f"{held_out.source}: its task types differ from those of {data.source}"
                )
            train, val = data.examples, held_out.examples
            train_decisions = replayed_decisions(data, list(range(n_logs)))
            val_decisions = replayed_decisions(held_out, list(range(len(val))))
        self.best_path = self.out_dir / BEST_MODEL_NAME.format(n=n_logs)
        self.last_path = self.out_dir / LAST_MODEL_NAME.format(n=n_logs)
        self.metrics_stem = self.out_dir / METRICS_STEM.format(n=n_logs)

        unseen = held_out_types(data.examples, config.held_out_type_fraction, config.split_seed)
        if unseen:
            keep = [k for k, e in enumerate(train) if not unseen.intersection(e.types)]
            self.log(
                f"zero-shot test: {len(unseen)} task types never seen in training; "
                f"{len(train) - len(keep)} training records using them left out"
            )
            train = [train[k] for k in keep]
            if train_decisions is not None:
                train_decisions = train_decisions.of_logs(keep)
        composed, composed_from = self._compositions(data, train)
        stepped, stepped_from = self._step_compositions(data, train)
        composed, first_parts = composed + stepped, [first for first, _ in composed_from] + stepped_from
        state: dict[str, Any] = {"history": [], "best_val_loss": math.inf, "best_epoch": 0, "bad_epochs": 0}
        start_epoch = 1
        generator = torch.Generator().manual_seed(config.seed)
        if resume is not None and resumed is not None:
            path = config.resume or ""
            check_world(resume, {"task_types": data.vocabulary.type_names, "models": data.vocabulary.model_names}, path)
            model = resumed
            model.train()
            optimizer = make_optimizer(model, config)
            try:
                optimizer.load_state_dict(resume["optimizer_state_dict"])
                state.update(resume["extra"]["training_state"])
                # the random streams where the interrupted run left them: the same batches and dropout follow
                torch.set_rng_state(resume["extra"]["rng"]["torch"])
                generator.set_state(resume["extra"]["rng"]["shuffle"])
            except (KeyError, ValueError, RuntimeError, TypeError) as error:
                raise CheckpointError(f"{path}: cannot resume from it ({type(error).__name__}: {error})") from None
            start_epoch = resume["epoch"] + 1
            self.saved_best_epoch = state["best_epoch"] or None
            self.log(f"resuming from {path} at epoch {start_epoch}")
        else:
            plans = train + composed
            model = PlannerModel(config.model, with_plan_rules(data.vocabulary, plans))
            self.log(
                f"{repeating_plans(plans)} of {len(plans)} training plans use a type twice: decoding "
                + ("may repeat types" if model.vocabulary.repeat_types else "never repeats a type")
            )
            if data.vocabulary.allowed_edges:
                self.log(
                    f"{plans_with_unfed_steps(plans)} of {len(plans)} training plans have a later step no other feeds: decoding "
                    + ("lets a step stand apart" if model.vocabulary.unfed_steps else "feeds every step after the first")
                    + (
                        " (and every step the graph lets an earlier one feed)"
                        if model.vocabulary.unfed_steps and model.vocabulary.fed_where_allowed
                        else ""
                    )
                )
            optimizer = make_optimizer(model, config)
        if config.model.grounding and resume is None:
            model.set_seen_types({t for e in train for t in e.types})
        builder = PlannerInputsBuilder(config.model, model.vocabulary, config.text_cache_dir or data_dir() / "cache")
        if builder.needed:
            started = time.perf_counter()
            if config.model.retrieval_k:
                builder.build_memory(train)
            if config.model.coverage:
                _require_step_clauses(data, train, "model.coverage")
                builder.build_coverage(train)
            if config.model.grounding and config.model.encoder == "minilm" and resume is None:
                model.set_catalogue(builder.catalogue_vectors())
            if config.model.finetune_layers and resume is None:
                model.load_pretrained_layers()
            self.log(
                f"text inputs ({config.model.encoder} encoder, retrieval k={config.model.retrieval_k}) ready in {time.perf_counter() - started:.1f}s"
            )
        self.builder = builder
        # a composition's retrieval prior never sees its first request (as a record never sees itself)
        train_tensors = tensorize(
            train + composed, data.vocabulary, builder, memory_index=list(range(len(train))) + first_parts
        )
        val_tensors = tensorize(val, data.vocabulary, builder)
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
            self.log(
                f"routing decisions replayed from the logs: {len(train_decisions)} train / {len(val_decisions)} validation"
            )
        self.log(f"nearest-neighbour baseline (validation): {format_metrics(baseline)}")
        self.baseline = baseline
        self.generator = generator
        self.averaged = self._moving_average(model, resume)
        # what is validated and kept as the best model: the moving average where configured
        evaluated = cast(PlannerModel, self.averaged.module) if self.averaged is not None else model
        epoch = start_epoch - 1
        try:
            for epoch in range(start_epoch, config.epochs + 1):
                started = time.perf_counter()
                train_loss = self._train_epoch(model, optimizer, train_tensors, train_decisions, epoch, generator)
                losses, metrics = validate(evaluated, val_tensors, gold_val, config, config.edge_threshold, val_decisions)
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
                    save_checkpoint(self.best_path, evaluated, optimizer, epoch, losses["total"], self._extra(state))
                    self.saved_best_epoch = epoch
                else:
                    state["bad_epochs"] += 1
                save_checkpoint(self.last_path, model, optimizer, epoch, losses["total"], self._extra(state, last=True))
                self.saved_epoch = epoch
                self._write_metrics(state)
                self.log(
                    f"epoch {epoch:3d} | train {train_loss:.4f} | val {losses['total']:.4f} "
                    f"(ce {losses['ce']:.4f}, edge {losses['edge']:.4f}, dag {losses['dag']:.4f}"
                    + (f", decision {losses['decision']:.4f}" if "decision" in losses else "")
                    + ") | "
                    f"{format_metrics(metrics)} | {seconds:.2f}s{' *' if improved else ''}"
                )
                if state["bad_epochs"] >= config.patience:
                    self.log(f"early stop: no better validation loss for {config.patience} epochs")
                    break
        except KeyboardInterrupt:
            # the last finished epoch is already on disk (written atomically when it ended);
            # the weights of the unfinished one are not saved
            self.log(f"interrupted during epoch {epoch}: {self._saved(state, start_epoch)}")
            return EXIT_INTERRUPTED
        except NonFiniteLossError as error:
            self.log(f"error: {error}; {self._saved(state, start_epoch)}")
            return 1
        self.log(f"best validation loss {state['best_val_loss']:.4f} at epoch {state['best_epoch']}: {self.best_path}")
        self.log(f"metrics: {self.metrics_stem}.csv, {self.metrics_stem}.json")
        return 0

    def _compositions(self, data: PlannerData, train: list[PlanExample]) -> tuple[list[PlanExample], list[tuple[int, int]]]:
        """The synthetic compositions of two training requests that ``compose_fraction`` asks for."""
        config = self.config
        if not config.compose_fraction:
            return [], []
        _refuse_logs(data, "compose_fraction")
        allowed = data.vocabulary.allowed_links() or None
        composed, parts = composed_examples(train, config.compose_fraction, config.seed, allowed, config.compose_links)
        wanted = round(config.compose_fraction * len(train))
        linked = sum(len(e.parents[len(train[i].types)]) > 0 for e, (i, _) in zip(composed, parts, strict=True))
        self.log(
            f"{len(composed)} synthetic compositions of two training requests (of {wanted} asked for; "
            f"{linked} with the graph's link from the first part to the second) added to the {len(train)} training plans"
        )
        return composed, parts

    def _step_compositions(self, data: PlannerData, train: list[PlanExample]) -> tuple[list[PlanExample], list[int]]:
        """The synthetic step compositions that ``compose_step_fraction`` asks for, and their requests' positions."""
        config = self.config
        if not config.compose_step_fraction:
            return [], []
        _refuse_logs(data, "compose_step_fraction")
        _require_step_clauses(data, train, "compose_step_fraction")
        allowed = data.vocabulary.allowed_links() or None
        composed, requests = step_compositions(train, config.compose_step_fraction, config.seed, allowed)
        linked = sum(all(parents for parents in e.parents[1:]) for e in composed)
        self.log(
            f"{len(composed)} synthetic step compositions (a training request and a step of another; of "
            f"{round(config.compose_step_fraction * len(train))} asked for; {linked} with the step linked) added"
        )
        return composed, requests

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
        loader: torch.utils.data.DataLoader[int] = torch.utils.data.DataLoader(range(len(data)), batch_sampler=sampler)  # type: ignore[arg-type]
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
            if self.averaged is not None:
                self.averaged.update_parameters(model)
            total += float(losses["total"].detach()) * len(indices)
            seen += len(indices)
            bar.set_postfix(loss=f"{total / seen:.4f}")
        return total / max(seen, 1)

    def _moving_average(self, model: PlannerModel, resume: dict[str, Any] | None) -> AveragedModel | None:
        """The exponential moving average of ``model``'s weights (``ema_decay`` > 0), where a resumed run left it."""
        if not self.config.ema_decay:
            return None
        # buffers (catalogue, masks) are set before training and never change, so they are not averaged
        averaged = AveragedModel(model, multi_avg_fn=warmed_up_ema(self.config.ema_decay))
        averaged.eval()
        if resume is not None:
            stored = resume.get("extra", {}).get("averaged_state_dict")
            if stored is None:
                raise CheckpointError(
                    f"{self.config.resume}: cannot resume from it (it holds no moving average of the weights, ema_decay)"
                )
            averaged.load_state_dict(stored)
        return averaged

    def _saved(self, state: dict[str, Any], start_epoch: int) -> str:
        """Where the last good models are, for the message of an interrupted or failed run."""
        last = self.saved_epoch
        if last is None:
            return "no epoch finished, so no model was saved" + (
                f" (the checkpoint resumed from, {self.config.resume}, is unchanged)" if self.config.resume else ""
            )
        return (
            f"the last finished epoch ({last}) is saved at {self.last_path} (continue with --resume {self.last_path}), "
            f"the best (epoch {self.saved_best_epoch}) at {self.best_path}"
        )

    def _extra(self, state: dict[str, Any], last: bool = False) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state(), "shuffle": self.generator.get_state()}
        extra = {"phase1_config": to_mapping(self.config), "training_state": state, "baseline": self.baseline, "rng": rng}
        if last and self.averaged is not None:  # the last checkpoint continues the average on --resume
            extra["averaged_state_dict"] = self.averaged.state_dict()
        if self.builder.memory is not None:
            extra["retrieval"] = self.builder.memory.state()
        if self.builder.coverage is not None:
            extra["coverage"] = self.builder.coverage.state()
        return extra

    def _write_metrics(self, state: dict[str, Any]) -> None:
        history = state["history"]
        payload = {"history": history, "nearest_neighbour_baseline": self.baseline, "best_epoch": state["best_epoch"]}
        write_json_atomic(self.metrics_stem.with_suffix(".json"), payload)
        if history:
            columns = list(dict.fromkeys(k for row in history for k in row))
            table = io.StringIO()
            writer = csv.DictWriter(table, fieldnames=columns)
            writer.writeheader()
            writer.writerows(history)
            write_text_atomic(self.metrics_stem.with_suffix(".csv"), table.getvalue())


def _refuse_logs(data: PlannerData, key: str) -> None:
    """Compositions need plans without execution logs (a composed plan has no recorded calls)."""
    if data.logs is not None:
        raise ConfigError("command line", key, "composes plans without execution logs only (--format taskbench)")


def _require_step_clauses(data: PlannerData, train: list[PlanExample], key: str) -> None:
    """Step compositions and clause coverage need training records whose task_steps name their tools."""
    if not any(e.step_clauses for e in train):
        raise ConfigError("command line", key, f"{data.source} describes no step (task_steps naming a tool)")
