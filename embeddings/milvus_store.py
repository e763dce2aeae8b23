"""Milvus as the index store: a Milvus Lite file (``milvus:./archive.db``) or a server (``milvus:http://host:19530``).

Two collections per collection of articles (``<name>_passages``, ``<name>_articles``; name: the index folder's,
or ``milvus:URI#name``)::

    passages   pk "<article key>:<n>", article key, source, n, start, end, month (date[:7] or ""), terms (our
               tokens, analysed by Milvus's BM25 function into ``sparse``), dense (384 float32, FLAT inner product)
    articles   pk "<article key>.<part>": part 0 holds the state ("pending" | "live") and the article's record
               (sha256, title, date, path, passages...), every part a piece of its text (a VARCHAR holds 64 KB);
               the row "_spec" holds the embedder and chunking the collection was built with

An article's key is a hash of its name and content (``article_key``): a re-run or two shards overlapping write
the same rows again (upserts), never duplicates. Kill-safety with the engine's own means: an article's record
is written "pending" first, then its passages (flushed), then the record "live" (flushed); searches leave out
pending articles, and the next run deletes them and does their work again. Removing or re-dating an article
marks it pending before touching its passages. Milvus Lite lets one process open a file at a time; a server
takes any number, so N machines can each index one ``--shard I/N`` of a folder into one collection.
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

from core.errors import Hint, IndexStateError, RagError
from core.records import Chunk, Document
from core.settings import Settings
from embeddings.chunking import chunk_text
from embeddings.embedder import embed_texts, load_embedder
from embeddings.ingest import IngestReport, plan, seen_files
from embeddings.milvus_index import MilvusIndex, terms_of
from embeddings.milvus_schema import SPEC, abandoned, create, spec_of, writer
from embeddings.reader import read_corpus
from embeddings.store import check_store, in_shard, record_store

PIECE = 16_000  # characters of article text per row: at most 64,000 bytes of UTF-8
BATCH = 2_000  # passages embedded and written together: a kill loses at most this much work
UPSERT_ROWS = 1_000  # passages per upsert call
_DOC_FIELDS = {f.name for f in fields(Document)} - {"text"}
_CLIENTS: dict[tuple[str, str], object] = {}
_CLIENTS_LOCK = threading.Lock()


def article_key(d: Document) -> str:
    """32 hex digits from the article's name and content: the same article always has the same key."""
    return hashlib.sha256(f"{d.source}\0{d.sha256}".encode()).hexdigest()[:32]


def _quoted(keys) -> str:
    return "[" + ", ".join(f'"{k}"' for k in keys) + "]"


class _Files:
    """What ``ingest.plan`` and ``seen_files`` read of an old index: source -> its record."""

    def __init__(self, files: dict[str, dict]):
        self.files = files


