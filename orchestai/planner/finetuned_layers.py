"""The top layers of the pretrained text encoder, as trainable planner modules (``PlannerConfig.finetune_layers``).

all-MiniLM-L6-v2 is a 6-layer BERT. To fine-tune its top ``k`` layers, the planner
reads the cached hidden states after layer ``6 - k`` (frozen, computed once per text)
and runs its own copy of the top ``k`` layers on them, initialised from MiniLM's weights
and trained with the planner. The copy is plain torch (post-norm BERT layers: exact
GELU, LayerNorm eps 1e-12), so a checkpoint holds it as tensors and loads it without
the transformers library's classes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

MINILM_HEADS = 12
MINILM_INNER = 1536
_BERT_NAMES = {  # this module's parameter -> the Hugging Face BertLayer's
    "query": "attention.self.query",
    "key": "attention.self.key",
    "value": "attention.self.value",
    "attention_out": "attention.output.dense",
    "attention_norm": "attention.output.LayerNorm",
    "inner": "intermediate.dense",
    "outer": "output.dense",
    "output_norm": "output.LayerNorm",
}


class BertLayer(nn.Module):
    """One post-norm BERT transformer layer: self-attention, then a GELU feed-forward block."""

    def __init__(self, width: int, heads: int = MINILM_HEADS, inner: int = MINILM_INNER) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width)
        self.value = nn.Linear(width, width)
        self.attention_out = nn.Linear(width, width)
        self.attention_norm = nn.LayerNorm(width, eps=1e-12)
        self.inner = nn.Linear(width, inner)
        self.outer = nn.Linear(inner, width)
        self.output_norm = nn.LayerNorm(width, eps=1e-12)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """States ``(B, L, width)`` with ``pad`` ``(B, L)`` True at padding (never attended to)."""
        batch, length, width = x.shape
        head_dim = width // self.heads

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.heads, head_dim).transpose(1, 2)

        attend = (~pad).view(batch, 1, 1, length)
        attended = nn.functional.scaled_dot_product_attention(
            heads(self.query(x)), heads(self.key(x)), heads(self.value(x)), attn_mask=attend, scale=1.0 / math.sqrt(head_dim)
        )
        h = self.attention_norm(x + self.attention_out(attended.transpose(1, 2).reshape(batch, length, width)))
        return self.output_norm(h + self.outer(nn.functional.gelu(self.inner(h))))

    def load_bert(self, weights: Mapping[str, torch.Tensor]) -> None:
        """Copy the weights of a Hugging Face ``BertLayer`` (its ``state_dict``)."""
        own = {
            f"{mine}.{part}": weights[f"{theirs}.{part}"]
            for mine, theirs in _BERT_NAMES.items()
            for part in ("weight", "bias")
        }
        self.load_state_dict(own)
