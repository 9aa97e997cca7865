"""`PlannerModel`: instruction in; typed subtasks, a dependency graph and a model per subtask out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from orchestai.configuration import require
from orchestai.envs.embeddings import MINILM_DIM, MINILM_LAYERS
from orchestai.envs.tokenizer import SENTENCE_END_ID, HashTokenizer
from orchestai.planner.finetuned_layers import BertLayer
from orchestai.planner.routing import RoutingBranches, current_type, selector_features
from orchestai.world.workflow import SELECTOR_FEATURES

NEG_INF = -1e9  # logit of a masked choice: finite, so softmax and entropy stay NaN-free
MAX_SENTENCES = 64  # sentence-index embeddings (later sentences share the last one)
MAX_SENTENCE_LENGTH = 64  # position-within-sentence embeddings
SENTENCE_BIAS_SCALE = 10.0
MAX_ORDINAL = 8  # edge-head ordinal embeddings: a slot is the k-th of its type (later ones share the last)
ENCODERS = ("words", "minilm")  # the text encoders of PlannerConfig.encoder
SEGMENTS = ("sentences", "clauses")  # PlannerConfig.segments
TEXT_DIM = MINILM_DIM  # width of the pretrained encoder's states


@dataclass(frozen=True)
class PlannerConfig:
    """Architecture of the planner (the ``model:`` section of ``orchestai/configs/phase1.yaml``)."""

    d_model: int = 64
    conv_layers: int = 2
    conv_kernel: int = 5
    slot_layers: int = 2
    n_heads: int = 4
    dropout: float = 0.1
    routing_hidden: int = 64  # width of the routing branches (orchestai.planner.routing)
    encoder: str = field(default="words", metadata={"choices": ENCODERS})
    finetune_layers: int = 0  # minilm: the top N of its 6 layers train with the planner (0: frozen)
    segments: str = field(default="sentences", metadata={"choices": SEGMENTS})  # minilm: what the slots align to
    grounding: bool = False
    retrieval_k: int = 0
    # decoding with a catalogue graph: the factor on the probability of a type no earlier
    # step may feed and of an edge outside the graph (0: allowed ones only)
    graph_penalty: float = 0.0
    # minilm, data with step descriptions: add the steps a clause of their own names and the
    # plan lacks (orchestai.planner.coverage), with these thresholds
    coverage: bool = False
    coverage_similarity: float = 0.8  # cosine to the nearest training step clause
    coverage_share: float = 0.5  # share of its nearest step clauses' votes for one tool
    coverage_description_similarity: float = 0.7  # else: cosine to a catalogue description

    def validate(self) -> None:
        """Check value ranges (raises ``ValueError("field: problem")``)."""
        require(8 <= self.d_model <= 4096, "d_model", "must be within [8, 4096]")
        require(self.n_heads >= 1, "n_heads", "must be >= 1")
        require(self.d_model % self.n_heads == 0, "n_heads", "must divide d_model")
        require(self.conv_layers >= 1, "conv_layers", "must be >= 1")
        require(self.conv_kernel >= 1 and self.conv_kernel % 2 == 1, "conv_kernel", "must be an odd number >= 1")
        require(self.slot_layers >= 0, "slot_layers", "must be >= 0")
        require(0.0 <= self.dropout < 1.0, "dropout", "must be within [0, 1)")
        require(self.routing_hidden >= 1, "routing_hidden", "must be >= 1")
        require(self.encoder in ENCODERS, "encoder", f"must be one of {', '.join(ENCODERS)}")
        require(0 <= self.finetune_layers <= MINILM_LAYERS, "finetune_layers", f"must be within [0, {MINILM_LAYERS}]")
        require(self.segments in SEGMENTS, "segments", f"must be one of {', '.join(SEGMENTS)}")
        require(
            self.finetune_layers == 0 or self.encoder == "minilm", "finetune_layers", "needs encoder: minilm (0 otherwise)"
        )
        require(0 <= self.retrieval_k <= 64, "retrieval_k", "must be within [0, 64] (0: no retrieval prior)")
        require(0.0 <= self.graph_penalty <= 1.0, "graph_penalty", "must be within [0, 1] (0: allowed edges only)")
        require(not self.coverage or self.encoder == "minilm", "coverage", "needs encoder: minilm")
        for name in ("coverage_similarity", "coverage_share", "coverage_description_similarity"):
            require(0.0 <= getattr(self, name) <= 1.0, name, "must be within [0, 1]")


@dataclass(frozen=True)
class PlannerVocabulary:
    """What the planner predicts over: task types, worker models, and which model can do which type.

    ``default_tokens[t]`` are the typical (input, output) token counts of type ``t`` and
    ``skill[t][m]`` model m's published skill on type t: the features and input
    quality of predicted subtasks. With no models (plans without model choices, e.g.
    TaskBench data), the selector is unused.
    """

    type_names: list[str]
    model_names: list[str]
    capable: list[list[bool]]
    default_tokens: list[list[int]]
    skill: list[list[float]] = field(default_factory=list)
    vocab_size: int = 4096
    max_tokens: int = 768
    max_subtasks: int = 32
    extra: dict[str, str] = field(default_factory=dict)  # provenance, e.g. {"source": "world"}
    descriptions: list[str] = field(default_factory=list)  # one line per type (the catalogue's), for grounding
    # [parent type, child type] pairs the catalogue's graph allows (empty: no graph given)
    allowed_edges: list[list[int]] = field(default_factory=list)
    repeat_types: bool = True  # whether a plan may use a type twice (False where training plans almost never do)
    # with a graph: whether a step after the first may have no parent (False where training plans almost never do)
    unfed_steps: bool = False
    # with a graph: whether decoding feeds every later step that the graph lets an earlier
    # step feed (True where training plans almost always are)
    fed_where_allowed: bool = False

    @property
    def n_types(self) -> int:
        """Number of task types."""
        return len(self.type_names)

    @property
    def n_models(self) -> int:
        """Number of worker models."""
        return len(self.model_names)

    def allowed_links(self) -> set[tuple[int, int]]:
        """The (parent type, child type) links the catalogue's graph allows (empty: no graph given)."""
        return {(int(parent), int(child)) for parent, child in self.allowed_edges}

    def allowed_matrix(self) -> torch.Tensor | None:
        """``(T, T)`` bool: which type may feed which, where the catalogue gives a graph (else ``None``)."""
        if not self.allowed_edges:
            return None
        matrix = torch.zeros(self.n_types, self.n_types, dtype=torch.bool)
        for parent, child in self.allowed_edges:
            matrix[parent, child] = True
        return matrix