class MilvusStore:
    """``store.Store`` over Milvus (``pymilvus``'s ``MilvusClient``); a server's token from $MILVUS_TOKEN."""

    def __init__(self, store: str):
        where, _, name = store[len("milvus:"):].partition("#")
        self.name, self.uri, self.base = store, where, name or None

    def client(self):
        """One client per URI per process, kept open: Milvus Lite serves a file to one process (its threads
        share the client), and a second client made after the first one closed finds the file's server gone."""
        with _CLIENTS_LOCK:
            key = (self.uri, os.environ.get("MILVUS_TOKEN", ""))
            if key not in _CLIENTS:
                _CLIENTS[key] = self._connect()
            return _CLIENTS[key]

    def close(self) -> None:
        """Close this process's client of the URI (Milvus Lite: another process may then open the file)."""
        with _CLIENTS_LOCK:
            client = _CLIENTS.pop((self.uri, os.environ.get("MILVUS_TOKEN", "")), None)
        if client is not None:
            client.close()
        if "://" not in self.uri:  # Milvus Lite keeps serving the file in this process until told
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(self.uri)

    def _connect(self):
        import logging

        # gRPC's own log lines (a keep-alive "too_many_pings" from Milvus Lite's server) say nothing to act on;
        # real failures still raise
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")

        from pymilvus import MilvusClient

        # Milvus Lite answers the query iterator's timestamp request with "not implemented" (logged by grpc and
        # pymilvus at each query), then the client uses its own timestamp: nothing for the user to act on
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        logging.getLogger("pymilvus").setLevel(logging.ERROR)

        lite = "://" not in self.uri
        if lite:
            Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
        try:
            return MilvusClient(uri=self.uri, token=os.environ.get("MILVUS_TOKEN", ""))
        except Exception as exc:  # Lite: another process holds the file; a server: unreachable or refused
            said = str(exc).lower()
            why = ("another process (a page, or another `rag index`) has it open: Milvus Lite lets one process "
                   "use a file at a time; stop that one, or run them one after another, or use a Milvus server"
                   if lite and ("lock" in said or "open local milvus failed" in said) else f"{type(exc).__name__}: {exc}")
            raise IndexStateError(f"Cannot open Milvus at {self.uri} ({why}).") from exc

    def names(self, settings: Settings) -> tuple[str, str]:
        base = self.base or settings.resolved_index_dir.name
        base = re.sub(r"[^A-Za-z0-9_]", "_", base)
        base = base if re.match(r"[A-Za-z_]", base) else f"c_{base}"
        return f"{base}_passages", f"{base}_articles"

    # -- collections ---------------------------------------------------------------------------------------

    def _spec_why(self, client, names: tuple[str, str], spec: dict) -> str | None:
        """Why the collection cannot serve ``spec`` ("no index yet", a different embedder...), or None."""
        if not all(client.has_collection(n) for n in names):
            return "no index yet"
        for n in names:
            client.load_collection(n)
        got = client.get(names[1], ids=[SPEC], output_fields=["meta"])
        have = got[0]["meta"] if got else None
        if have != spec:
            return f"the collection was built with {have}, this run uses {spec}"
        return None

    def _prepare(self, client, names: tuple[str, str], spec: dict, rebuild: bool) -> str | None:
        why = "requested" if rebuild else self._spec_why(client, names, spec)
        if why:
            for n in names:
                if client.has_collection(n):
                    client.drop_collection(n)
            create(client, names, spec)
            for n in names:
                client.load_collection(n)
        return why

    # -- reading -------------------------------------------------------------------------------------------

    @staticmethod
    def _all(client, collection: str, where: str, output: list[str]) -> list[dict]:
        it = client.query_iterator(collection, batch_size=4000, filter=where, output_fields=output)
        out: list[dict] = []
        try:
            while True:
                batch = it.next()
                if not batch:
                    return out
                out += batch
        finally:
            it.close()

    def _records(self, client, names) -> tuple[dict[str, dict], list[tuple[str, str]]]:
        """(source -> record of each live article, (key, source, record) of each pending one)."""
        live, pending = {}, []
        for row in self._all(client, names[1], "part == 0", ["article", "state", "source", "meta"]):
            if row["state"] == "live":
                live[row["source"]] = {k: v for k, v in row["meta"].items() if v is not None} | {"key": row["article"]}
            else:
                pending.append((row["article"], row["source"], row["meta"]))
        return live, pending

    # -- writing -------------------------------------------------------------------------------------------

    def _drop(self, client, names, keys: list[str]) -> None:
        """Delete articles ``keys`` (already pending, or never live) and their passages."""
        for i in range(0, len(keys), 500):
            where = f"article in {_quoted(keys[i:i + 500])}"
            client.delete(names[0], filter=where)
            client.delete(names[1], filter=where)
        if keys:
            client.flush(names[0])
            client.flush(names[1])

    @staticmethod
    def _article_rows(d: Document, key: str, state: str, chunks: int) -> list[dict]:
        meta = {k: v for k, v in asdict(d).items() if k in _DOC_FIELDS} | {"chunks": chunks} | writer()
        pieces = [d.text[i:i + PIECE] for i in range(0, len(d.text), PIECE)] or [""]
        return [{"pk": f"{key}.{i}", "article": key, "part": i, "state": state, "source": d.source,
                 "meta": meta if i == 0 else {}, "text": t, "v": [0.0, 0.0]} for i, t in enumerate(pieces)]

    @staticmethod
    def _passage_rows(key: str, chunks: list[Chunk], vectors: np.ndarray) -> list[dict]:
        return [{"pk": f"{key}:{c.chunk_id.rsplit('#', 1)[1]}", "article": key, "source": c.source,
                 "n": int(c.chunk_id.rsplit("#", 1)[1]), "start": c.start, "end": c.end,
                 "month": (c.date or "")[:7], "terms": terms_of(f"{c.title}\n{c.text}"), "dense": v.tolist()}
                for c, v in zip(chunks, np.asarray(vectors, np.float32))]

    def write_articles(self, client, names, docs: list[Document], chunks: list[Chunk], vectors: np.ndarray,
                       replaces: dict[str, str] | None = None) -> None:
        """Make ``docs`` live with their passages and vectors: records pending, passages flushed, records live
        (in one upsert with the articles they ``replaces``, source -> old key, turned pending), then the old
        ones deleted."""
        replaces = replaces or {}
        by_source: dict[str, list[int]] = {}
        for i, c in enumerate(chunks):
            by_source.setdefault(c.source, []).append(i)
        keys = {d.source: article_key(d) for d in docs}
        rows = [r for d in docs for r in self._article_rows(d, keys[d.source], "pending",
                                                            len(by_source.get(d.source, [])))]
        client.upsert(names[1], rows)
        client.flush(names[1])
        for d in docs:
            idx = by_source.get(d.source, [])
            for i in range(0, len(idx), UPSERT_ROWS):
                part = idx[i:i + UPSERT_ROWS]
                client.upsert(names[0], self._passage_rows(keys[d.source], [chunks[j] for j in part], vectors[part]))
        client.flush(names[0])
        flip = [r | {"state": "live"} for r in rows if r["part"] == 0]
        old = [k for s, k in replaces.items() if k != keys.get(s)]
        flip += [{"pk": f"{k}.0", "article": k, "part": 0, "state": "pending", "source": "", "meta": {},
                  "text": "", "v": [0.0, 0.0]} for k in old]
        client.upsert(names[1], flip)
        client.flush(names[1])
        self._drop(client, names, old)

    def build_from(self, settings: Settings, docs: list[Document], chunks: list[Chunk], vectors: np.ndarray) -> None:
        """A new collection of ``docs`` with their passages and vectors given (nothing embedded): a folder index
        copied, or the benchmark's synthetic archive. Written ~``BATCH`` passages at a time."""
        client, names = self.client(), self.names(settings)
        self._prepare(client, names, spec_of(settings), True)
        rows: dict[str, list[int]] = {}
        for i, c in enumerate(chunks):
            rows.setdefault(c.source, []).append(i)
        start = 0
        while start < len(docs):
            end, n = start, 0
            while end < len(docs) and (n < BATCH or end == start):
                n, end = n + len(rows.get(docs[end].source, [])), end + 1
            idx = [i for d in docs[start:end] for i in rows.get(d.source, [])]
            self.write_articles(client, names, docs[start:end], [chunks[i] for i in idx], vectors[idx])
            start = end
        record_store(settings)

    def _mark_pending(self, client, names, keys: list[str]) -> None:
        for i in range(0, len(keys), 500):
            got = client.get(names[1], ids=[f"{k}.0" for k in keys[i:i + 500]],
                             output_fields=["pk", "article", "part", "source", "meta", "text", "v"])
            if got:
                client.upsert(names[1], [dict(g) | {"state": "pending", "meta": g["meta"] | writer()} for g in got])
        if keys:
            client.flush(names[1])

    def _redescribe(self, client, names, docs: list[Document], old: dict[str, dict]) -> None:
        """New titles or dates (same text): passages re-written with their stored vectors, nothing embedded."""
        keys = [old[d.source]["key"] for d in docs]
        for d, key in zip(docs, keys):
            rows = self._all(client, names[0], f'article == "{key}"', ["pk", "n", "start", "end", "dense"])
            text = "".join(r["text"] for r in sorted(self._all(client, names[1], f'article == "{key}"',
                                                               ["part", "text"]), key=lambda r: r["part"]))
            d = Document(**({k: getattr(d, k) for k in _DOC_FIELDS} | {"text": text}))
            chunks = [Chunk(f"{d.source}#{r['n']}", d.source, r["start"], r["end"], text[r["start"]:r["end"]],
                            d.title, d.date) for r in rows]
            self.write_articles(client, names, [d], chunks, np.array([r["dense"] for r in rows], np.float32))

    def _embed_and_write(self, client, names, docs: list[Document], settings: Settings, old: dict[str, dict],
                         progress) -> None:
        """Chunk, embed and write ``docs`` in batches of about ``BATCH`` passages."""
        batch: list[tuple[Document, list[Chunk]]] = []
        done, total = 0, len(docs)

        def flush_batch():
            chunks = [c for _, cs in batch for c in cs]
            vectors = embed_texts(load_embedder(), [c.text for c in chunks]) if chunks else np.zeros((0, 1))
            self.write_articles(client, names, [d for d, _ in batch], chunks, vectors,
                                {d.source: old[d.source]["key"] for d, _ in batch if d.source in old})
            if progress:
                progress("embedding", done, total)

        for d in docs:
            batch.append((d, chunk_text(d, settings.chunk_chars, settings.chunk_overlap)))
            done += 1
            if sum(len(cs) for _, cs in batch) >= BATCH:
                flush_batch()
                batch = []
        if batch:
            flush_batch()

    def sync(self, settings: Settings, rebuild: bool = False, progress=None,
             shard: tuple[int, int] | None = None) -> IngestReport:
        """Bring the collection in line with the article folders (only ``shard``'s part of them): finish or
        undo what a killed run left pending, embed only new or changed articles, re-describe, remove."""
        t0 = time.perf_counter()
        if rebuild and shard and shard[1] > 1:
            raise RagError("--rebuild empties the whole collection, every shard's part of it: rebuild once "
                           "without --shard, or index the shards without --rebuild.")
        check_store(settings, rebuild)
        client, names = self.client(), self.names(settings)
        why = self._prepare(client, names, spec_of(settings), rebuild)
        live, pending = self._records(client, names)
        self._drop(client, names, [k for k, s, meta in pending if in_shard(s, shard) and abandoned(meta)])
        mine = {s: m for s, m in live.items() if in_shard(s, shard)}
        docs, skipped = read_corpus(settings.corpus_dirs, seen_files(_Files(mine)))
        docs = [d for d in docs if in_shard(d.source, shard)]
        p = plan(docs, _Files(mine), why)
        by_source = {d.source: d for d in docs}
        self._embed_and_write(client, names, [by_source[s] for s in p.added + p.changed], settings, mine, progress)
        self._redescribe(client, names, [by_source[s] for s in p.meta_changed], mine)
        gone = [mine[s]["key"] for s in p.removed]
        self._mark_pending(client, names, gone)
        self._drop(client, names, gone)
        record_store(settings)
        live, _ = self._records(client, names)
        n_chunks = sum(int(m.get("chunks", 0)) for m in live.values())
        version = f"{self.name} {names[0]}"
        if why:
            return IngestReport([d.source for d in docs], [], [], [], skipped, why, n_chunks,
                                time.perf_counter() - t0, version)
        return IngestReport(p.added, p.changed, p.removed, p.unchanged + p.meta_changed, skipped, None, n_chunks,
                            time.perf_counter() - t0, version, bool(p.meta_changed))

    def load(self, settings: Settings) -> MilvusIndex:
        """The live articles and passages of the collection, opened for searching."""
        check_store(settings)
        client, names = self.client(), self.names(settings)
        why = self._spec_why(client, names, spec_of(settings))
        if why == "no index yet":
            raise IndexStateError(f"No index in {self.name} for this collection. Build it from the articles "
                                  f"first.", Hint.BUILD_INDEX)
        if why:
            raise IndexStateError(f"The index in {self.name} is outdated: {why}. Index the articles again to "
                                  f"rebuild it.", Hint.BUILD_INDEX)
        live, pending = self._records(client, names)
        keys = {m["key"]: s for s, m in live.items()}
        texts: dict[str, list[tuple[int, str]]] = {}
        for row in self._all(client, names[1], "part >= 0", ["article", "part", "text"]):
            if row["article"] in keys:
                texts.setdefault(row["article"], []).append((row["part"], row["text"]))
        docs = {}
        for key, source in sorted(keys.items(), key=lambda x: x[1]):
            meta = {k: v for k, v in live[source].items() if k in _DOC_FIELDS}
            docs[source] = Document(**meta, text="".join(t for _, t in sorted(texts.get(key, []))))
        rows = [r for r in self._all(client, names[0], 'pk != ""', ["pk", "article", "source", "n", "start", "end"])
                if r["article"] in keys]
        rows.sort(key=lambda r: (r["source"], r["n"]))
        chunks = [Chunk(f"{r['source']}#{r['n']}", r["source"], r["start"], r["end"],
                        docs[r["source"]].text[r["start"]:r["end"]], docs[r["source"]].title,
                        docs[r["source"]].date) for r in rows]
        manifest = {"store": self.name, "collection": names[0], "n_chunks": len(chunks),
                    "files": {s: {k: v for k, v in m.items()} for s, m in sorted(live.items())}}
        return MilvusIndex(client, names[0], docs, chunks, [r["pk"] for r in rows],
                           frozenset(k for k, *_ in pending), manifest, spec_of(settings)["embedder"]["dim"])
