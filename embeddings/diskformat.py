"""The versioned index folder on disk: versions of segments, ``CURRENT``, cross-checks, atomic writes.

Layout of ``index_dir``::

    CURRENT                  one line: the name of the live version folder
    v-<time>-<rand>/
        manifest.json        embedder, dimension, chunking, sha256 and segment per article, and the
                             segments of this version, each with the articles no longer live in it
    seg-<time>-<rand>/       immutable, shared by the versions naming it (``embeddings.segments``)

A new version writes its new segments and its manifest to temporary folders, renames them into place and
only then names the version in CURRENT (an atomic ``os.replace``), so a process killed at any moment leaves
the previous version live. Folders no live version names are removed by the next writer.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import Hint, IndexStateError
from core.lock import exclusive
from core.records import Chunk, Document
from core.dates import in_range
from embeddings import vectors as vec
from embeddings.lexical import BM25
from embeddings.passages import Joined
from embeddings.store import SentenceCache, fuse
from embeddings.segments import Segment, check_files, fsync_write, live_rows, load_segment, new_name

log = logging.getLogger(__name__)
FORMAT_VERSION = 3
_REBUILD = "Rebuild it from the articles."


@dataclass(frozen=True)
class LoadedIndex(SentenceCache):
    """A version of the index loaded in memory: its segments, and over them the live articles and passages in
    one numbering (row ``r`` is ``chunks[r]``) for the dense and lexical searches."""

    path: Path
    manifest: dict
    parts: tuple[tuple[Segment, frozenset[str]], ...]  # each segment and the articles no longer live in it
    documents: dict[str, Document]
    chunks: Joined  # row -> its Chunk, made when asked for
    _to_global: tuple[np.ndarray, ...]  # per segment: its rows -> live rows, -1 where removed

    @property
    def version(self) -> str:
        return self.path.name

    @property
    def dim(self) -> int:
        return int(self.manifest["embedder"]["dim"])

    @cached_property
    def lexical(self) -> BM25:
        return BM25([(seg.postings, g) for (seg, _), g in zip(self.parts, self._to_global)])

    @cached_property
    def _filters(self) -> tuple:
        return tuple(vec.excluding(np.flatnonzero(g < 0)) for g in self._to_global)

    def dense_top(self, query: np.ndarray, n: int, only: np.ndarray | None = None) -> list[int]:
        """The ``n`` live rows nearest ``query`` (inner product), best first, over every segment; ``only``: a
        mask over live rows to search within (FAISS skips the others, so a date range costs no wider search)."""
        scores, rows = [np.zeros(0, np.float32)], [np.zeros(0, np.int64)]
        for (seg, _), to_global, exclude in zip(self.parts, self._to_global, self._filters):
            if only is not None:
                keep = np.flatnonzero(to_global >= 0)
                keep = keep[only[to_global[keep]]]
                if not len(keep):
                    continue
                exclude = vec.including(keep)
            if seg.chunks:
                s, ids = vec.search(seg.faiss_index, query[None, :], n, exclude, seg.vectors)
                ok = ids[0] >= 0
                g = to_global[ids[0][ok]]
                scores.append(s[0][ok][g >= 0])
                rows.append(g[g >= 0])
        scores, rows = np.concatenate(scores), np.concatenate(rows)
        return [int(r) for r in rows[np.lexsort((rows, -scores))][:n]]

    def rows_of_articles(self, keep: Callable[[Document], bool]) -> np.ndarray:
        """A mask over live rows: True where the passage's article passes ``keep`` (asked once per article)."""
        mask = [np.zeros(0, bool)]
        for (seg, _), to_global in zip(self.parts, self._to_global):
            ok = np.array([keep(d) for d in seg.chunks.docs], dtype=bool)
            live = to_global >= 0
            mask.append(ok[seg.chunks.article_rows[live]] if len(ok) else np.zeros(int(live.sum()), bool))
        return np.concatenate(mask)

    def vectors_of(self, rows) -> np.ndarray:
        """The stored vectors of live rows ``rows``, as (len(rows), dim) float32."""
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        for i, r in enumerate(rows):
            seg, local = self.chunks.where[r]
            out[i] = self.parts[seg][0].vectors[local]
        return out

    def _allowed(self, date_range) -> np.ndarray | None:
        if not date_range or not any(date_range):
            return None
        return self.rows_of_articles(lambda d: in_range(d.date, *date_range))

    def dense_search(self, query: np.ndarray, n: int, date_range=None) -> list[int]:
        """``dense_top`` within articles dated in ``date_range`` ("2025-01", "2025-06"), for ``store.Index``."""
        return self.dense_top(query, n, self._allowed(date_range))

    def lexical_search(self, query: str, n: int, date_range=None) -> list[int]:
        """The ``n`` best live rows for ``query`` by BM25, within ``date_range``."""
        allowed = self._allowed(date_range)
        ids, _ = self.lexical.top(query, n if allowed is None else len(self.chunks))
        return [int(i) for i in ids if allowed is None or allowed[i]][:n]

    def hybrid_search(self, query_vector: np.ndarray, query: str, n: int, date_range=None) -> list[int]:
        """Dense and BM25 rankings of ``n`` each fused by reciprocal rank (60), best ``n``."""
        return fuse([self.dense_search(query_vector, n, date_range), self.lexical_search(query, n, date_range)])[:n]


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


