"""`OutcomeModel`: every model's calibrated probability of success and expected cost on a prompt, and its checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from orchestai.errors import UserInputError
from orchestai.files import InputFileError, load_torch_plain, save_torch_atomic
from orchestai.outcomes.features import PromptFeaturizer

OUTCOME_CHECKPOINT_FORMAT = "orchestai-outcome-model/1"


class OutcomeCheckpointError(UserInputError):
    """An outcome-model checkpoint cannot be used (unreadable, not one, or incomplete)."""


@dataclass(frozen=True)
class OutcomeModelSpec:
    """The architecture of an outcome model: the models it routes to, the data sets it knows, its sizes."""

    models: tuple[str, ...]
    datasets: tuple[str, ...]
    embedding_dim: int
    hidden: int = 128
    input_dropout: float = 0.1
    dropout: float = 0.3
    members: int = 1

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> OutcomeModelSpec:
        """From its plain-dict form (checkpoints, policy kwargs)."""
        return cls(**{**data, "models": tuple(data["models"]), "datasets": tuple(data["datasets"])})

    def to_mapping(self) -> dict[str, Any]:
        """Plain data (lists, numbers): what checkpoints and policy kwargs store."""
        data = asdict(self)
        return {**data, "models": list(self.models), "datasets": list(self.datasets)}

    @property
    def feature_dim(self) -> int:
        """Width of :func:`~orchestai.outcomes.features.feature_vector`."""
        return self.embedding_dim + 2 * len(self.datasets) + 1


class OutcomeModel(nn.Module):
    """Per prompt: ``p_success[m] = sigmoid(net(x)[m] / T[m])`` and ``cost[m] = a[d, m] + b[d, m] * input tokens``.

    ``x`` is :func:`~orchestai.outcomes.features.feature_vector`; ``net`` is the mean
    logit of ``members`` networks (one per cross-validation fold), each one hidden layer
    shared by all models (a prompt hard for one model tends to be hard for others); the
    temperatures ``T`` are fitted on the members' out-of-fold logits after training, and the cost of model ``m`` on a prompt of data set ``d`` is a line in the
    prompt's input tokens fitted to the recorded training costs (the answer's length,
    unknown before the call, enters only through that fit).
    """

    temperature: torch.Tensor
    cost_intercept: torch.Tensor
    cost_per_token: torch.Tensor

    def __init__(self, spec: OutcomeModelSpec) -> None:
        super().__init__()
        self.spec = spec
        m, d = len(spec.models), len(spec.datasets)
        self.members = nn.ModuleList(
            nn.Sequential(
                nn.Dropout(spec.input_dropout),
                nn.Linear(spec.feature_dim, spec.hidden),
                nn.GELU(),
                nn.Dropout(spec.dropout),
                nn.Linear(spec.hidden, m),
            )
            for _ in range(spec.members)
        )
        self.register_buffer("temperature", torch.ones(m))
        self.register_buffer("cost_intercept", torch.zeros(d, m))
        self.register_buffer("cost_per_token", torch.zeros(d, m))

    def raw_logits(self, features: torch.Tensor) -> torch.Tensor:
        """The members' mean logits ``(B, M)``, before calibration."""
        return torch.stack([member(features) for member in self.members]).mean(0)

    def success_logits(self, features: torch.Tensor) -> torch.Tensor:
        """Calibrated logits ``(B, M)`` of success."""
        return self.raw_logits(features) / self.temperature

    def success_probability(self, features: torch.Tensor) -> torch.Tensor:
        """Calibrated ``P(success)`` ``(B, M)``."""
        return torch.sigmoid(self.success_logits(features))

    def expected_cost(self, dataset_onehot: torch.Tensor, input_tokens: torch.Tensor) -> torch.Tensor:
        """Expected USD cost ``(B, M)`` of each model on prompts of these data sets and lengths (never negative)."""
        onehot = dataset_onehot.float()
        cost = onehot @ self.cost_intercept + (onehot @ self.cost_per_token) * input_tokens.float().unsqueeze(1)
        return cost.clamp(min=0.0)

    def expected_utility(
        self, features: torch.Tensor, dataset_onehot: torch.Tensor, input_tokens: torch.Tensor, cost_weight: torch.Tensor
    ) -> torch.Tensor:
        """``P(success) - cost_weight * cost`` ``(B, M)``: the router's score (``cost_weight`` ``(B,)`` in 1/USD)."""
        cost = self.expected_cost(dataset_onehot, input_tokens)
        return self.success_probability(features) - cost_weight.float().unsqueeze(1) * cost


def save_outcome_model(path: str | Path, model: OutcomeModel, featurizer: PromptFeaturizer, metadata: dict[str, Any]) -> Path:
    """Write the model atomically (a temporary file, then a rename) as plain data: loadable with ``weights_only=True``."""
    payload = {
        "format": OUTCOME_CHECKPOINT_FORMAT,
        "spec": model.spec.to_mapping(),
        "state_dict": model.state_dict(),
        "featurizer": featurizer.to_state(),
        "metadata": metadata,
    }
    return save_torch_atomic(path, payload)


def read_outcome_model(path: str | Path) -> tuple[OutcomeModel, PromptFeaturizer, dict[str, Any]]:
    """The model (in eval mode), its featurizer and its metadata, from a file :func:`save_outcome_model` wrote."""
    path = Path(path)
    try:
        data = load_torch_plain(path, "outcome model")
    except InputFileError as error:
        raise OutcomeCheckpointError(str(error)) from None
    if not isinstance(data, dict) or data.get("format") != OUTCOME_CHECKPOINT_FORMAT:
        raise OutcomeCheckpointError(f"{path}: not an OrchestAI outcome model (format {OUTCOME_CHECKPOINT_FORMAT!r} expected)")
    try:
        spec = OutcomeModelSpec.from_mapping(dict(data["spec"]))
        model = OutcomeModel(spec)
        model.load_state_dict(data["state_dict"])
        featurizer = PromptFeaturizer.from_state(data["featurizer"])
        metadata = dict(data["metadata"])
    except (KeyError, TypeError, RuntimeError, ValueError) as error:
        raise OutcomeCheckpointError(
            f"{path}: incomplete or inconsistent outcome model ({type(error).__name__}: {error})"
        ) from None
    if list(featurizer.datasets) != list(spec.datasets):
        raise OutcomeCheckpointError(
            f"{path}: featurizer data sets {featurizer.datasets} differ from the model's {list(spec.datasets)}"
        )
    return model.eval(), featurizer, metadata
