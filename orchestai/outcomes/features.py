"""What an outcome model reads about a prompt before any model answers it.

A prompt is read as its data set (task type), its length in tokens and the
all-MiniLM-L6-v2 embedding of its text without the few-shot prefix its data set's
training prompts share (:class:`~orchestai.envs.prompt_features.CommonPrefixStripper`).
:class:`PromptFeaturizer` holds what is fitted on the training prompts (the prefixes,
the data sets and their mean embeddings, used to name the data set of a free-text
prompt) and is stored in the outcome-model checkpoint as plain data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from orchestai.envs.prompt_features import CommonPrefixStripper
from orchestai.envs.routerbench_world import tokens_of_text
from orchestai.errors import UserInputError

LENGTH_SCALE = 8.0  # log1p(tokens) / 8 is about 1 for the longest prompts


def feature_vector(embedding: torch.Tensor, dataset_onehot: torch.Tensor, input_tokens: torch.Tensor) -> torch.Tensor:
    """``[embedding | data set one-hot | log length | one-hot x log length]``, ``(B, E + 2 D + 1)``.

    The one home of the layout: the outcome model's training and the cost-conditioned
    PPO policy (which reads the same values from the env's observation) both call it.
    """
    length = torch.log1p(input_tokens.float().clamp(min=0.0)).unsqueeze(1) / LENGTH_SCALE
    onehot = dataset_onehot.float()
    return torch.cat([embedding.float(), onehot, length, onehot * length], dim=1)


@dataclass
class PromptFeaturizer:
    """The fitted part of reading prompts: each data set's common prefix and mean embedding."""

    datasets: list[str]
    prefixes: dict[str, str]
    centroids: np.ndarray  # (D, E), unit length

    @classmethod
    def fit(cls, texts: Sequence[str], datasets: Sequence[str], embed: Any) -> PromptFeaturizer:
        """Fit on training prompts; ``embed(texts) -> (n, E)`` embeds the prefix-stripped texts."""
        names = list(dict.fromkeys(datasets))
        stripper = CommonPrefixStripper().fit(texts, datasets)
        vectors = embed(stripper.transform(texts, datasets))
        centroids = np.stack([vectors[np.array(datasets) == d].mean(0) for d in names])
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        return cls(names, dict(stripper.prefixes), centroids.astype(np.float32))

    def strip(self, texts: Sequence[str], datasets: Sequence[str]) -> list[str]:
        """The texts without their data set's training prefix."""
        stripper = CommonPrefixStripper()
        stripper.prefixes = dict(self.prefixes)
        return stripper.transform(texts, datasets)

    def infer_datasets(self, texts: Sequence[str], embed: Any) -> list[str]:
        """The data set of each free-text prompt: the one whose training prefix it starts with, else the nearest mean embedding."""
        found: list[str | None] = [
            next((d for d in self.datasets if self.prefixes.get(d) and t.startswith(self.prefixes[d])), None) for t in texts
        ]
        unknown = [k for k, d in enumerate(found) if d is None]
        if unknown:
            vectors = embed([texts[k] for k in unknown])
            nearest = (vectors @ self.centroids.T).argmax(1)
            for k, d in zip(unknown, nearest, strict=True):
                found[k] = self.datasets[int(d)]
        return [d for d in found if d is not None]

    def onehot(self, datasets: Sequence[str]) -> np.ndarray:
        """``(n, D)`` one-hot rows; a data set the model was not trained on is a one-line error."""
        rows = np.zeros((len(datasets), len(self.datasets)), dtype=np.float32)
        for k, dataset in enumerate(datasets):
            if dataset not in self.datasets:
                raise UserInputError(f"data set {dataset!r} is not one the outcome model knows ({', '.join(self.datasets)})")
            rows[k, self.datasets.index(dataset)] = 1.0
        return rows

    def inputs(
        self, texts: Sequence[str], datasets: Sequence[str], embed: Any
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """What the outcome model reads of prompts: feature vectors, data-set one-hots and input tokens.

        The texts are whole (their lengths count the prefix, which the model is paid for).
        """
        embeddings = torch.as_tensor(np.asarray(embed(self.strip(texts, datasets)), dtype=np.float32))
        onehot = torch.as_tensor(self.onehot(datasets))
        tokens = torch.tensor([tokens_of_text(t) for t in texts], dtype=torch.float32)
        return feature_vector(embeddings, onehot, tokens), onehot, tokens

    def to_state(self) -> dict[str, Any]:
        """Plain data for a checkpoint (loadable with ``weights_only=True``)."""
        return {"datasets": list(self.datasets), "prefixes": dict(self.prefixes), "centroids": torch.as_tensor(self.centroids)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PromptFeaturizer:
        """Rebuild from :meth:`to_state`."""
        return cls(list(state["datasets"]), dict(state["prefixes"]), np.asarray(state["centroids"], dtype=np.float32))