def assemble(path: Path, manifest: dict, parts: list[tuple[Segment, frozenset[str]]]) -> LoadedIndex:
    """A version over loaded segments: the live articles and passages, numbered segment by segment."""
    documents: dict[str, Document] = {}
    n = 0
    where, to_global = [np.zeros((0, 2), np.int64)], []
    for k, (seg, dead) in enumerate(parts):
        documents.update((s, d) for s, d in seg.documents.items() if s not in dead)
        rows = live_rows(seg, dead)
        g = np.full(len(seg.chunks), -1, dtype=np.int64)
        g[rows] = np.arange(n, n + len(rows))
        n += len(rows)
        to_global.append(g)
        where.append(np.stack([np.full(len(rows), k, dtype=np.int64), rows], axis=1))
    chunks = Joined(tuple(seg.chunks for seg, _ in parts), np.concatenate(where))
    return LoadedIndex(path, manifest, tuple(parts), documents, chunks, tuple(to_global))


@dataclass(frozen=True)
class Version:
    """A version as its manifest describes it: segments named, their files checked by size, nothing loaded.
    Enough to plan an update of a million passages without reading them."""

    path: Path
    manifest: dict
    checked: dict[str, dict] = field(default_factory=dict)  # segment name -> its segment.json, sizes checked

    @property
    def files(self) -> dict[str, dict]:
        """source -> sha256, path, title, date, passages and segment of each live article."""
        return self.manifest["files"]

    @property
    def segments(self) -> list[tuple[str, frozenset[str], int, int]]:
        """(name, articles removed from it, passages, live passages) of each segment."""
        return [(e["name"], frozenset(e.get("removed", [])), e["n_chunks"], e["n_live"])
                for e in self.manifest["segments"]]


def read_version(path: Path) -> Version:
    """The manifest of version ``path``, its segments present and the right size; ``IndexStateError`` if not."""
    try:
        version = Version(path, json.loads((path / "manifest.json").read_text(encoding="utf-8")))
        if version.manifest.get("format_version") != FORMAT_VERSION:
            return version  # another layout: ``spec_mismatch`` names the format, nothing more is read
        named, _ = version.segments, version.files
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise IndexStateError(f"The index at {path.parent} is damaged ({type(exc).__name__}: {exc}). {_REBUILD}",
                              Hint.REBUILD_INDEX) from exc
    for name, *_ in named:
        if not name or "/" in name or not (path.parent / name).is_dir():
            raise IndexStateError(f"The index at {path.parent} names a segment {name!r} that is not there. "
                                  f"{_REBUILD}", Hint.REBUILD_INDEX)
        version.checked[name] = check_files(path.parent / name)
    return version


def load_version(version: Version) -> LoadedIndex:
    """Load and cross-check one version (from ``read_version``) and its segments; ``IndexStateError`` if anything
    is missing or inconsistent."""
    path = version.path
    manifest = version.manifest
    loaded = assemble(path, manifest, [(load_segment(path.parent / name, version.checked[name]), dead)
                                       for name, dead, *_ in version.segments])
    problems = []
    if manifest.get("n_chunks") != len(loaded.chunks):
        problems.append(f"manifest says {manifest.get('n_chunks')} passages, its segments hold {len(loaded.chunks)}")
    if set(version.files) != set(loaded.documents):
        problems.append("the articles of its segments do not match the manifest")
    if any(seg.vectors.shape[1:] != (loaded.dim,) for seg, _ in loaded.parts):
        problems.append(f"vectors are not {loaded.dim}-dimensional")
    if problems:
        raise IndexStateError(f"The index at {path.parent} is inconsistent ({'; '.join(problems)}). {_REBUILD}",
                              Hint.REBUILD_INDEX)
    return loaded


@contextmanager
def locked(index_dir: Path):
    """An exclusive lock on ``index_dir`` for one writer at a time."""
    with exclusive(index_dir / ".lock"):
        yield


def write_version(index_dir: Path, manifest: dict) -> Path:
    """Write a version (its manifest names segments already written) and make it live; the old one stays live
    if anything fails."""
    name = new_name("v")
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir(parents=True)
    try:
        fsync_write(tmp / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
        final = index_dir / name
        os.rename(tmp, final)
        _point_current(index_dir, name)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _point_current(index_dir: Path, name: str) -> None:
    pointer_tmp = index_dir / f".CURRENT-{name}"
    fsync_write(pointer_tmp, (name + "\n").encode())
    os.replace(pointer_tmp, index_dir / "CURRENT")
    dir_fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def clean_leftovers(index_dir: Path, keep: Path | None) -> None:
    """Remove temporary folders of killed runs, versions no longer live and segments the live one does not name."""
    named = set()
    if keep is not None:
        try:
            named = {e["name"] for e in json.loads((keep / "manifest.json").read_text(encoding="utf-8"))["segments"]}
        except (OSError, ValueError, KeyError, TypeError):
            return  # the live version cannot be read: remove nothing
    for p in index_dir.iterdir():
        if p == keep or p.name in ("CURRENT", ".lock") or p.name in named:
            continue
        if p.name.startswith((".tmp-", ".CURRENT-", "v-", "seg-")):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