class PlanInputs(NamedTuple):
    """What the planner reads besides the hashed words, where configured (``None`` fields are absent).

    ``text`` ``(B, L, 384)`` are the pretrained encoder's token states (``text_pad``
    True at padding, ``text_sentence`` each token's sentence index), ``prior`` ``(B, N,
    T+1)`` the retrieval prior: for each slot, the similarity-weighted share of the
    nearest training plans with each type (or no subtask) there.
    """

    text: torch.Tensor | None = None
    text_pad: torch.Tensor | None = None
    text_sentence: torch.Tensor | None = None
    prior: torch.Tensor | None = None


class Encoding(NamedTuple):
    """The encoder's output for a batch of instructions."""

    states: torch.Tensor  # (B, L, d) token states
    pad: torch.Tensor  # (B, L) True at padding
    summary: torch.Tensor  # (B, d) the instruction summary (see PlannerModel.summarize)
    sentence: torch.Tensor  # (B, L) sentence index of each token
    words: torch.Tensor  # (B, L, d) the plain word embeddings (no position, no context)
    raw: torch.Tensor | None = (
        None  # (B, L, 384) the pretrained encoder's token states (minilm only; after the fine-tuned layers)
    )


class Slots(NamedTuple):
    """The decomposer's output: one state per subtask slot, and the graph head's readings."""

    states: torch.Tensor  # (B, N, d)
    label: torch.Tensor  # (B, N, d) what names each slot's subtask
    reference: torch.Tensor  # (B, N, d) what each slot's subtask refers to


