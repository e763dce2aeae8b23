"""The index on disk, built and updated incrementally, written atomically.

Layout of ``index_dir``::

    CURRENT                  one line: the name of the live version folder
    v-<time>-<rand>/
        manifest.json        embedder, dimension, chunking, index kind, sha256 per file
        documents.jsonl      one article per line (source, title, date, path, sha256, text)
        chunks.jsonl         one chunk per line (chunk_id, source, start, end, text, ...)
        vectors.npy          (n_chunks, 384) float32, row i = chunk i
        index.faiss          the FAISS index over vectors.npy

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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from embeddings import vectors as vec
from embeddings.chunking import chunk_text
from embeddings.embedder import EMBEDDER_DIM, EMBEDDER_NAME, embed_texts, load_embedder
from embeddings.reader import Skipped, read_corpus
from rag.errors import IndexStateError
from rag.records import Chunk, Document
from rag.settings import Settings

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class LoadedIndex:
    """A version of the index loaded in memory."""

    path: Path
    manifest: dict
    documents: dict[str, Document]
    chunks: list[Chunk]
    vectors: np.ndarray
    faiss_index: object
    _lexical: object = field(default=None, repr=False)

    @property
    def version(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class IngestReport:
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: list[str]
    skipped: list[Skipped]
    rebuilt_because: str | None
    n_chunks: int
    seconds: float
    version: str

    @property
    def wrote(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.rebuilt_because)

    def summary(self) -> str:
        parts = [f"{self.n_chunks} passages from {len(self.added) + len(self.changed) + len(self.unchanged)} articles"]
        if self.rebuilt_because:
            parts.append("new index" if self.rebuilt_because == "no index yet" else f"rebuilt: {self.rebuilt_because}")
        for name, items in (("new", self.added), ("changed", self.changed), ("removed", self.removed)):
            if items:
                parts.append(f"{len(items)} {name}")
        if not self.wrote:
            parts.append("nothing changed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return "; ".join(parts) + f" ({self.seconds:.2f} s)"


def build_spec(settings: Settings) -> dict:
    """What must match for an old index to be reused."""
    return {
        "format_version": FORMAT_VERSION,
        "embedder": {"name": EMBEDDER_NAME, "dim": EMBEDDER_DIM},
        "chunking": {"chunk_chars": settings.chunk_chars, "overlap_sentences": settings.chunk_overlap,
                     "method": "sentences"},
    }


def _spec_mismatch(manifest: dict, spec: dict) -> str | None:
    for key, want in spec.items():
        have = manifest.get(key)
        if have != want:
            return f"the index was built with {key}={json.dumps(have)}, this run uses {json.dumps(want)}"
    return None


# ---------- reading ----------

def current_version(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexStateError(f"Cannot read {pointer} ({exc}). Delete {index_dir} and index again.") from exc
    path = index_dir / name
    if not name or "/" in name or not path.is_dir():
        raise IndexStateError(f"The index at {index_dir} names a version {name!r} that is not there. "
                              f"Run `rag index --rebuild` to rebuild it from the articles.")
    return path


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
        raise IndexStateError(f"The index at {path.parent} is damaged ({type(exc).__name__}: {exc}). "
                              f"Run `rag index --rebuild` to rebuild it from the articles.") from exc
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
    if problems:
        raise IndexStateError(f"The index at {path.parent} is inconsistent ({'; '.join(problems)}). "
                              f"Run `rag index --rebuild` to rebuild it from the articles.")
    return LoadedIndex(path, manifest, docs, chunks, vectors, index)


def load_index(settings: Settings) -> LoadedIndex:
    """The live index for ``settings``, checked against its build spec. Does not build anything."""
    index_dir = settings.resolved_index_dir
    path = current_version(index_dir)
    if path is None:
        raise IndexStateError(f"No index at {index_dir}. Run `rag index` to build it.")
    loaded = load_version(path)
    why = _spec_mismatch(loaded.manifest, build_spec(settings))
    if why:
        raise IndexStateError(f"The index at {index_dir} is outdated: {why}. Run `rag index` to rebuild it.")
    return loaded


# ---------- writing ----------

@contextmanager
def _locked(index_dir: Path):
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


def _write_version(index_dir: Path, manifest: dict, docs: list[Document], chunks: list[Chunk],
                   vectors: np.ndarray, exact_max: int) -> Path:
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
        _fsync_write(tmp / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
        final = index_dir / name
        os.rename(tmp, final)
        pointer_tmp = index_dir / f".CURRENT-{uuid.uuid4().hex[:6]}"
        _fsync_write(pointer_tmp, (name + "\n").encode())
        os.replace(pointer_tmp, index_dir / "CURRENT")
        dir_fd = os.open(index_dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _clean_leftovers(index_dir: Path, keep: Path | None) -> None:
    """Remove temporary folders of killed runs and versions no longer live."""
    for p in index_dir.iterdir():
        if p == keep or p.name in ("CURRENT", ".lock"):
            continue
        if p.name.startswith((".tmp-", ".CURRENT-", "v-")):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def ingest(settings: Settings, rebuild: bool = False, progress: Progress | None = None) -> IngestReport:
    """Bring the index in line with the article folders, embedding only new or changed articles.

    Unreadable files are skipped (listed in the report); a damaged or differently built index is rebuilt
    and the report says why. Raises ``CorpusError`` when no article can be read.
    """
    t0 = time.perf_counter()
    index_dir = settings.resolved_index_dir
    docs, skipped = read_corpus(settings.corpus_dirs)
    spec = build_spec(settings)
    with _locked(index_dir):
        old: LoadedIndex | None = None
        why: str | None = "requested" if rebuild else None
        if not rebuild:
            try:
                path = current_version(index_dir)
                if path is None:
                    why = "no index yet"
                else:
                    old = load_version(path)
                    why = _spec_mismatch(old.manifest, spec)
                    if why:
                        old = None
            except IndexStateError as exc:
                why = f"the previous index was unreadable ({exc})"
                log.warning("Rebuilding: %s", why)
        old_files = old.manifest["files"] if old else {}
        new_sources = {d.source for d in docs}
        added = [d.source for d in docs if d.source not in old_files]
        changed = [d.source for d in docs if d.source in old_files and old_files[d.source]["sha256"] != d.sha256]
        unchanged = [d.source for d in docs if d.source in old_files and old_files[d.source]["sha256"] == d.sha256]
        removed = sorted(set(old_files) - new_sources)
        def meta(d: Document) -> tuple:
            return d.title, d.date, d.path

        meta_changed = old is not None and any(meta(old.documents[d.source]) != meta(d)
                                               for d in docs if d.source in unchanged)
        if old and not (added or changed or removed or meta_changed):
            _clean_leftovers(index_dir, old.path)
            return IngestReport([], [], [], unchanged, skipped, None, len(old.chunks),
                                time.perf_counter() - t0, old.version)
        if old is None and why != "no index yet":
            log.warning("Rebuilding the index at %s: %s.", index_dir, why)

        old_rows: dict[str, list[int]] = {}
        if old:
            for i, c in enumerate(old.chunks):
                old_rows.setdefault(c.source, []).append(i)
        chunks: list[Chunk] = []
        rows: list[np.ndarray | None] = []
        to_embed: list[int] = []
        for d in docs:
            if d.source in unchanged:
                for i in old_rows.get(d.source, []):
                    c = old.chunks[i]
                    chunks.append(Chunk(c.chunk_id, c.source, c.start, c.end, c.text, d.title, d.date))
                    rows.append(old.vectors[i])
            else:
                for c in chunk_text(d, settings.chunk_chars, settings.chunk_overlap):
                    to_embed.append(len(chunks))
                    chunks.append(c)
                    rows.append(None)
        vectors = np.zeros((len(chunks), EMBEDDER_DIM), dtype=np.float32)
        for i, r in enumerate(rows):
            if r is not None:
                vectors[i] = r
        if to_embed:
            model = load_embedder()
            bar = _progress_bar(len(to_embed), progress)
            fresh = embed_texts(model, [chunks[i].text for i in to_embed], progress=bar)
            vectors[to_embed] = fresh
        manifest = spec | {
            "index": {"kind": vec.index_kind(len(chunks), settings.exact_index_max), "metric": "inner_product",
                      "exact_max": settings.exact_index_max},
            "n_chunks": len(chunks),
            "files": {d.source: {"sha256": d.sha256, "path": d.path, "chunks": sum(c.source == d.source for c in chunks)}
                      for d in docs},
            "corpus_dirs": [str(p) for p in settings.corpus_dirs],
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        try:
            final = _write_version(index_dir, manifest, docs, chunks, vectors, settings.exact_index_max)
        except OSError as exc:
            raise IndexStateError(f"Could not write the index at {index_dir} ({exc.strerror or exc}). Free some disk "
                                  f"space or choose another --index-dir; the previous index is unchanged.") from exc
        _clean_leftovers(index_dir, final)
    return IngestReport(added if old else [d.source for d in docs], changed if old else [],
                        removed if old else [], unchanged if old else [], skipped,
                        None if old else why, len(chunks), time.perf_counter() - t0, final.name)


def _progress_bar(total: int, progress: Progress | None):
    """A tqdm bar on stderr for runs of more than a few batches, plus the caller's callback."""
    bar = None
    if total > 64:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="Embedding passages", unit="passage", leave=False)

    def update(done: int, n: int) -> None:
        if bar is not None:
            bar.update(done - bar.n)
            if done >= n:
                bar.close()
        if progress:
            progress("embedding", done, n)

    return update
