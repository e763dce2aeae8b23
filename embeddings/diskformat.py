"""The versioned index folder on disk: versions, ``CURRENT``, cross-checks, atomic writes.

Layout of ``index_dir``::

    CURRENT                  one line: the name of the live version folder
    v-<time>-<rand>/
        manifest.json        embedder, dimension, chunking, index kind, sha256 per file
        documents.jsonl      one article per line (source, title, date, path, sha256, text)
        chunks.jsonl         one chunk per line (chunk_id, source, start, end, text, ...)
        vectors.npy          (n_chunks, 384) float32, row i = chunk i
        index.faiss          the FAISS index over vectors.npy
        lexical/             the BM25 index over title + text of each chunk (bm25s arrays, df.json)

A new version is written to a temporary folder, renamed into place and only then named in CURRENT
(an atomic ``os.replace``), so a process killed at any moment leaves the previous version live.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import Hint, IndexStateError
from core.records import Chunk, Document
from core.text import sentence_spans
from embeddings import vectors as vec
from embeddings.lexical import BM25

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
SENTENCE_CACHE = 60_000
_REBUILD = "Rebuild it from the articles."


@dataclass(frozen=True)
class LoadedIndex:
    """A version of the index loaded in memory; its BM25 model is loaded (memory-mapped) on first use, or built
    when the version predates ``lexical/`` or it does not match."""

    path: Path
    manifest: dict
    documents: dict[str, Document]
    chunks: list[Chunk]
    vectors: np.ndarray
    faiss_index: object

    @property
    def version(self) -> str:
        return self.path.name

    @cached_property
    def lexical(self) -> BM25:
        folder = self.path / "lexical"
        if (folder / "df.json").is_file():
            try:
                loaded = BM25.load(folder)
                if loaded.size == len(self.chunks):
                    return loaded
            except (OSError, ValueError, KeyError) as exc:
                log.warning("Rebuilding the lexical index of %s in memory: %s.", self.path, exc)
        return lexical_index(self.chunks)

    @cached_property
    def _sentences(self) -> dict[str, list[tuple[int, int]]]:
        return {}

    @cached_property
    def _sentence_vectors(self) -> dict[tuple[str, int, int], np.ndarray]:
        return {}

    def sentence_vectors(self, spans: list[tuple[str, int, int]],
                         embed: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """Vectors of the sentences ``(source, start, end)``, each ``embed``ded once per loaded index: a
        question's ~15 candidate sentences cost ~250 ms to embed here, and the next question about the same
        passages 0. At most ``SENTENCE_CACHE`` are kept (~0.1 GB)."""
        cache = self._sentence_vectors
        todo = list(dict.fromkeys(k for k in spans if k not in cache))
        if todo:
            if len(cache) + len(todo) > SENTENCE_CACHE:
                cache.clear()
            fresh = embed([self.documents[src].text[a:b] for src, a, b in todo])
            cache.update(zip(todo, fresh))
        return np.stack([cache[k] for k in spans]) if spans else np.zeros((0, self.vectors.shape[1]), np.float32)

    def sentences(self, chunk: Chunk) -> list[tuple[int, int]]:
        """The sentence spans of ``chunk`` (article offsets); each chunk is split once per loaded index, not once
        per question (pysbd: ~3 ms a chunk)."""
        spans = self._sentences.get(chunk.chunk_id)
        if spans is None:
            spans = self._sentences[chunk.chunk_id] = sentence_spans(self.documents[chunk.source].text,
                                                                    chunk.start, chunk.end)
        return spans


def spec_mismatch(manifest: dict, spec: dict) -> str | None:
    """Why an index built with ``manifest`` cannot serve ``spec``, or None."""
    for key, want in spec.items():
        have = manifest.get(key)
        if have != want:
            return f"the index was built with {key}={json.dumps(have)}, this run uses {json.dumps(want)}"
    return None


def current_version(index_dir: Path) -> Path | None:
    """The live version folder named by ``CURRENT``; None when there is no index yet."""
    pointer = index_dir / "CURRENT"
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexStateError(f"Cannot read {pointer} ({exc}). Delete {index_dir} and index again.") from exc
    path = index_dir / name
    if not name or "/" in name or not path.is_dir():
        raise IndexStateError(f"The index at {index_dir} names a version {name!r} that is not there. {_REBUILD}",
                              Hint.REBUILD_INDEX)
    return path


def lexical_index(chunks: list[Chunk]) -> BM25:
    """BM25 over each chunk's title and text."""
    return BM25([f"{c.title}\n{c.text}" for c in chunks])


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_version(path: Path) -> LoadedIndex:
    """Load and cross-check one version folder; ``IndexStateError`` if anything is missing or inconsistent."""
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        docs = {d["source"]: Document(**d) for d in _read_jsonl(path / "documents.jsonl")}
        chunks = [Chunk(**c) for c in _read_jsonl(path / "chunks.jsonl")]
        vectors = np.load(path / "vectors.npy", allow_pickle=False)
        index = vec.load_index(path / "index.faiss")
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
        raise IndexStateError(f"The index at {path.parent} is damaged ({type(exc).__name__}: {exc}). {_REBUILD}",
                              Hint.REBUILD_INDEX) from exc
    problems = _inconsistencies(manifest, docs, chunks, vectors, index)
    if problems:
        raise IndexStateError(f"The index at {path.parent} is inconsistent ({'; '.join(problems)}). {_REBUILD}",
                              Hint.REBUILD_INDEX)
    return LoadedIndex(path, manifest, docs, chunks, vectors, index)


