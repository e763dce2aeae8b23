"""Segments: immutable folders of articles with their passages, vectors, FAISS index and postings.

A version of the index (``embeddings.diskformat``) is a list of segments, each with the articles no longer
live in it. Adding articles writes one small segment; removing them only marks them; nothing already written
is rewritten until ``plan_merges`` says so. Layout of one segment::

    seg-<time>-<rand>/
        segment.json      its passage count, articles and FAISS index kind
        documents.jsonl   one article per line (source, title, date, path, sha256, text)
        passages.npy      one row per passage: its article's row, its number, start, end (``embeddings.passages``)
        vectors.npy       (n, 384) float32, row i = passage i; memory-mapped when loaded
        index.faiss       exact inner product up to ``exact_max`` rows, HNSW beyond
        lexical/          its postings (``embeddings.lexical.Postings``)
"""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.errors import Hint, IndexStateError
from core.records import Chunk, Document
from embeddings import vectors as vec
from embeddings.lexical import Postings
from embeddings.passages import Passages, table_of

MAX_SEGMENTS = 8  # more, and the smaller half is merged into one
MAX_DEAD = 0.25  # a segment whose removed passages exceed this share is rewritten without them
_REBUILD = "Rebuild it from the articles."


@dataclass(frozen=True)
class Segment:
    """One segment loaded: its arrays memory-mapped, its FAISS index in memory."""

    path: Path
    documents: dict[str, Document]
    chunks: Passages
    vectors: np.ndarray
    faiss_index: object
    postings: Postings

    @property
    def name(self) -> str:
        return self.path.name


def fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _jsonl(records) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def new_name(prefix: str) -> str:
    return f"{prefix}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"


def write_segment(index_dir: Path, docs: list[Document], chunks: list[Chunk], vectors: np.ndarray,
                  exact_max: int) -> str:
    """Write a segment beside the others (a temporary folder, renamed when complete); returns its name."""
    name = new_name("seg")
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir(parents=True)
    try:
        fsync_write(tmp / "documents.jsonl", _jsonl(asdict(d) for d in docs))
        _save_npy(tmp / "passages.npy", table_of(docs, chunks))
        _save_npy(tmp / "vectors.npy", np.asarray(vectors, dtype=np.float32))
        vec.save_index(vec.build_index(vectors, exact_max), tmp / "index.faiss")
        Postings.build([f"{c.title}\n{c.text}" for c in chunks]).save(tmp / "lexical")
        meta = {"n_chunks": len(chunks), "index": vec.index_kind(len(chunks), exact_max),
                "sources": [d.source for d in docs], "bytes": _sizes(tmp)}
        fsync_write(tmp / "segment.json", json.dumps(meta, indent=1).encode("utf-8"))
        os.rename(tmp, index_dir / name)
        return name
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def _sizes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()
            and p.name != "segment.json"}


def check_files(path: Path) -> dict:
    """``segment.json`` of the segment at ``path``, its files checked against the sizes it records (a cheap
    check of a segment not loaded: truncated, missing or replaced files); ``IndexStateError`` if not."""
    try:
        meta = json.loads((path / "segment.json").read_text(encoding="utf-8"))
        have = _sizes(path)
    except (OSError, ValueError) as exc:
        raise IndexStateError(f"The index at {path.parent} is damaged ({type(exc).__name__}: {exc}). {_REBUILD}",
                              Hint.REBUILD_INDEX) from exc
    wrong = sorted(f for f in set(have) | set(meta.get("bytes", {})) if have.get(f) != meta["bytes"].get(f))
    if wrong:
        raise IndexStateError(f"The index at {path.parent} is damaged ({path.name}: {', '.join(wrong)} "
                              f"missing or not the size written). {_REBUILD}", Hint.REBUILD_INDEX)
    return meta


def load_segment(path: Path, meta: dict | None = None) -> Segment:
    """Load and cross-check one segment; ``IndexStateError`` if anything is missing or inconsistent.
    ``meta``: what ``check_files`` returned for it, when already checked."""
    meta = meta or check_files(path)
    try:
        docs = {d["source"]: Document(**d) for d in _read_jsonl(path / "documents.jsonl")}
        chunks = Passages.load(path / "passages.npy", tuple(docs.values()))
        vectors = np.load(path / "vectors.npy", mmap_mode="r", allow_pickle=False)
        index = vec.load_index(path / "index.faiss")
        postings = Postings.load(path / "lexical")
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
        raise IndexStateError(f"The index at {path.parent} is damaged ({type(exc).__name__}: {exc}). {_REBUILD}",
                              Hint.REBUILD_INDEX) from exc
    seg = Segment(path, docs, chunks, vectors, index, postings)
    problems = _inconsistencies(meta, seg)
    if problems:
        raise IndexStateError(f"The index at {path.parent} is inconsistent ({'; '.join(problems)}). {_REBUILD}",
                              Hint.REBUILD_INDEX)
    return seg


def _inconsistencies(meta: dict, seg: Segment) -> list[str]:
    n = len(seg.chunks)
    problems = []
    if meta.get("n_chunks") != n:
        problems.append(f"{seg.name} says {meta.get('n_chunks')} passages, passages.npy has {n}")
    if seg.vectors.ndim != 2 or len(seg.vectors) != n:
        problems.append(f"vectors are {seg.vectors.shape}, expected {n} rows")
    if seg.faiss_index.ntotal != n or len(seg.postings.lengths) != n:
        problems.append(f"FAISS holds {seg.faiss_index.ntotal} vectors, the lexical index "
                        f"{len(seg.postings.lengths)} passages, expected {n}")
    if sorted(meta.get("sources", [])) != sorted(seg.documents):
        problems.append(f"documents.jsonl of {seg.name} does not match segment.json")
    return problems + seg.chunks.problems()


def live_rows(seg: Segment, dead: frozenset[str]) -> np.ndarray:
    """The rows of ``seg`` whose article is still live there."""
    if not dead:
        return np.arange(len(seg.chunks))
    return np.setdiff1d(np.arange(len(seg.chunks)), seg.chunks.rows_of(dead), assume_unique=True)


def plan_merges(sizes: list[tuple[int, int]]) -> list[list[int]]:
    """Which segments to rewrite together (positions in ``sizes``: (passages, live passages) per segment): each
    with more than ``MAX_DEAD`` of its passages removed on its own; and past ``MAX_SEGMENTS``, the smaller half
    of them merged into one. Worked number: a 1e6-passage segment plus 9 added ones of ~200 -> the 5 smallest
    become one, the big one stays."""
    groups = [[i] for i, (n, live) in enumerate(sizes) if n - live > MAX_DEAD * n]
    rest = [i for i in range(len(sizes)) if [i] not in groups]
    if len(rest) > MAX_SEGMENTS:
        by_size = sorted(rest, key=lambda i: sizes[i][1])
        groups.append(by_size[: len(by_size) // 2 + 1])
    return groups


def merged(parts: list[tuple[Segment, frozenset[str]]]) -> tuple[list[Document], list[Chunk], np.ndarray]:
    """The live articles, passages and vectors of several segments, for one new segment (nothing re-embedded)."""
    docs, chunks, vectors = [], [], []
    for seg, dead in parts:
        rows = live_rows(seg, dead)
        docs += [d for s, d in seg.documents.items() if s not in dead]
        chunks += [seg.chunks[int(i)] for i in rows]
        vectors.append(np.asarray(seg.vectors[rows]))
    dim = parts[0][0].vectors.shape[1] if parts else 0
    return docs, chunks, np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float32)
