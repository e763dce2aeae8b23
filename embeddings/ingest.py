"""Bring the index in line with the article folders: plan (what changed and why) -> reuse -> embed -> write.

Only new or changed articles are embedded; unchanged ones keep their vectors. The disk format and its atomic
versions are ``embeddings.diskformat``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import Hint, IndexStateError
from core.records import Chunk, Document
from core.settings import Settings
from embeddings import diskformat as disk
from embeddings import vectors as vec
from embeddings.chunking import chunk_text
from embeddings.embedder import EMBEDDER_DIM, EMBEDDER_NAME, embed_texts, load_embedder
from embeddings.reader import Skipped, read_corpus

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did: per-article changes, skipped files, and the version now live."""

    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: list[str]
    skipped: list[Skipped]
    rebuilt_because: str | None
    n_chunks: int
    seconds: float
    version: str
    details_updated: bool = False  # a title or date changed, text and vectors kept

    @property
    def wrote(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.rebuilt_because or self.details_updated)

    def summary(self) -> str:
        """"93 passages from 5 articles; new index (4.51 s)"."""
        parts = [f"{self.n_chunks} passages from {len(self.added) + len(self.changed) + len(self.unchanged)} articles"]
        if self.rebuilt_because:
            parts.append("new index" if self.rebuilt_because == "no index yet" else f"rebuilt: {self.rebuilt_because}")
        for name, items in (("new", self.added), ("changed", self.changed), ("removed", self.removed)):
            if items:
                parts.append(f"{len(items)} {name}")
        if self.details_updated and not (self.added or self.changed or self.removed):
            parts.append("titles or dates updated")
        if not self.wrote:
            parts.append("nothing changed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return "; ".join(parts) + f" ({self.seconds:.2f} s)"

    def skipped_lines(self) -> list[str]:
        """One line per file left out: "skipped /a/b.txt: the file is empty"."""
        return [f"skipped {s.path}: {s.reason}" for s in self.skipped]


@dataclass(frozen=True)
class Plan:
    """What an ingest must do, decided before any embedding."""

    docs: list[Document]
    old: disk.LoadedIndex | None  # the live index to reuse vectors from; None: build from scratch
    rebuild_because: str | None
    added: list[str]
    changed: list[str]
    unchanged: list[str]
    removed: list[str]
    meta_changed: bool  # a title, date or path changed on an article whose text did not

    @property
    def up_to_date(self) -> bool:
        return self.old is not None and not (self.added or self.changed or self.removed or self.meta_changed)


def build_spec(settings: Settings) -> dict:
    """What must match for an old index to be reused."""
    return {
        "format_version": disk.FORMAT_VERSION,
        "embedder": {"name": EMBEDDER_NAME, "dim": EMBEDDER_DIM},
        "chunking": {"chunk_chars": settings.chunk_chars, "overlap_sentences": settings.chunk_overlap,
                     "method": "pysbd-sentences"},
    }


def load_index(settings: Settings) -> disk.LoadedIndex:
    """The live index for ``settings``, checked against its build spec. Does not build anything."""
    index_dir = settings.resolved_index_dir
    path = disk.current_version(index_dir)
    if path is None:
        raise IndexStateError(f"No index at {index_dir}. Build it from the articles first.", Hint.BUILD_INDEX)
    loaded = disk.load_version(path)
    why = disk.spec_mismatch(loaded.manifest, build_spec(settings))
    if why:
        raise IndexStateError(f"The index at {index_dir} is outdated: {why}. Index the articles again to rebuild it.",
                              Hint.BUILD_INDEX)
    return loaded


def _live_index(index_dir: Path, spec: dict) -> tuple[disk.LoadedIndex | None, str | None]:
    """The reusable live index, or None and why it cannot be reused."""
    try:
        path = disk.current_version(index_dir)
        if path is None:
            return None, "no index yet"
        old = disk.load_version(path)
    except IndexStateError as exc:
        why = f"the previous index was unreadable ({exc})"
        log.warning("Rebuilding: %s", why)
        return None, why
    why = disk.spec_mismatch(old.manifest, spec)
    return (None, why) if why else (old, None)


def plan(docs: list[Document], index_dir: Path, spec: dict, rebuild: bool) -> Plan:
    """Compare the articles with the live index: added, changed, unchanged, removed, and whether to rebuild."""
    old, why = (None, "requested") if rebuild else _live_index(index_dir, spec)
    old_files = old.manifest["files"] if old else {}
    status = {d.source: "added" if d.source not in old_files else
              "unchanged" if old_files[d.source]["sha256"] == d.sha256 else "changed" for d in docs}

    def having(kind: str) -> list[str]:
        return [s for s, k in status.items() if k == kind]

    unchanged = having("unchanged")
    meta_changed = old is not None and any(
        replace(old.documents[d.source], text="") != replace(d, text="") for d in docs if status[d.source] == "unchanged")
    return Plan(docs, old, why, having("added"), having("changed"), unchanged,
                sorted(set(old_files) - set(status)), meta_changed)


def reuse(p: Plan, settings: Settings) -> tuple[list[Chunk], np.ndarray, list[int]]:
    """Chunks of every article, the vectors of unchanged ones copied over, and the rows still to embed."""
    old_rows: dict[str, list[int]] = {}
    if p.old:
        for i, c in enumerate(p.old.chunks):
            old_rows.setdefault(c.source, []).append(i)
    keep = set(p.unchanged)
    chunks: list[Chunk] = []
    copied: list[tuple[int, int]] = []  # (new row, old row)
    to_embed: list[int] = []
    for d in p.docs:
        if d.source in keep:
            for i in old_rows.get(d.source, []):
                c = p.old.chunks[i]
                copied.append((len(chunks), i))
                chunks.append(Chunk(c.chunk_id, c.source, c.start, c.end, c.text, d.title, d.date))
        else:
            for c in chunk_text(d, settings.chunk_chars, settings.chunk_overlap):
                to_embed.append(len(chunks))
                chunks.append(c)
    vectors = np.zeros((len(chunks), EMBEDDER_DIM), dtype=np.float32)
    if copied:
        new, old = zip(*copied)
        vectors[list(new)] = p.old.vectors[list(old)]
    return chunks, vectors, to_embed


def embed(chunks: list[Chunk], vectors: np.ndarray, rows: list[int], progress: Progress | None) -> None:
    """Fill ``vectors[rows]`` with the embeddings of those chunks (a progress bar for long runs)."""
    if rows:
        fresh = embed_texts(load_embedder(), [chunks[i].text for i in rows], progress=_progress_bar(len(rows), progress))
        vectors[rows] = fresh


def write(index_dir: Path, spec: dict, settings: Settings, docs: list[Document], chunks: list[Chunk],
          vectors: np.ndarray) -> Path:
    """The manifest and a new live version; a failed write says so and leaves the old version live."""
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
        return disk.write_version(index_dir, manifest, docs, chunks, vectors, settings.exact_index_max)
    except OSError as exc:
        raise IndexStateError(f"Could not write the index at {index_dir} ({exc.strerror or exc}). Free some disk "
                              f"space or choose another index folder; the previous index is unchanged.",
                              Hint.OTHER_INDEX_DIR) from exc


def ingest(settings: Settings, rebuild: bool = False, progress: Progress | None = None) -> IngestReport:
    """Bring the index in line with the article folders, embedding only new or changed articles.

    Unreadable files are skipped (listed in the report); a damaged or differently built index is rebuilt
    and the report says why. Raises ``CorpusError`` when no article can be read.
    """
    t0 = time.perf_counter()
    index_dir = settings.resolved_index_dir
    docs, skipped = read_corpus(settings.corpus_dirs)
    spec = build_spec(settings)
    with disk.locked(index_dir):
        p = plan(docs, index_dir, spec, rebuild)
        if p.up_to_date:
            disk.clean_leftovers(index_dir, p.old.path)
            return IngestReport([], [], [], p.unchanged, skipped, None, len(p.old.chunks),
                                time.perf_counter() - t0, p.old.version)
        if p.old is None and p.rebuild_because != "no index yet":
            log.warning("Rebuilding the index at %s: %s.", index_dir, p.rebuild_because)
        chunks, vectors, to_embed = reuse(p, settings)
        embed(chunks, vectors, to_embed, progress)
        final = write(index_dir, spec, settings, docs, chunks, vectors)
        disk.clean_leftovers(index_dir, final)
    if p.old is None:
        return IngestReport([d.source for d in docs], [], [], [], skipped, p.rebuild_because, len(chunks),
                            time.perf_counter() - t0, final.name)
    return IngestReport(p.added, p.changed, p.removed, p.unchanged, skipped, None, len(chunks),
                        time.perf_counter() - t0, final.name, p.meta_changed)


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