def sentence_positions(tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For token ids ``(B, L)``: each token's sentence index and its position within the sentence.

    A sentence-end token belongs to the sentence it ends.
    """
    is_end = (tokens == SENTENCE_END_ID).long()
    sentence = torch.cumsum(is_end, dim=1) - is_end
    positions = torch.arange(tokens.shape[1], device=tokens.device).expand_as(tokens)
    starts = torch.zeros_like(tokens, dtype=torch.bool)
    starts[:, 1:] = is_end[:, :-1].bool()
    start_position = torch.cummax(torch.where(starts, positions, torch.zeros_like(positions)), dim=1).values
    return sentence, positions - start_position


class _SlotReader(nn.Module):
    """Multi-head cross-attention whose additive bias ``(B, Q, L)`` is shared by all heads."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.value = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        batch, n_queries, d = queries.shape
        heads, head_dim = self.n_heads, d // self.n_heads
        q = self.query(queries).view(batch, n_queries, heads, head_dim).transpose(1, 2)
        k = self.key(keys).view(batch, -1, heads, head_dim).transpose(1, 2)
        v = self.value(values).view(batch, -1, heads, head_dim).transpose(1, 2)
        attended = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias.unsqueeze(1))
        return self.out(attended.transpose(1, 2).reshape(batch, n_queries, d))


