"""Bring the index in line with the article folders: plan (what changed and why) -> embed -> write.

Only new or changed articles are chunked and embedded, into one new segment; removed and changed ones are
marked as no longer live in the segments that hold them; nothing else is rewritten unless ``plan_merges`` says
so (merges copy vectors, never embed). The disk format and its atomic versions are ``embeddings.diskformat``.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import Hint, IndexStateError
from core.records import Chunk, Document
from core.settings import Settings
from embeddings import diskformat as disk
from embeddings import segments as segs
from embeddings.chunking import chunk_text
from embeddings.converted import converter
from embeddings.embedder import EMBEDDER_BACKEND, EMBEDDER_DIM, EMBEDDER_NAME, embed_texts, load_embedder
from embeddings.reader import Seen, Skipped, read_corpus

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
    old: disk.Version | None  # the live version to build on; None: build from scratch
    rebuild_because: str | None
    added: list[str]
    changed: list[str]
    unchanged: list[str]
    removed: list[str]
    meta_changed: list[str]  # a title, date or path changed on these articles, their text did not

    @property
    def up_to_date(self) -> bool:
        return self.old is not None and not (self.added or self.changed or self.removed or self.meta_changed)


def build_spec(settings: Settings) -> dict:
    """What must match for an old index to be reused."""
    return {
        "format_version": disk.FORMAT_VERSION,
        "embedder": {"name": EMBEDDER_NAME, "dim": EMBEDDER_DIM, "backend": EMBEDDER_BACKEND},
        "chunking": {"chunk_chars": settings.chunk_chars, "overlap_sentences": settings.chunk_overlap,
                     "method": "pysbd-sentences"},
    }


def load_index(settings: Settings) -> disk.LoadedIndex:
    """The live index for ``settings``, checked against its build spec. Does not build anything."""
    index_dir = settings.resolved_index_dir
    path = disk.current_version(index_dir)
    if path is None:
        raise IndexStateError(f"No index at {index_dir}. Build it from the articles first.", Hint.BUILD_INDEX)
    version = disk.read_version(path)
    why = disk.spec_mismatch(version.manifest, build_spec(settings))
    if why:
        raise IndexStateError(f"The index at {index_dir} is outdated: {why}. Index the articles again to rebuild it.",
                              Hint.BUILD_INDEX)
    return disk.load_version(version)


def _live_index(index_dir: Path, spec: dict) -> tuple[disk.Version | None, str | None]:
    """The live version to build on, or None and why it cannot be."""
    try:
        path = disk.current_version(index_dir)
        if path is None:
            return None, "no index yet"
        old = disk.read_version(path)
    except IndexStateError as exc:
        why = f"the previous index was unreadable ({exc})"
        log.warning("Rebuilding: %s", why)
        return None, why
    why = disk.spec_mismatch(old.manifest, spec)
    return (None, why) if why else (old, None)


def _described(d: Document) -> dict:
    return {"title": d.title, "date": d.date, "path": d.path}


def _entry(d: Document, chunks: int, segment: str) -> dict:
    """The manifest's line for an article: what it is, where its passages are, the file as last read."""
    stat = {"size": d.size, "mtime_ns": d.mtime_ns} if d.mtime_ns is not None else {}
    return {"sha256": d.sha256, **_described(d), "chunks": chunks, "segment": segment} | stat


def live_version(index_dir: Path, spec: dict, rebuild: bool) -> tuple[disk.Version | None, str | None]:
    """The live version to build on, or None and why not (``rebuild``: "requested")."""
    return (None, "requested") if rebuild else _live_index(index_dir, spec)


def seen_files(old: disk.Version | None) -> dict[str, Seen]:
    """path -> ``Seen`` of the articles ``old`` holds (files it recorded a size and modification time for)."""
    files = old.files.values() if old else ()
    return {f["path"]: Seen(f["size"], f["mtime_ns"], f["sha256"]) for f in files if "mtime_ns" in f}


def plan(docs: list[Document], old: disk.Version | None, why: str | None) -> Plan:
    """Compare the articles with the live index ``old`` (None: rebuild, ``why``): added, changed, unchanged,
    removed, re-described."""
    old_files = old.files if old else {}
    status = {d.source: "added" if d.source not in old_files else
              "unchanged" if old_files[d.source]["sha256"] == d.sha256 else "changed" for d in docs}

    def having(kind: str) -> list[str]:
        return [s for s, k in status.items() if k == kind]

    moved = [d.source for d in docs if status[d.source] == "unchanged"
             and {k: old_files[d.source].get(k) for k in ("title", "date", "path")} != _described(d)]
    return Plan(docs, old, why, having("added"), having("changed"), [s for s in having("unchanged") if s not in moved],
                sorted(set(old_files) - set(status)), moved)


def passages(p: Plan, settings: Settings) -> tuple[list[Document], list[Chunk], np.ndarray, list[int]]:
    """The new segment's articles (all, or the added, changed and re-described ones), their passages, vectors
    copied where the text is unchanged (a new title or date), and the rows still to embed."""
    redo = set(p.added) | set(p.changed) if p.old else {d.source for d in p.docs}
    moved = set(p.meta_changed)
    held = {name: segs.load_segment(p.old.path.parent / name)
            for name in {p.old.files[s]["segment"] for s in moved}} if moved else {}
    docs = [d for d in p.docs if d.source in redo | moved]
    chunks: list[Chunk] = []
    blocks = [np.zeros((0, EMBEDDER_DIM), dtype=np.float32)]
    to_embed: list[int] = []
    for i, d in enumerate(docs):
        if d.source in moved:
            seg = held[p.old.files[d.source]["segment"]]
            d = docs[i] = replace(d, text=seg.documents[d.source].text)  # the same sha256: the file was not read
            rows = seg.chunks.rows_of({d.source})
            more = [replace(seg.chunks[int(r)], title=d.title, date=d.date) for r in rows]
            blocks.append(np.asarray(seg.vectors[rows], dtype=np.float32))
        else:
            more = chunk_text(d, settings.chunk_chars, settings.chunk_overlap)
            to_embed += range(len(chunks), len(chunks) + len(more))
            blocks.append(np.zeros((len(more), EMBEDDER_DIM), dtype=np.float32))
        chunks += more
    return docs, chunks, np.concatenate(blocks), to_embed


