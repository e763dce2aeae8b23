"""Saved web pages and PDFs in an article folder, read as ``rag add`` reads them (``embeddings.convert``).

The converted text is kept with the index, never in the user's folder: ``<index>/converted/<source>.json``
holds the text (what is indexed and what citations quote, so offsets index into it), its title, author, date
and the sha256 of the file it came from; a file whose bytes have not changed is not converted again.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

from core.dates import PRECISION, is_iso
from core.records import Document
from embeddings.convert import ConversionError, Converted, convert
from embeddings.reader import Seen, Skipped, decode_article, write_atomic

MAX_SOURCE_BYTES = 20 * 2**20  # a saved page with inline images, or a PDF; the text kept is far smaller


def converter(cache_dir: Path):
    """The ``convert`` of ``embeddings.reader.read_corpus``, keeping converted texts in ``cache_dir``."""
    return lambda path, catalog, seen: read_converted(path, catalog, cache_dir, seen)


def read_converted(path: Path, catalog: dict[str, dict], cache_dir: Path, seen: Seen | None = None
                   ) -> Document | Skipped:
    """One saved page or PDF -> ``Document`` of its converted text (``Skipped`` with what to do when it has none).
    ``Document.path`` and ``original`` are the file itself; ``sha256`` is that of its bytes. A file as ``seen``
    (same size and modification time) is not read: its text is empty, as ``read_document`` does (the index has it)."""
    try:
        st = path.stat()
        unchanged = seen is not None and (st.st_size, st.st_mtime_ns) == (seen.size, seen.mtime_ns)
        raw = None if unchanged else _read(path, st.st_size)
        sha256 = seen.sha256 if unchanged else hashlib.sha256(raw).hexdigest()
        article = _cached(cache_dir, path.stem, sha256)
        if article is None:
            raw = raw if raw is not None else _read(path, st.st_size)
            article = _convert(path.name, raw)
            _keep(cache_dir, path.stem, sha256, article)
    except ConversionError as exc:
        return Skipped(str(path), str(exc))
    except OSError as exc:
        return Skipped(str(path), f"it cannot be read ({exc.strerror or exc})")
    meta = catalog.get(path.name, {})
    date = meta.get("date") or article.date
    return Document(source=path.stem, path=str(path), text="" if unchanged else article.text, sha256=sha256,
                    title=str(meta.get("title") or article.title or path.stem), date=date,
                    precision=meta.get("precision") or PRECISION.get(len(date or "")),
                    date_origin=meta.get("date_origin") or ("catalog" if meta.get("date") else article.date_origin),
                    author=meta.get("author") or article.author, original=str(path), added=meta.get("added"),
                    size=st.st_size, mtime_ns=st.st_mtime_ns)


def _convert(name: str, raw: bytes) -> Converted:
    """``convert``, and a page that is really plain text read as text (a saved ``.html`` of a text file)."""
    article = convert(name, raw)
    if article.kind == "text":
        text, why = decode_article(raw)
        if text is None:
            raise ConversionError(why)
        article = Converted(text, "text")
    if article.date and not is_iso(article.date):
        article = replace(article, date=None, date_origin=None)
    return article


def _read(path: Path, size: int) -> bytes:
    if size > MAX_SOURCE_BYTES:
        raise ConversionError(f"it is {size / 2**20:.0f} MiB; saved pages and PDFs of at most "
                              f"{MAX_SOURCE_BYTES // 2**20} MiB are read. Save only the article.")
    return path.read_bytes()


def _cached(cache_dir: Path, source: str, sha256: str) -> Converted | None:
    try:
        data = json.loads((cache_dir / f"{source}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("sha256") != sha256 or not isinstance(data.get("text"), str):
        return None
    return Converted(data["text"], str(data.get("kind") or "html"), data.get("title"), data.get("author"),
                     data.get("date"), data.get("date_origin"))


def _keep(cache_dir: Path, source: str, sha256: str, article: Converted) -> None:
    data = {"sha256": sha256, "kind": article.kind, "title": article.title, "author": article.author,
            "date": article.date, "date_origin": article.date_origin, "text": article.text}
    write_atomic(cache_dir / f"{source}.json", json.dumps(data, ensure_ascii=False).encode("utf-8"))