class _ConvBlock(nn.Module):
    """Residual depthwise-separable convolution over the token axis.

    The depthwise part is written as a weighted sum of shifted copies: on CPU this is
    several times faster, forward and backward, than a grouped ``Conv1d``.
    """

    def __init__(self, d_model: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.offsets = [dilation * (j - kernel // 2) for j in range(kernel)]
        self.depthwise = nn.Parameter(torch.randn(kernel, d_model) / math.sqrt(kernel))
        self.pointwise = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        h = self.norm(x) * keep  # the norm's bias is not zero: padding must not leak into real tokens
        reach = max(abs(o) for o in self.offsets)
        padded = nn.functional.pad(h, (0, 0, reach, reach))
        length = h.shape[1]
        mixed = sum(w * padded[:, reach + o : reach + o + length] for w, o in zip(self.depthwise, self.offsets, strict=True))
        return (x + self.pointwise(nn.functional.gelu(mixed))) * keep


class PlannerModel(nn.Module):
    """Instruction encoder, task decomposer, graph generator and model selector.

    * **Encoder**: hashed-word embeddings plus three position embeddings (in the text,
      which sentence, where in the sentence: the tokenizer marks sentence ends), then
      residual dilated depthwise-separable convolutions. The summary, which the
      selector reads, is a projection of the mean word embedding (cheap for PPO).
    * **Decomposer**: ``max_subtasks`` learned slot queries attend to the encoding, then
      to each other; each slot predicts a task type or "no subtask" (the last class).
    * **Graph generator**: edge logit ``i -> j`` is a bilinear score of slots i and j.
    * **Selector**: scores the models for one subtask from the instruction summary, the
      subtask's type and its numeric features (:func:`selector_feature_matrix`), masked
      to the models able to do that type. Because it does not read slot states, it
      scores predicted subtasks (planning) and the env's subtasks (routing) alike.
    * **Routing branches** (:class:`~orchestai.planner.routing.RoutingBranches`, only
      with models): for a routing decision in the env, what the execution so far and
      the models' published estimates add to the selector's logits
      (:meth:`routing_logits`).
    """

    capable: torch.Tensor  # (T, M) bool buffer: which models can do which type
    catalogue: torch.Tensor  # (T, 384 or d) grounding only: the entries' embedded descriptions (minilm)
    catalogue_tokens: torch.Tensor  # (T, 32) grounding only: the entries' hashed words (words encoder)
    seen_types: torch.Tensor  # (T,) bool, grounding only: which entries the training plans use
    allowed: torch.Tensor  # (T, T) float, where the catalogue gives a graph: which type may feed which

    def __init__(self, config: PlannerConfig, vocabulary: PlannerVocabulary) -> None:
        super().__init__()
        self.config = config
        self.vocabulary = vocabulary
        d = config.d_model
        self.token_embedding = nn.Embedding(vocabulary.vocab_size, d, padding_idx=0)
        self.position_embedding = nn.Embedding(vocabulary.max_tokens, d)
        self.sentence_embedding = nn.Embedding(MAX_SENTENCES, d)
        self.within_sentence_embedding = nn.Embedding(MAX_SENTENCE_LENGTH, d)
        self.convs = nn.ModuleList(_ConvBlock(d, config.conv_kernel, 2**i) for i in range(config.conv_layers))
        self.encoder_norm = nn.LayerNorm(d)
        self.summary_projection = nn.Linear(d, d)
        self.summary_norm = nn.LayerNorm(d)
        self.slot_queries = nn.Parameter(torch.randn(vocabulary.max_subtasks, d))
        # learned prior of which sentence each slot reads (added to the attention logits),
        # initialised to a soft monotone alignment: slot k leans towards sentences near k
        # (stored divided by SENTENCE_BIAS_SCALE: Adam moves each parameter by about the
        # learning rate per step, and the prior must move by several units to align)
        distance = torch.arange(MAX_SENTENCES).unsqueeze(0) - torch.arange(vocabulary.max_subtasks).unsqueeze(1)
        self.slot_sentence_bias = nn.Parameter(-0.5 * distance.abs().float() / SENTENCE_BIAS_SCALE)
        self.slot_reader = _SlotReader(d, 1)  # one head: the learned sentence prior does the routing
        self.slot_encoder = (
            nn.TransformerEncoder(
                nn.TransformerEncoderLayer(
                    d, config.n_heads, 2 * d, config.dropout, batch_first=True, norm_first=True, activation="gelu"
                ),
                config.slot_layers,
                enable_nested_tensor=False,
            )
            if config.slot_layers
            else None
        )
        self.slot_norm = nn.LayerNorm(d)
        # the graph head reads each slot's sentence twice more: once for what names the
        # subtask ("step 3"), once for what it refers to ("using steps 1 and 2")
        self.label_query = nn.Parameter(torch.randn(1, 1, d))
        self.reference_query = nn.Parameter(torch.randn(1, 1, d))
        self.type_head = nn.Linear(d, vocabulary.n_types + 1) if not config.grounding else None
        if config.encoder == "minilm":
            self.text_projection = nn.Linear(TEXT_DIM, d)
            # the pretrained encoder's top layers, trained with the planner (they read the
            # cached states of the layer below them; load_pretrained_layers copies MiniLM's weights)
            self.text_layers = nn.ModuleList(BertLayer(TEXT_DIM) for _ in range(config.finetune_layers))
        if config.grounding:
            # each slot is scored against every catalogue entry's embedded description (a
            # unit vector of the pretrained encoder, or the mean word embedding of its words)
            catalogue_dim = TEXT_DIM if config.encoder == "minilm" else d
            self.register_buffer("catalogue", torch.zeros(vocabulary.n_types, catalogue_dim))
            self.catalogue_projection = nn.Linear(catalogue_dim, d)
            self.type_query = nn.Linear(d, d)
            self.type_bias = nn.Parameter(torch.zeros(vocabulary.n_types))
            # entries the training plans use: in training, the others get no logit (no gradient
            # pushes an unseen entry's bias or key away), so at inference they compete on
            # their descriptions alone
            self.register_buffer("seen_types", torch.ones(vocabulary.n_types, dtype=torch.bool))
            self.grounding_scale = nn.Parameter(torch.tensor(math.log(10.0)))
            self.none_head = nn.Linear(d, 1)
            if config.encoder == "minilm":
                # each slot also reads the pretrained encoder's own states and compares what it
                # read with the descriptions in that space: no learned map stands between a
                # request's words and an entry never seen in training
                self.raw_query = nn.Linear(d, d)
                self.raw_scale = nn.Parameter(torch.tensor(math.log(10.0)))
            words = HashTokenizer(vocabulary.vocab_size, 32)
            described = [
                vocabulary.descriptions[t] if t < len(vocabulary.descriptions) else "" for t in range(vocabulary.n_types)
            ]
            tokens = [
                words.encode(f"{name.replace('_', ' ')}: {text}")
                for name, text in zip(vocabulary.type_names, described, strict=True)
            ]
            self.register_buffer(
                "catalogue_tokens",
                torch.as_tensor(np.stack(tokens)) if tokens else torch.zeros(0, 32, dtype=torch.long),
                persistent=False,
            )
        if config.retrieval_k:
            self.retrieval_weight = nn.Parameter(torch.full((vocabulary.max_subtasks,), 3.0))
        allowed = vocabulary.allowed_matrix()
        if allowed is not None:
            self.register_buffer("allowed", allowed.float(), persistent=False)
            self.graph_weight = nn.Parameter(torch.tensor(1.0))
        self.edge_parent = nn.Linear(d, d)
        self.edge_child = nn.Linear(d, d)
        # a parent is named by what it produces and, where its type repeats, by its rank
        # ("the summary (second one)"): the parent side reads its predicted type and the
        # expected number of earlier slots of that type
        self.edge_type = nn.Linear(vocabulary.n_types, d, bias=False)
        self.edge_ordinal = nn.Embedding(MAX_ORDINAL, d)
        # plans are sparse: start with low edge probabilities (this also keeps the DAG loss small)
        self.edge_bias = nn.Parameter(torch.tensor(-3.0))
        self.type_embedding = nn.Embedding(vocabulary.n_types, d)
        self.feature_projection = nn.Linear(SELECTOR_FEATURES, d)
        self.selector = nn.Sequential(nn.Linear(3 * d, d), nn.GELU(), nn.Linear(d, max(vocabulary.n_models, 1)))
        capable = (
            torch.tensor(vocabulary.capable, dtype=torch.bool)
            if vocabulary.n_models
            else torch.ones(vocabulary.n_types, 1, dtype=torch.bool)
        )
        self.register_buffer("capable", capable, persistent=False)
        self.routing = (
            RoutingBranches(vocabulary.n_types, vocabulary.n_models, config.routing_hidden) if vocabulary.n_models else None
        )

    @property
    def none_class(self) -> int:
        """Index of the "no subtask" class of the type head."""
        return self.vocabulary.n_types

    # -- parts -------------------------------------------------------------------------
    def encode(self, tokens: torch.Tensor, inputs: PlanInputs | None = None) -> Encoding:
        """Encode token ids ``(B, L)`` (the all-padding tail of the batch is dropped).

        With ``encoder: minilm`` the states come from the pretrained encoder's token states
        in ``inputs`` (projected; the hashed words still give the summary the selector reads).
        """
        if self.config.encoder == "minilm":
            return self._encode_text(tokens, inputs)
        tokens = tokens.long()
        length = int((tokens != 0).sum(1).max().clamp(min=1))
        tokens = tokens[:, :length]  # drop the all-padding tail of the batch
        pad = tokens == 0
        keep = (~pad).unsqueeze(-1).float()
        positions = torch.arange(length, device=tokens.device)
        sentence, within = sentence_positions(tokens)
        words = self.token_embedding(tokens) * keep
        x = (
            words
            + self.position_embedding(positions)
            + self.sentence_embedding(sentence.clamp(max=MAX_SENTENCES - 1))
            + self.within_sentence_embedding(within.clamp(max=MAX_SENTENCE_LENGTH - 1))
        ) * keep
        for conv in self.convs:
            x = conv(x, keep)
        x = self.encoder_norm(x)
        return Encoding(x, pad, self.summarize(tokens), sentence.clamp(max=MAX_SENTENCES - 1), words)

    def _encode_text(self, tokens: torch.Tensor, inputs: PlanInputs | None) -> Encoding:
        if inputs is None or inputs.text is None or inputs.text_pad is None or inputs.text_sentence is None:
            raise ValueError("this planner reads the pretrained encoder's token states (encoder: minilm); none were given")
        pad = inputs.text_pad.bool()
        length = int((~pad).sum(1).max().clamp(min=1))
        pad = pad[:, :length]
        keep = (~pad).unsqueeze(-1).float()
        sentence = inputs.text_sentence[:, :length].long().clamp(min=0, max=MAX_SENTENCES - 1)
        text = inputs.text[:, :length].float()
        for layer in self.text_layers:
            text = layer(text, pad)
        words = self.text_projection(text) * keep
        positions = torch.arange(length, device=words.device)
        x = (
            words
            + self.position_embedding(positions.clamp(max=self.vocabulary.max_tokens - 1))
            + self.sentence_embedding(sentence)
        ) * keep
        for conv in self.convs:
            x = conv(x, keep)
        return Encoding(self.encoder_norm(x), pad, self.summarize(tokens), sentence, words, text)

    def summarize(self, tokens: torch.Tensor) -> torch.Tensor:
        """The instruction summary ``(B, d)`` alone: what the model selector (and PPO) reads.

        It is a projection of the mean word embedding, so routing needs no pass through
        the convolutions; the word embeddings are shared with the encoder, so training
        the selector still moves what the graph head reads.
        """
        mean_words = nn.functional.embedding_bag(tokens.long(), self.token_embedding.weight, mode="mean", padding_idx=0)
        return self.summary_norm(self.summary_projection(mean_words))

    def decompose(self, encoding: Encoding) -> Slots:
        """Slot states ``(B, N, d)`` and their label / reference readings of the instruction."""
        states, pad = encoding.states, encoding.pad
        batch = states.shape[0]
        # each slot's learned prior over sentences, added to the attention logits
        pad = pad.clone()
        pad[:, 0] = False  # an empty instruction still has position 0 to attend to
        bias = SENTENCE_BIAS_SCALE * self.slot_sentence_bias[:, encoding.sentence].permute(1, 0, 2)  # (B, N, L)
        bias = bias.masked_fill(pad.unsqueeze(1), float("-inf"))
        queries = self.slot_queries.unsqueeze(0).expand(batch, -1, -1)
        # one attention for the three readings, so keys and values are projected once
        all_queries = torch.cat([queries, queries + self.label_query, queries + self.reference_query], dim=1)
        # keys carry context (is this word a step's label, a reference?); values add the
        # plain word, so that the graph head can match "using step 3" with "Step 3:"
        attended = self.slot_reader(all_queries, states, states + encoding.words, bias.repeat(1, 3, 1))
        content, label, reference = attended.split(queries.shape[1], dim=1)
        slots = queries + content
        if self.slot_encoder is not None:
            slots = self.slot_encoder(slots)
        return Slots(self.slot_norm(slots), label, reference)

    def load_pretrained_layers(self) -> None:
        """Initialise the fine-tuned top layers (``finetune_layers``) from all-MiniLM-L6-v2's own."""
        from orchestai.envs.embeddings import minilm_layer_weights

        layers = getattr(self, "text_layers", [])
        first = MINILM_LAYERS - len(layers)
        for k, layer in enumerate(layers):
            layer.load_bert(minilm_layer_weights(first + k))

    def set_seen_types(self, seen: set[int]) -> None:
        """Mark the catalogue entries the training plans use (grounding): the others get no logit in training."""
        mask = torch.zeros_like(self.seen_types)
        mask[sorted(seen)] = True
        self.seen_types.copy_(mask)

    def set_catalogue(self, vectors: np.ndarray | torch.Tensor) -> None:
        """Set the catalogue entries' embedded descriptions ``(T, 384)`` (grounding with the minilm encoder)."""
        self.catalogue.copy_(torch.as_tensor(np.asarray(vectors), dtype=torch.float32))

    def catalogue_keys(self) -> torch.Tensor:
        """``(T, d)``: each catalogue entry's embedded description, projected (grounding only)."""
        if self.config.encoder == "minilm":
            described = self.catalogue
        else:  # the mean word embedding of the entry's name and description
            described = nn.functional.embedding_bag(
                self.catalogue_tokens, self.token_embedding.weight, mode="mean", padding_idx=0
            )
        return self.catalogue_projection(described)

    def type_logits(self, slots: Slots, prior: torch.Tensor | None = None, encoding: Encoding | None = None) -> torch.Tensor:
        """Type logits ``(B, N, T+1)`` (the last class: no subtask).

        With grounding, a slot's score for an entry is the scaled cosine of the slot's
        query and the entry's embedded description plus the entry's learned bias, so an
        entry never seen in training can still be chosen from its description; with a
        retrieval prior, each slot adds its learned weight times the prior's votes.
        """
        if self.config.grounding:
            query = nn.functional.normalize(self.type_query(slots.states), dim=-1)
            keys = nn.functional.normalize(self.catalogue_keys(), dim=-1)
            scores = self.grounding_scale.exp() * query @ keys.T + self.type_bias
            if encoding is not None and encoding.raw is not None and hasattr(self, "raw_query"):
                attention = self.raw_query(slots.states) @ encoding.words.transpose(1, 2) / math.sqrt(slots.states.shape[-1])
                attention = attention.masked_fill(encoding.pad.unsqueeze(1), float("-inf")).softmax(-1)
                read = nn.functional.normalize(attention @ encoding.raw, dim=-1)  # (B, N, 384)
                scores = scores + self.raw_scale.exp() * read @ nn.functional.normalize(self.catalogue, dim=-1).T
            if self.training:
                scores = scores.masked_fill(~self.seen_types, NEG_INF)
            logits = torch.cat([scores, self.none_head(slots.states)], dim=-1)
        else:
            assert self.type_head is not None
            logits = self.type_head(slots.states)
        if self.config.retrieval_k and prior is not None:
            logits = logits + self.retrieval_weight.view(1, -1, 1) * prior[:, : logits.shape[1]]
        return logits

    def edge_logits(self, slots: Slots, type_logits: torch.Tensor | None = None) -> torch.Tensor:
        """Edge logits ``(B, N, N)``, ``[b, i, j]`` for i -> j; the diagonal is masked.

        Where the catalogue gives a graph of allowed edges, the probability that slot i's
        type may feed slot j's (under the predicted type distributions) is added, weighted.
        """
        parent_input = slots.states + slots.label
        if type_logits is not None:
            parent_input = parent_input + self._type_and_rank(type_logits)
        parent = self.edge_parent(parent_input)
        child = self.edge_child(slots.states + slots.reference)
        scores = parent @ child.transpose(1, 2) / math.sqrt(parent.shape[-1]) + self.edge_bias
        if type_logits is not None and hasattr(self, "allowed"):
            p = type_logits[..., : self.vocabulary.n_types].softmax(-1)
            scores = scores + self.graph_weight * (p @ self.allowed @ p.transpose(1, 2))
        eye = torch.eye(parent.shape[1], dtype=torch.bool, device=parent.device)
        return scores.masked_fill(eye, NEG_INF)

    def _type_and_rank(self, type_logits: torch.Tensor) -> torch.Tensor:
        """``(B, N, d)``: each slot's predicted type and its rank among the earlier slots of that type, embedded."""
        p = type_logits[..., : self.vocabulary.n_types].detach().softmax(-1)
        earlier = torch.cumsum(p, dim=1) - p  # expected count of earlier slots per type
        rank = (p * earlier).sum(-1, keepdim=True).clamp(max=MAX_ORDINAL - 1)
        ordinals = torch.arange(MAX_ORDINAL, device=p.device, dtype=p.dtype)
        weights = (1.0 - (rank - ordinals).abs()).clamp(min=0.0)  # linear interpolation between ranks
        return self.edge_type(p) + weights @ self.edge_ordinal.weight

    def plan_heads(
        self, tokens: torch.Tensor, inputs: PlanInputs | None = None
    ) -> tuple[Encoding, torch.Tensor, torch.Tensor]:
        """The encoding, type logits ``(B, N, T+1)`` and edge logits ``(B, N, N)`` of a batch of instructions."""
        encoding = self.encode(tokens, inputs)
        slots = self.decompose(encoding)
        type_logits = self.type_logits(slots, inputs.prior if inputs is not None else None, encoding)
        return encoding, type_logits, self.edge_logits(slots, type_logits)

    def selector_logits(self, summary: torch.Tensor, types: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Model logits ``(B, K, M)`` for K subtasks of types ``(B, K)`` with features ``(B, K, 6)``.

        Models unable to do a subtask's type get :data:`NEG_INF`.
        """
        types = types.long().clamp(min=0, max=self.vocabulary.n_types - 1)
        k = types.shape[1]
        inputs = torch.cat(
            [summary.unsqueeze(1).expand(-1, k, -1), self.type_embedding(types), self.feature_projection(features.float())], -1
        )
        logits = self.selector(inputs)
        return logits.masked_fill(~self.capable[types], NEG_INF)

    def routing_logits(
        self, obs: dict[str, torch.Tensor], extra_summary: torch.Tensor | None = None, read_words: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Model logits ``(B, M)`` for the env's current subtask in a batch of observations, and the summary ``(B, d)``.

        The selector's logits plus the routing branches', masked with the observation's
        ``action_mask``. ``extra_summary`` (e.g. a projected sentence embedding of the
        instruction) is added to the instruction summary, or replaces it when
        ``read_words`` is False.
        """
        if self.routing is None:
            raise ValueError("this planner has no models to route to (it was trained on plans without model choices)")
        if read_words:
            summary = self.summarize(obs["instruction"])
            if extra_summary is not None:
                summary = summary + extra_summary
        elif extra_summary is not None:
            summary = extra_summary
        else:
            raise ValueError("with read_words=False routing needs an extra summary (an instruction embedding)")
        logits = self.selector_logits(summary, current_type(obs), selector_features(obs))[:, 0] + self.routing(obs)
        return logits.masked_fill(~obs["action_mask"].bool(), NEG_INF), summary

    # -- whole model -------------------------------------------------------------------
    def forward(
        self, tokens: torch.Tensor, types: torch.Tensor, features: torch.Tensor, inputs: PlanInputs | None = None
    ) -> dict[str, torch.Tensor]:
        """All heads: type logits ``(B, N, T+1)``, edge logits ``(B, N, N)``, model logits ``(B, N, M)``, and the summary ``(B, d)``.

        ``types`` and ``features`` describe the subtasks the selector scores (the true
        ones in training; padded slots are ignored by the losses).
        """
        encoding, type_logits, edge_logits = self.plan_heads(tokens, inputs)
        return {
            "type_logits": type_logits,
            "edge_logits": edge_logits,
            "model_logits": self.selector_logits(encoding.summary, types, features),
            "summary": encoding.summary,
        }
