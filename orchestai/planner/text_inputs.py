"""What the planner reads besides the hashed words: pretrained token states and the retrieval prior.

* **Token states** (``encoder: minilm``): all-MiniLM-L6-v2's output per token, frozen and
  cached per text (:class:`~orchestai.envs.embeddings.TokenStateCache`); with
  ``finetune_layers: N`` the planner reads the cached states of the layer below its own
  trainable copy of the top N layers (the final states still give the request vectors).
* **Retrieval prior** (``retrieval_k`` > 0): the k training requests most similar to an
  instruction (cosine of MiniLM sentence embeddings, or of hashed bag-of-words counts with
  the words encoder) vote, weighted by similarity, for the type each of their plans has at
  each slot; the planner adds the votes to its type logits with a learned weight per
  slot, so it can copy the neighbour where the neighbour is right and overrule it where
  its own reading of the request disagrees. In training a request never sees itself.
* **Clause coverage** (``coverage``): the training records' step clauses and the
  catalogue's descriptions, embedded, add the steps a clause of their own names and the
  decoded plan lacks (:mod:`orchestai.planner.coverage`).
* **Familiarity**: the similarity to the nearest training request, against the spread of
  the training requests' own nearest-neighbour similarities, says when a request looks
  unlike anything the planner was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from orchestai.data.examples import PlanExample
from orchestai.envs.embeddings import MINILM_DIM, MINILM_LAYERS, TokenStateCache, TokenStates, clause_indices
from orchestai.envs.tokenizer import HashTokenizer
from orchestai.planner.coverage import ClauseCoverage, request_clauses
from orchestai.planner.metrics import Plan
from orchestai.planner.model import PlanInputs, PlannerConfig, PlannerVocabulary
from orchestai.planner.nearest_neighbour import unit_rows

RETRIEVAL_TEMPERATURE = 0.1  # softmax temperature over the neighbours' cosine similarities
UNFAMILIAR_QUANTILE = 0.01  # below this quantile of the training requests' nearest similarities: unfamiliar


@dataclass
class RetrievalMemory:
    """The training requests' vectors and plans (types per slot), and how similar training requests are to each other."""

    vectors: np.ndarray  # (n, D) unit rows
    types: list[tuple[int, ...]]
    nearest_quantile: float  # UNFAMILIAR_QUANTILE of the leave-one-out nearest similarities

    @classmethod
    def build(cls, vectors: np.ndarray, examples: Sequence[PlanExample]) -> RetrievalMemory:
        """A memory of ``examples`` whose request vectors are ``vectors``."""
        unit = unit_rows(np.asarray(vectors, dtype=np.float32))
        memory = cls(unit, [tuple(e.types) for e in examples], 0.0)
        if len(unit) > 1:
            nearest = memory.nearest(unit, exclude=list(range(len(unit))))
            memory.nearest_quantile = float(np.quantile(nearest, UNFAMILIAR_QUANTILE))
        return memory

    def _similarities(self, queries: np.ndarray, exclude: Sequence[int] | None) -> np.ndarray:
        sims = unit_rows(np.asarray(queries, dtype=np.float32)) @ self.vectors.T
        if exclude is not None:
            sims[np.arange(len(sims)), np.asarray(exclude)] = -np.inf
        return sims

    def nearest(self, queries: np.ndarray, exclude: Sequence[int] | None = None) -> np.ndarray:
        """Each query's similarity to its nearest training request."""
        return self._similarities(queries, exclude).max(axis=1)

    def prior(
        self, queries: np.ndarray, k: int, n_slots: int, n_types: int, exclude: Sequence[int] | None = None
    ) -> np.ndarray:
        """``(B, n_slots, n_types + 1)``: the k nearest plans' similarity-weighted votes per slot (last class: no subtask)."""
        sims = self._similarities(queries, exclude)
        k = min(k, sims.shape[1] - (1 if exclude is not None else 0))
        prior = np.zeros((len(sims), n_slots, n_types + 1), dtype=np.float32)
        if k <= 0:
            return prior
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        for row, neighbours in enumerate(top):
            scores = sims[row, neighbours]
            weights = np.exp((scores - scores.max()) / RETRIEVAL_TEMPERATURE)
            weights /= weights.sum()
            for weight, j in zip(weights, neighbours, strict=True):
                plan = self.types[j][:n_slots]
                prior[row, np.arange(len(plan)), plan] += weight
                prior[row, len(plan) :, n_types] += weight
        return prior

    def state(self) -> dict[str, Any]:
        """Plain tensors and lists, for a checkpoint (read back with ``weights_only=True``)."""
        return {
            "vectors": torch.from_numpy(self.vectors.astype(np.float16)),
            "types": [list(t) for t in self.types],
            "nearest_quantile": self.nearest_quantile,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RetrievalMemory:
        """The memory a checkpoint stored."""
        vectors = state["vectors"].float().numpy()
        return cls(vectors, [tuple(int(x) for x in t) for t in state["types"]], float(state["nearest_quantile"]))


def bag_of_words(texts: Sequence[str], vocab_size: int) -> np.ndarray:
    """Hashed word counts ``(n, vocab_size)`` (the words encoder's retrieval vectors)."""
    tokenizer = HashTokenizer(vocab_size)
    matrix = np.zeros((len(texts), vocab_size), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in tokenizer.words(text):
            matrix[row, tokenizer.token_id(word)] += 1.0
    return matrix


def catalogue_text(vocabulary: PlannerVocabulary, type_index: int) -> str:
    """What a catalogue entry is embedded from: its name in words, then its description."""
    name = vocabulary.type_names[type_index].replace("_", " ")
    description = vocabulary.descriptions[type_index] if type_index < len(vocabulary.descriptions) else ""
    return f"{name}: {description}" if description else name


class PlannerInputsBuilder:
    """Builds the :class:`~orchestai.planner.model.PlanInputs` of instructions for one planner configuration."""

    def __init__(
        self,
        config: PlannerConfig,
        vocabulary: PlannerVocabulary,
        cache_dir: str | Path | None = None,
        memory: RetrievalMemory | None = None,
        coverage: ClauseCoverage | None = None,
        precision: str = "float32",
    ) -> None:
        self.config = config
        self.vocabulary = vocabulary
        # precision: what the pretrained encoder computes in (envs.embeddings.ENCODER_PRECISIONS)
        self.cache = TokenStateCache(cache_dir, precision=precision) if config.encoder == "minilm" else None
        # with fine-tuned top layers, the planner reads the states of the layer below them
        self.lower_cache = (
            TokenStateCache(cache_dir, layer=MINILM_LAYERS - config.finetune_layers, precision=precision)
            if config.finetune_layers
            else None
        )
        self.memory = memory
        self.coverage = coverage
        self._clause_worker: ThreadPoolExecutor | None = None  # encode_ahead's second thread, made on first use

    @property
    def needed(self) -> bool:
        """Whether this configuration reads anything besides the hashed words."""
        return self.config.encoder == "minilm" or self.config.retrieval_k > 0

    def token_states(self, texts: Sequence[str]) -> list[TokenStates]:
        """The pretrained encoder's states of each text (cached)."""
        if self.cache is None:
            raise ValueError("token states need encoder: minilm")
        return self.cache.states(texts)

    def request_vectors(self, texts: Sequence[str], states: list[TokenStates] | None = None) -> np.ndarray:
        """The vectors requests are compared by: MiniLM sentence embeddings, or hashed bag-of-words counts."""
        if self.config.encoder == "minilm":
            states = states if states is not None else self.token_states(texts)
            return np.stack([s.pooled for s in states]) if states else np.zeros((0, MINILM_DIM), np.float32)
        return bag_of_words(texts, self.vocabulary.vocab_size)

    def catalogue_vectors(self) -> np.ndarray:
        """``(T, 384)``: each catalogue entry's name and description, embedded (for grounding)."""
        texts = [catalogue_text(self.vocabulary, t) for t in range(self.vocabulary.n_types)]
        return np.stack([s.pooled for s in self.token_states(texts)])

    def build_memory(self, examples: Sequence[PlanExample]) -> RetrievalMemory:
        """The retrieval memory of the training examples (set as this builder's memory)."""
        self.memory = RetrievalMemory.build(self.request_vectors([e.instruction for e in examples]), examples)
        return self.memory

    def build_coverage(self, examples: Sequence[PlanExample]) -> ClauseCoverage:
        """The clause coverage of the training examples' step clauses and the catalogue (set as this builder's)."""
        # the bare descriptions, not catalogue_text's "name: description": the thresholds
        # were chosen on these (a name prefix moves every cosine)
        descriptions = [
            (self.vocabulary.descriptions[t] if t < len(self.vocabulary.descriptions) else "")
            or self.vocabulary.type_names[t].replace("_", " ")
            for t in range(self.vocabulary.n_types)
        ]
        self.coverage = ClauseCoverage.build(
            examples, lambda texts: self.request_vectors(texts), self.request_vectors(descriptions), self.config
        )
        return self.coverage

    def _clauses_read(self, texts: Sequence[str]) -> tuple[list[list[str]], list[str]]:
        """Each text's clauses, and those clause coverage embeds (one clause alone: the request the planner read)."""
        clauses = [request_clauses(text) for text in texts]
        return clauses, [c for cs in clauses if len(cs) > 1 for c in cs]

    def covered(self, plans: Sequence[Plan], texts: Sequence[str]) -> list[Plan]:
        """``plans`` of ``texts`` with the steps their clauses name and they lack, where this planner has coverage."""
        if self.coverage is None:
            return list(plans)
        allowed = self.vocabulary.allowed_links() or None
        clauses, read = self._clauses_read(texts)
        vectors = iter(self.request_vectors(read) if read else np.zeros((0, MINILM_DIM), np.float32))
        covered = []
        for plan, cs in zip(plans, clauses, strict=True):
            own = np.stack([next(vectors) for _ in cs]) if len(cs) > 1 else np.zeros((len(cs), MINILM_DIM))
            covered.append(self.coverage.cover(plan, own, allowed, self.vocabulary.max_subtasks))
        return covered

    def encode_ahead(self, texts: Sequence[str]) -> None:
        """Encode ``texts`` and, with clause coverage, their clauses at the same time, on two threads.

        :meth:`inputs` and :meth:`covered` then find both cached, so planning a request
        waits for the longer of the two MiniLM passes instead of their sum (the states
        are the same as when encoded one after the other). Without coverage, or with
        no request of several clauses, it does nothing.
        """
        if self.cache is None or self.coverage is None:
            return
        _, read = self._clauses_read(texts)
        if not read:
            return
        if self._clause_worker is None:
            self._clause_worker = ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix="orchestai-clauses",
                initializer=torch.set_num_threads,
                initargs=(torch.get_num_threads(),),
            )
        clauses = self._clause_worker.submit(self.token_states, read)
        self.token_states(texts)
        if self.lower_cache is not None:
            self.lower_cache.states(texts)
        clauses.result()

    def inputs(self, texts: Sequence[str], memory_index: Sequence[int] | None = None) -> PlanInputs:
        """The inputs of ``texts``; ``memory_index`` gives each text's own row in the memory (training: left out)."""
        states = self.token_states(texts) if self.config.encoder == "minilm" else None
        read = self.lower_cache.states(texts) if self.lower_cache is not None else states
        text = text_pad = text_sentence = prior = None
        segments = clause_indices(texts) if read is not None and self.config.segments == "clauses" else None
        if read is not None:
            length = max((len(s.states) for s in read), default=1)
            text = torch.zeros(len(read), length, MINILM_DIM, dtype=torch.float16)
            text_pad = torch.ones(len(read), length, dtype=torch.bool)
            text_sentence = torch.zeros(len(read), length, dtype=torch.long)
            for row, s in enumerate(read):
                n = len(s.states)
                text[row, :n] = torch.from_numpy(s.states)
                text_pad[row, :n] = False
                index = segments[row][:n] if segments is not None else s.sentence
                text_sentence[row, :n] = torch.from_numpy(index.astype(np.int64))
        if self.config.retrieval_k:
            if self.memory is None:
                raise ValueError("the retrieval prior needs a memory of training plans (build_memory)")
            queries = self.request_vectors(texts, states)
            prior = torch.from_numpy(
                self.memory.prior(
                    queries, self.config.retrieval_k, self.vocabulary.max_subtasks, self.vocabulary.n_types, memory_index
                )
            )
        return PlanInputs(text, text_pad, text_sentence, prior)


def builder_for_checkpoint(
    model: Any, checkpoint: dict[str, Any], cache_dir: str | Path | None = None, precision: str = "float32"
) -> PlannerInputsBuilder:
    """The inputs builder of a trained planner: its configuration, and the retrieval memory and coverage its checkpoint stored.

    ``precision`` is what the pretrained encoder computes in (float32 by default: what
    training cached; ``orchestai.plan`` uses bfloat16 where it is measured faster).
    """
    extra = checkpoint.get("extra", {})
    memory = RetrievalMemory.from_state(extra["retrieval"]) if extra.get("retrieval") is not None else None
    stored = extra.get("coverage")
    coverage = ClauseCoverage.from_state(stored, model.config) if stored is not None and model.config.coverage else None
    return PlannerInputsBuilder(model.config, model.vocabulary, cache_dir, memory, coverage, precision)