def _inconsistencies(manifest: dict, docs: dict[str, Document], chunks: list[Chunk], vectors: np.ndarray,
                     index) -> list[str]:
    n = len(chunks)
    problems = []
    if manifest.get("n_chunks") != n:
        problems.append(f"manifest says {manifest.get('n_chunks')} passages, chunks.jsonl has {n}")
    if vectors.shape != (n, manifest.get("embedder", {}).get("dim")):
        problems.append(f"vectors are {vectors.shape}, expected ({n}, dim)")
    if index.ntotal != n:
        problems.append(f"FAISS holds {index.ntotal} vectors, expected {n}")
    if set(manifest.get("files", {})) != set(docs):
        problems.append("documents.jsonl does not match the manifest")
    for c in chunks[:: max(1, n // 50)]:
        d = docs.get(c.source)
        if d is None or d.text[c.start:c.end] != c.text:
            problems.append(f"chunk {c.chunk_id} does not match its article text")
            break
    return problems


@contextmanager
def locked(index_dir: Path):
    """An exclusive lock on ``index_dir`` for one writer at a time."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _jsonl(records) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def write_version(index_dir: Path, manifest: dict, docs: list[Document], chunks: list[Chunk],
                  vectors: np.ndarray, exact_max: int) -> Path:
    """Write a new version beside the live one and make it live; the old one stays live if anything fails."""
    name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir(parents=True)
    try:
        _fsync_write(tmp / "documents.jsonl", _jsonl(asdict(d) for d in docs))
        _fsync_write(tmp / "chunks.jsonl", _jsonl(asdict(c) for c in chunks))
        with open(tmp / "vectors.npy", "wb") as f:
            np.save(f, vectors.astype(np.float32), allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        vec.save_index(vec.build_index(vectors, exact_max), tmp / "index.faiss")
        lexical_index(chunks).save(tmp / "lexical")
        _fsync_write(tmp / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
        final = index_dir / name
        os.rename(tmp, final)
        _point_current(index_dir, name)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _point_current(index_dir: Path, name: str) -> None:
    pointer_tmp = index_dir / f".CURRENT-{uuid.uuid4().hex[:6]}"
    _fsync_write(pointer_tmp, (name + "\n").encode())
    os.replace(pointer_tmp, index_dir / "CURRENT")
    dir_fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def clean_leftovers(index_dir: Path, keep: Path | None) -> None:
    """Remove temporary folders of killed runs and versions no longer live."""
    for p in index_dir.iterdir():
        if p == keep or p.name in ("CURRENT", ".lock"):
            continue
        if p.name.startswith((".tmp-", ".CURRENT-", "v-")):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
