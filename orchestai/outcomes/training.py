"""Phase 1 on recorded outcomes: train, calibrate and evaluate an :class:`~orchestai.outcomes.model.OutcomeModel`.

The training split's prompts (the routing report's seeded split) are divided once
more: the success network trains on most of them and stops early on the rest (the
validation part), on which the per-model temperatures are then fitted. The held-out
prompts are read only to report calibration (ECE, Brier score, reliability diagram)
after everything is fixed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from orchestai.configuration import to_mapping
from orchestai.envs.embeddings import sentence_embeddings
from orchestai.envs.routerbench_data import RouterBenchData, RouterBenchPrompt, load_routerbench_folder, train_test_prompts
from orchestai.files import write_json_atomic
from orchestai.outcomes.calibration import (
    ReliabilityBin,
    brier_score,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
)
from orchestai.outcomes.config import CALIBRATION_FILE, OUTCOME_MODEL_FILE, RELIABILITY_PLOT_FILE, OutcomeModelConfig
from orchestai.outcomes.features import PromptFeaturizer
from orchestai.outcomes.model import OutcomeModel, OutcomeModelSpec, save_outcome_model
from orchestai.rundir import claim_output_dir


@dataclass
class PromptSet:
    """Features, recorded outcomes and token counts of a set of prompts, in the models' order."""

    features: torch.Tensor
    onehot: torch.Tensor
    tokens: torch.Tensor
    scores: np.ndarray
    costs: np.ndarray
    datasets: list[str]


def prompt_set(
    prompts: Sequence[RouterBenchPrompt], models: Sequence[str], featurizer: PromptFeaturizer, embed: Any
) -> PromptSet:
    """What the outcome model reads about ``prompts`` and what was recorded for them."""
    texts, datasets = [p.prompt for p in prompts], [p.dataset for p in prompts]
    features, onehot, tokens = featurizer.inputs(texts, datasets, embed)
    return PromptSet(
        features=features,
        onehot=onehot,
        tokens=tokens,
        scores=np.array([[p.scores[m] for m in models] for p in prompts], dtype=np.float64),
        costs=np.array([[p.costs[m] for m in models] for p in prompts], dtype=np.float64),
        datasets=datasets,
    )


def embedder(cache_dir: str | Path | None) -> Callable[[Sequence[str]], np.ndarray]:
    """all-MiniLM-L6-v2 embeddings of texts, cached under ``cache_dir`` (needs the ``embeddings`` extra)."""
    return lambda texts: sentence_embeddings(list(texts), cache_dir)


def fit_costs(model: OutcomeModel, train: PromptSet) -> None:
    """Per data set and model, least squares of the recorded cost on ``[1, input tokens]`` (the model's cost buffers)."""
    for d in range(train.onehot.shape[1]):
        rows = np.flatnonzero(train.onehot[:, d].numpy() > 0)
        design = np.stack([np.ones(len(rows)), train.tokens.numpy()[rows]], axis=1)
        coefficients, *_ = np.linalg.lstsq(design, train.costs[rows], rcond=None)
        model.cost_intercept[d] = torch.as_tensor(coefficients[0], dtype=torch.float32)
        model.cost_per_token[d] = torch.as_tensor(coefficients[1], dtype=torch.float32)


def _bce(net: torch.nn.Module, data: PromptSet, rows: np.ndarray) -> float:
    net.eval()
    with torch.no_grad():
        logits = net(data.features[rows])
        return float(
            functional.binary_cross_entropy_with_logits(logits, torch.as_tensor(data.scores[rows], dtype=torch.float32))
        )