def embed(chunks: list[Chunk], vectors: np.ndarray, rows: list[int], progress: Progress | None) -> None:
    """Fill ``vectors[rows]`` with the embeddings of those chunks (a progress bar for long runs)."""
    if rows:
        fresh = embed_texts(load_embedder(), [chunks[i].text for i in rows], progress=_progress_bar(len(rows), progress))
        vectors[rows] = fresh


def write(index_dir: Path, spec: dict, settings: Settings, p: Plan, new: tuple[list[Document], list[Chunk],
          np.ndarray]) -> tuple[Path, int]:
    """The new segment, merges the segments need, and a new live version naming them; a failed write says so
    and leaves the old version live. Returns the version and its number of passages."""
    try:
        return _write(index_dir, spec, settings, p, new)
    except OSError as exc:
        raise IndexStateError(f"Could not write the index at {index_dir} ({exc.strerror or exc}). Free some disk "
                              f"space or choose another index folder; the previous index is unchanged.",
                              Hint.OTHER_INDEX_DIR) from exc


def _write(index_dir: Path, spec: dict, settings: Settings, p: Plan, new) -> tuple[Path, int]:
    new_docs, new_chunks, _ = new
    files = {s: f for s, f in (p.old.files if p.old else {}).items()}
    for d in p.docs:  # an unchanged article touched since (same sha256): its new size and time, not read next time
        if d.source in files and d.mtime_ns is not None:
            files[d.source] = files[d.source] | {"size": d.size, "mtime_ns": d.mtime_ns}
    gone = set(p.removed) | set(p.changed) | set(p.meta_changed)
    parts = []  # (segment name, articles removed from it, passages, live passages)
    for name, dead, n, live in p.old.segments if p.old else ():
        now = {s for s in gone if files[s]["segment"] == name}
        parts.append((name, dead | now, n, live - sum(files[s]["chunks"] for s in now)))
    for s in gone:
        files.pop(s, None)
    if new_docs:
        name = segs.write_segment(index_dir, *new, settings.exact_index_max)
        parts.append((name, frozenset(), len(new_chunks), len(new_chunks)))
        counts = Counter(c.source for c in new_chunks)
        files.update({d.source: _entry(d, counts[d.source], name) for d in new_docs})
    parts = [x for x in parts if x[3] > 0]
    for group in segs.plan_merges([(n, live) for _, _, n, live in parts]):
        merged = segs.merged([(segs.load_segment(index_dir / parts[i][0]), parts[i][1]) for i in group])
        name = segs.write_segment(index_dir, *merged, settings.exact_index_max)
        for d in merged[0]:
            files[d.source]["segment"] = name
        parts = [x for i, x in enumerate(parts) if i not in group] + [(name, frozenset(), len(merged[1]),
                                                                       len(merged[1]))]
    manifest = spec | {
        "index": {"metric": "inner_product", "exact_max": settings.exact_index_max},
        "segments": [{"name": name, "removed": sorted(dead), "n_chunks": n, "n_live": live}
                     for name, dead, n, live in parts],
        "n_chunks": sum(live for *_, live in parts),
        "files": dict(sorted(files.items())),
        "corpus_dirs": [str(x) for x in settings.corpus_dirs],
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return disk.write_version(index_dir, manifest), manifest["n_chunks"]


def ingest(settings: Settings, rebuild: bool = False, progress: Progress | None = None) -> IngestReport:
    """Bring the index in line with the article folders, embedding only new or changed articles.

    Unreadable files are skipped (listed in the report); a damaged or differently built index is rebuilt
    and the report says why. Raises ``CorpusError`` when no article can be read.
    """
    t0 = time.perf_counter()
    index_dir = settings.resolved_index_dir
    spec = build_spec(settings)
    with disk.locked(index_dir):
        old, why = live_version(index_dir, spec, rebuild)
        docs, skipped = read_corpus(settings.corpus_dirs, seen_files(old), converter(index_dir / "converted"))
        p = plan(docs, old, why)
        if p.up_to_date:
            disk.clean_leftovers(index_dir, p.old.path)
            return IngestReport([], [], [], p.unchanged, skipped, None, p.old.manifest["n_chunks"],
                                time.perf_counter() - t0, p.old.path.name)
        if p.old is None and p.rebuild_because != "no index yet":
            log.warning("Rebuilding the index at %s: %s.", index_dir, p.rebuild_because)
        new_docs, chunks, vectors, to_embed = passages(p, settings)
        embed(chunks, vectors, to_embed, progress)
        final, n_chunks = write(index_dir, spec, settings, p, (new_docs, chunks, vectors))
        disk.clean_leftovers(index_dir, final)
    if p.old is None:
        return IngestReport([d.source for d in docs], [], [], [], skipped, p.rebuild_because, n_chunks,
                            time.perf_counter() - t0, final.name)
    return IngestReport(p.added, p.changed, p.removed, p.unchanged + p.meta_changed, skipped, None, n_chunks,
                        time.perf_counter() - t0, final.name, bool(p.meta_changed))


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
