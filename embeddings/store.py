"""The one storage interface retrieval uses, and the two stores behind it: the versioned folder
(``embeddings.diskformat``, the default) and Milvus (``embeddings.milvus_store``, Lite file or server).

``rag/`` sees only ``Store`` (bring the index in line with the article folders; load it; ``embeddings.backends.open_store``
makes one) and ``Index`` (what a
loaded index answers); which store it is, ``Settings.store`` says ("folder", "milvus:./archive.db",
"milvus:http://host:19530"). The index folder records the store it was built in (``store.json``), so a run
naming another store is refused with what to do instead of silently building a second, empty index.
"""
from __future__ import annotations

import hashlib
import json
import os
from functools import cached_property
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from core.errors import IndexStateError, RagError
from core.records import Chunk, Document
from core.settings import Settings
from core.text import sentence_spans

SENTENCE_CACHE = 60_000
DateRange = tuple[str | None, str | None] | None
Progress = Callable[[str, int, int], None]
MILVUS_EXTRA = "pip install -e .[milvus]"


class Index(Protocol):
    """A loaded index: the live articles and passages (row ``r`` is ``chunks[r]``) and their searches."""

    documents: dict[str, Document]
    chunks: object  # len() and [row] -> Chunk
    manifest: dict  # "files": source -> sha256, title, date, path, chunks of each live article

    @property
    def dim(self) -> int: ...

    @property
    def lexical(self): ...  # term statistics of the live passages: knows, misspelt, idf (``lexical.BM25``)

    def dense_search(self, query: np.ndarray, n: int, date_range: DateRange = None) -> list[int]: ...

    def lexical_search(self, query: str, n: int, date_range: DateRange = None) -> list[int]: ...

    def hybrid_search(self, query_vector: np.ndarray, query: str, n: int, date_range: DateRange = None
                      ) -> list[int]: ...

    def vectors_of(self, rows) -> np.ndarray: ...

    def sentences(self, chunk: Chunk) -> list[tuple[int, int]]: ...

    def sentence_vectors(self, spans: list[tuple[str, int, int]],
                         embed: Callable[[list[str]], np.ndarray]) -> np.ndarray: ...


class Store(Protocol):
    """Where an index lives: ``sync`` brings it in line with the article folders (embedding only new or changed
    articles; ``shard`` (i, n): only the i-th of n parts of them), ``load`` opens it for searching."""

    name: str

    def sync(self, settings: Settings, rebuild: bool = False, progress: Progress | None = None,
             shard: tuple[int, int] | None = None): ...

    def load(self, settings: Settings) -> Index: ...


class SentenceCache:
    """Sentence spans and vectors of an index's passages, kept per loaded index (both stores share it); needs
    ``documents`` and ``dim``."""

    @cached_property
    def _sentences(self) -> dict[str, list[tuple[int, int]]]:
        return {}

    @cached_property
    def _sentence_vectors(self) -> dict[tuple[str, int, int], np.ndarray]:
        return {}

    def sentence_vectors(self, spans: list[tuple[str, int, int]],
                         embed: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """Vectors of the sentences ``(source, start, end)``, each ``embed``ded once per loaded index: a
        question's ~17 candidate sentences cost ~150 ms to embed here, and the next question about the same
        passages 0. At most ``SENTENCE_CACHE`` are kept (~0.1 GB). Safe to call from several threads."""
        if not spans:
            return np.zeros((0, self.dim), np.float32)
        cache = self._sentence_vectors
        got = {k: cache.get(k) for k in spans}
        todo = [k for k, v in got.items() if v is None]
        if todo:
            fresh = embed([self.documents[src].text[a:b] for src, a, b in todo])
            if len(cache) + len(todo) > SENTENCE_CACHE:
                cache.clear()
            got.update(zip(todo, fresh))
            cache.update(zip(todo, fresh))
        return np.stack([got[k] for k in spans])

    def sentences(self, chunk: Chunk) -> list[tuple[int, int]]:
        """The sentence spans of ``chunk`` (article offsets); each chunk is split once per loaded index, not once
        per question (pysbd: ~3 ms a chunk)."""
        spans = self._sentences.get(chunk.chunk_id)
        if spans is None:
            spans = self._sentences[chunk.chunk_id] = sentence_spans(self.documents[chunk.source].text,
                                                                    chunk.start, chunk.end)
        return spans


def fuse(rankings: list[list[int]], k: int = 60) -> list[int]:
    """Reciprocal rank fusion, best first: score = sum over rankings of 1 / (k + rank); ties: lower row first."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, 1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda r: (-scores[r], r))


def parse_shard(text: str) -> tuple[int, int]:
    """"2/4" -> (2, 4): the second of four disjoint parts of the articles."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise RagError(f"--shard {text!r} is not I/N (e.g. 1/4: the first of four parts).") from None
    if not 1 <= i <= n:
        raise RagError(f"--shard {text!r}: I must be 1..N (e.g. 1/4 ... 4/4).")
    return i, n


def in_shard(source: str, shard: tuple[int, int] | None) -> bool:
    """Whether article ``source`` belongs to part ``shard`` = (i, n): by a hash of its name, so a changed
    article stays in its part and the n parts are disjoint and cover all."""
    if shard is None or shard[1] == 1:
        return True
    return int(hashlib.sha256(source.encode()).hexdigest()[:12], 16) % shard[1] == shard[0] - 1


def _marker(settings: Settings) -> Path:
    return settings.resolved_index_dir / "store.json"


def recorded_store(settings: Settings) -> str | None:
    """The store this collection's index was built in ("folder" for an index folder from before the marker)."""
    try:
        return json.loads(_marker(settings).read_text(encoding="utf-8"))["store"]
    except FileNotFoundError:
        return "folder" if (settings.resolved_index_dir / "CURRENT").is_file() else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_store(settings: Settings, rebuild: bool = False) -> None:
    """Refuse a store other than the one this collection's index was built in (``rebuild``: move it)."""
    recorded = recorded_store(settings)
    if recorded is None or recorded == settings.store or rebuild:
        return
    raise IndexStateError(
        f"The index of this collection is in {recorded}, not {settings.store}. Use the store it was built in "
        f"(--store {recorded} or RAG_STORE={recorded}), or rebuild it in {settings.store} (rag index --rebuild "
        f"--store {settings.store}).")


def record_store(settings: Settings) -> None:
    """Write which store holds this collection's index (atomically)."""
    path = _marker(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"store": settings.store}) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def describe_store(store: str) -> str:
    """"index folder", "Milvus Lite (archive.db)", "Milvus server http://host:19530"."""
    if store == "folder":
        return "index folder"
    where = store[len("milvus:"):]
    return f"Milvus server {where}" if "://" in where else f"Milvus Lite ({Path(where.split('#')[0]).name})"