def train_member(
    net: torch.nn.Module,
    data: PromptSet,
    train_rows: np.ndarray,
    valid_rows: np.ndarray,
    config: OutcomeModelConfig,
    seed: int,
) -> dict[str, Any]:
    """AdamW on the binary cross-entropy of all models' outcomes; keeps the epoch with the lowest validation loss.

    Ctrl-C stops training after the current batch and keeps the best epoch so far (``interrupted`` in the result).
    """
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    targets = torch.as_tensor(data.scores, dtype=torch.float32)
    best_loss, best_epoch, best_state = _bce(net, data, valid_rows), 0, {k: v.clone() for k, v in net.state_dict().items()}
    interrupted, epoch = False, 0
    try:
        for epoch in range(1, config.epochs + 1):
            net.train()
            order = rng.permutation(train_rows)
            for start in range(0, len(order), config.batch_size):
                batch = order[start : start + config.batch_size]
                loss = functional.binary_cross_entropy_with_logits(net(data.features[batch]), targets[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            valid_loss = _bce(net, data, valid_rows)
            if valid_loss < best_loss:
                best_loss, best_epoch = valid_loss, epoch
                best_state = {k: v.clone() for k, v in net.state_dict().items()}
            elif epoch - best_epoch >= config.patience:
                break
    except KeyboardInterrupt:
        interrupted = True
    net.load_state_dict(best_state)
    net.eval()
    return {"best_epoch": best_epoch, "epochs_run": epoch, "validation_loss": best_loss, "interrupted": interrupted}


def cross_fitted_training(
    model: OutcomeModel, data: PromptSet, config: OutcomeModelConfig, log: Callable[[str], Any]
) -> tuple[dict[str, Any], np.ndarray]:
    """Train member ``k`` on every fold but ``k``, early-stopped on fold ``k``; returns the results and the out-of-fold logits."""
    folds = np.array_split(np.random.default_rng(config.seed).permutation(len(data.datasets)), len(model.members))
    out_of_fold = np.zeros_like(data.scores)
    results = []
    for k, (member, valid_rows) in enumerate(zip(model.members, folds, strict=True)):
        train_rows = np.sort(np.concatenate([f for j, f in enumerate(folds) if j != k]))
        result = train_member(member, data, train_rows, np.sort(valid_rows), config, config.seed + k)
        with torch.no_grad():
            out_of_fold[valid_rows] = member(data.features[valid_rows]).numpy()
        log(
            f"  member {k + 1}/{len(folds)}: best epoch {result['best_epoch']} of {result['epochs_run']}, validation loss {result['validation_loss']:.4f}"
        )
        results.append(result)
        if result["interrupted"]:
            log(f"interrupted in member {k + 1}: the members not trained yet keep their initial weights")
            break
    summary = {
        "members": results,
        "validation_loss": float(np.mean([r["validation_loss"] for r in results])),
        "interrupted": any(r["interrupted"] for r in results),
    }
    return summary, out_of_fold


def calibrate(model: OutcomeModel, out_of_fold_logits: np.ndarray, outcomes: np.ndarray) -> list[float]:
    """Fit one temperature per model on out-of-fold logits (the model's ``temperature`` buffer)."""
    temperatures = [fit_temperature(out_of_fold_logits[:, m], outcomes[:, m]) for m in range(outcomes.shape[1])]
    model.temperature.copy_(torch.tensor(temperatures, dtype=torch.float32))
    return temperatures


def calibration_report(probabilities: np.ndarray, outcomes: np.ndarray, models: Sequence[str], bins: int) -> dict[str, Any]:
    """ECE and Brier score per model and pooled, with the pooled reliability bins."""
    per_model = {
        m: {
            "ece": expected_calibration_error(probabilities[:, k], outcomes[:, k], bins),
            "brier": brier_score(probabilities[:, k], outcomes[:, k]),
            "mean_prediction": float(probabilities[:, k].mean()),
            "success_rate": float(outcomes[:, k].mean()),
        }
        for k, m in enumerate(models)
    }
    return {
        "pooled": {
            "ece": expected_calibration_error(probabilities, outcomes, bins),
            "brier": brier_score(probabilities, outcomes),
            "max_model_ece": max(v["ece"] for v in per_model.values()),
        },
        "per_model": per_model,
        "pooled_bins": [vars(b) for b in reliability_bins(probabilities, outcomes, bins)],
    }


def dataset_means(train: PromptSet, test: PromptSet, recorded: str) -> np.ndarray:
    """The reference predictor: each model's training mean of ``scores`` or ``costs`` on the prompt's data set."""
    values = getattr(train, recorded)
    out = np.zeros_like(getattr(test, recorded))
    for d in range(train.onehot.shape[1]):
        rows, target = train.onehot[:, d].numpy() > 0, test.onehot[:, d].numpy() > 0
        out[target] = values[rows].mean(0)
    return out


def plot_reliability(
    calibrated: np.ndarray,
    uncalibrated: np.ndarray,
    outcomes: np.ndarray,
    models: Sequence[str],
    bins: int,
    path: Path,
    title: str,
) -> None:
    """Reliability diagrams: all models pooled (before and after calibration), then one panel per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = len(models) + 1
    columns = 4
    rows = (panels + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.0 * rows), squeeze=False)

    def draw(axis: Any, found: list[ReliabilityBin], label: str, style: str) -> None:
        axis.plot([b.mean_prediction for b in found], [b.outcome_rate for b in found], style, label=label, markersize=4)

    for index in range(rows * columns):
        axis = axes[index // columns][index % columns]
        if index >= panels:
            axis.axis("off")
            continue
        axis.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
        if index == 0:
            p, q, y, name = calibrated, uncalibrated, outcomes, "all models"
        else:
            k = index - 1
            p, q, y, name = calibrated[:, k], uncalibrated[:, k], outcomes[:, k], models[k].split("/")[-1]
        draw(axis, reliability_bins(q, y, bins), "before", "o--")
        draw(axis, reliability_bins(p, y, bins), "calibrated", "s-")
        axis.set_title(f"{name}: ECE {expected_calibration_error(p, y, bins):.3f}", fontsize=8)
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1)
        axis.tick_params(labelsize=6)
        if index == 0:
            axis.legend(fontsize=6, loc="upper left")
            axis.set_xlabel("predicted P(success)", fontsize=7)
            axis.set_ylabel("recorded success rate", fontsize=7)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def train_outcome_model(
    config: OutcomeModelConfig,
    log: Callable[[str], Any] = print,
    data: RouterBenchData | None = None,
    test_data: RouterBenchData | None = None,
) -> dict[str, Any]:
    """Train, calibrate, evaluate and save an outcome model; returns the metrics (also in ``calibration.json``).

    ``data`` / ``test_data``: already loaded ``data_dir`` / ``test_dir`` (read when not given).
    """
    torch.set_num_threads(config.num_threads)
    torch.manual_seed(config.seed)
    data = data if data is not None else load_routerbench_folder(config.data_dir)
    if test_data is None and config.test_dir is not None:
        test_data = load_routerbench_folder(config.test_dir)
    train_prompts, test_prompts = train_test_prompts(data, config.test_fraction, config.split_seed, test_data)
    models = list(data.models)
    embed = embedder(config.cache_dir)
    out_dir = Path(config.out_dir)
    outputs = (OUTCOME_MODEL_FILE, CALIBRATION_FILE, RELIABILITY_PLOT_FILE)
    with claim_output_dir(out_dir, overwrite=config.overwrite, outputs=outputs):
        started = time.perf_counter()
        featurizer = PromptFeaturizer.fit([p.prompt for p in train_prompts], [p.dataset for p in train_prompts], embed)
        train, test = prompt_set(train_prompts, models, featurizer, embed), prompt_set(test_prompts, models, featurizer, embed)
        log(
            f"features of {len(train_prompts)} training and {len(test_prompts)} held-out prompts in {time.perf_counter() - started:.0f}s"
        )
        spec = OutcomeModelSpec(
            tuple(models),
            tuple(featurizer.datasets),
            int(featurizer.centroids.shape[1]),
            config.hidden,
            config.input_dropout,
            config.dropout,
            config.folds,
        )
        model = OutcomeModel(spec)
        fit_costs(model, train)
        started = time.perf_counter()
        training, out_of_fold = cross_fitted_training(model, train, config, log)
        training["seconds"] = round(time.perf_counter() - started, 2)
        log(
            f"success network: {config.folds} members in {training['seconds']:.0f}s, mean validation loss {training['validation_loss']:.4f}"
        )
        with torch.no_grad():
            uncalibrated = torch.sigmoid(model.raw_logits(test.features)).numpy().astype(np.float64)
        temperatures = (
            calibrate(model, out_of_fold, train.scores) if config.calibration == "temperature" else [1.0] * len(models)
        )
        with torch.no_grad():
            calibrated = model.success_probability(test.features).numpy().astype(np.float64)
            predicted_cost = model.expected_cost(test.onehot, test.tokens).numpy().astype(np.float64)
        report = {
            "held_out_prompts": len(test_prompts),
            "calibrated": calibration_report(calibrated, test.scores, models, config.ece_bins),
            "uncalibrated": calibration_report(uncalibrated, test.scores, models, config.ece_bins)["pooled"],
            "dataset_mean_reference": calibration_report(
                dataset_means(train, test, "scores"), test.scores, models, config.ece_bins
            ),
            "temperatures": dict(zip(models, temperatures, strict=True)),
            "cost_mean_absolute_error_fraction": float(np.abs(predicted_cost - test.costs).mean() / test.costs.mean()),
            "cost_mean_absolute_error_fraction_dataset_means": float(
                np.abs(dataset_means(train, test, "costs") - test.costs).mean() / test.costs.mean()
            ),
            "training": training,
        }
        metadata = {
            "config": to_mapping(replace(config, overwrite=False)),
            "split": {
                "data_dir": config.data_dir,
                "test_dir": config.test_dir,
                "test_fraction": config.test_fraction,
                "split_seed": config.split_seed,
            },
            "source": "phase1",
            "held_out": {"ece": report["calibrated"]["pooled"]["ece"], "brier": report["calibrated"]["pooled"]["brier"]},
        }
        path = save_outcome_model(out_dir / OUTCOME_MODEL_FILE, model, featurizer, metadata)
        write_json_atomic(out_dir / CALIBRATION_FILE, report)
        title = f"outcome model on {len(test_prompts)} held-out RouterBench prompts (recorded outcomes)"
        plot_reliability(
            calibrated, uncalibrated, test.scores, models, config.ece_bins, out_dir / RELIABILITY_PLOT_FILE, title
        )
    pooled = report["calibrated"]["pooled"]
    log(format_calibration(report))
    log(f"wrote {path}, {out_dir / CALIBRATION_FILE} and {out_dir / RELIABILITY_PLOT_FILE}")
    if training["interrupted"]:
        log(f"interrupted: the best model so far is saved at {path}")
        raise KeyboardInterrupt
    return {"checkpoint": str(path), "ece": pooled["ece"], "brier": pooled["brier"], **report}


def format_calibration(report: dict[str, Any]) -> str:
    """The calibration table as aligned text: ECE and Brier score per model, pooled, and the references."""
    reference = report["dataset_mean_reference"]
    lines = [f"{'model (held-out prompts)':34} {'ECE':>7} {'Brier':>7} {'mean p':>7} {'rate':>6} {'ECE ref':>8}"]
    for name, row in report["calibrated"]["per_model"].items():
        lines.append(
            f"{name:34} {row['ece']:7.4f} {row['brier']:7.4f} {row['mean_prediction']:7.3f} {row['success_rate']:6.3f} {reference['per_model'][name]['ece']:8.4f}"
        )
    pooled = report["calibrated"]["pooled"]
    lines.append(f"{'pooled, calibrated':34} {pooled['ece']:7.4f} {pooled['brier']:7.4f}")
    lines.append(
        f"{'pooled, before calibration':34} {report['uncalibrated']['ece']:7.4f} {report['uncalibrated']['brier']:7.4f}"
    )
    lines.append(
        f"{'pooled, per-data-set success rate':34} {reference['pooled']['ece']:7.4f} {reference['pooled']['brier']:7.4f}"
    )
    lines.append("ECE ref: the per-data-set training success rate as the prediction (what sampling alone leaves)")
    lines.append(
        f"expected cost: mean absolute error {report['cost_mean_absolute_error_fraction']:.1%} of the mean recorded cost "
        f"(per-data-set training means: {report['cost_mean_absolute_error_fraction_dataset_means']:.1%})"
    )
    return "\n".join(lines)
