"""Planner checkpoints: atomic ``torch.save`` of plain data, loadable with ``weights_only=True``.

A checkpoint is a dict with the original report's keys ``epoch``,
``model_state_dict``, ``optimizer_state_dict`` and ``val_loss``, plus
``planner_config`` and ``vocabulary`` (everything needed to rebuild the model and its
tokenizer), ``world_signature`` (task-type and model names, to refuse a mismatched
world) and free-form training state (``extra``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from orchestai.configuration import ConfigError, from_mapping
from orchestai.envs.spaces import OBSERVATION_LAYOUT
from orchestai.errors import UserInputError
from orchestai.files import InputFileError, load_torch_plain, save_torch_atomic
from orchestai.planner.model import PlannerConfig, PlannerModel, PlannerVocabulary

CHECKPOINT_FORMAT = 1
REQUIRED_KEYS = ("epoch", "model_state_dict", "planner_config", "vocabulary", "world_signature")


class CheckpointError(UserInputError):
    """A checkpoint cannot be used (unreadable, wrong format, or trained for another world)."""


def save_checkpoint(
    path: str | Path,
    model: PlannerModel,
    optimizer: torch.optim.Optimizer | None,
    epoch: int,
    val_loss: float,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically: a temporary file in the same folder, then a rename."""
    vocabulary = dataclasses.asdict(model.vocabulary)
    payload = {
        "format_version": CHECKPOINT_FORMAT,
        "epoch": int(epoch),
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": optimizer.state_dict() if optimizer is not None else {},
        "val_loss": float(val_loss),
        "planner_config": dataclasses.asdict(model.config),
        "vocabulary": vocabulary,
        "world_signature": {"task_types": vocabulary["type_names"], "models": vocabulary["model_names"]},
        "observation_layout": OBSERVATION_LAYOUT,
        "extra": extra or {},
    }
    return save_torch_atomic(path, payload)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint dict, loaded with ``weights_only=True``."""
    path = Path(path)
    try:
        data = load_torch_plain(path, "planner checkpoint")
    except InputFileError as error:
        raise CheckpointError(str(error)) from None
    if not isinstance(data, dict) or data.get("format_version") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not an OrchestAI planner checkpoint (format_version {CHECKPOINT_FORMAT} expected)")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise CheckpointError(f"{path}: incomplete planner checkpoint: missing {', '.join(missing)}")
    return data


def check_world(data: dict[str, Any], expected: dict[str, list[str]], path: str | Path) -> None:
    """Raise :class:`CheckpointError` unless the checkpoint's task types and models equal ``expected`` and its observation layout is this version's."""
    layout = data.get("observation_layout")
    if layout is not None and layout != OBSERVATION_LAYOUT:
        changed = sorted(
            key for key in set(layout) | set(OBSERVATION_LAYOUT) if layout.get(key) != OBSERVATION_LAYOUT.get(key)
        )
        raise CheckpointError(
            f"{path}: trained on observation layout {layout.get('version', ['?'])[0]}, this version reads layout "
            f"{OBSERVATION_LAYOUT['version'][0]} (differs in {', '.join(changed)}); retrain with this version"
        )
    found = data["world_signature"]
    for key, label in (("task_types", "task types"), ("models", "models")):
        if list(found[key]) != list(expected[key]):
            missing = [n for n in expected[key] if n not in found[key]]
            extra = [n for n in found[key] if n not in expected[key]]
            detail = f"missing {missing}, extra {extra}" if missing or extra else "same names in another order"
            raise CheckpointError(
                f"{path}: trained for a different world: its {label} differ from this world's ({detail}); "
                "use the world the checkpoint was trained with, or retrain"
            )


def planner_from_checkpoint(data: dict[str, Any], path: str | Path) -> PlannerModel:
    """Rebuild the PlannerModel of an already read checkpoint dict (in eval mode)."""
    try:
        config = from_mapping(PlannerConfig, data["planner_config"], str(path), "planner_config")
        vocabulary = PlannerVocabulary(**data["vocabulary"])
        model = PlannerModel(config, vocabulary)
        model.load_state_dict(data["model_state_dict"])
    except ConfigError as error:
        raise CheckpointError(str(error)) from None
    except (TypeError, ValueError, RuntimeError, KeyError) as error:
        # wrong vocabulary fields, or weights whose names or shapes do not fit the stored architecture
        problem = " ".join(str(error).split())[:300]
        raise CheckpointError(f"{path}: its weights do not fit its planner_config and vocabulary ({problem})") from None
    model.eval()
    return model


def load_planner(path: str | Path, world_signature: dict[str, list[str]] | None = None) -> tuple[PlannerModel, dict[str, Any]]:
    """Rebuild the PlannerModel stored at ``path`` (optionally checking its world)."""
    data = read_checkpoint(path)
    if world_signature is not None:
        check_world(data, world_signature, path)
    return planner_from_checkpoint(data, path), data
