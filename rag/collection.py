"""The user's own articles: files (text, saved web pages, PDFs) kept in one folder with their originals and
catalog, listed, corrected and removed. The index is brought in line by the caller (``rag.service``).

Layout of the folder::

    catalog.json            title, date, date_origin, author, original, added per article
    <name>.txt              the article's text: what is indexed and what citations quote
    originals/<name>.html   the file it was converted from (saved page or PDF)
"""
from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from core.dates import is_iso
from core.errors import CorpusError
from core.records import Document
from embeddings.convert import HTML_SUFFIXES, PDF_SUFFIXES, ConversionError, convert, sniff
from embeddings.reader import (MAX_FILE_BYTES, SUFFIXES, catalog_entry, decode_article, drop_catalog_entry,
                               write_catalog_entry)

ACCEPTED = SUFFIXES + HTML_SUFFIXES + PDF_SUFFIXES
MAX_UPLOAD_BYTES = 20 * 2**20  # a saved page with inline images, or a PDF; the text kept is far smaller
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_KIND_WORDS = {"html": "an HTML page", "pdf": "a PDF", "text": "plain text"}
_KIND_OF_SUFFIX = {".pdf": "pdf", ".html": "html", ".htm": "html", ".txt": "text", ".md": "text"}


@dataclass(frozen=True)
class ArticleRow:
    """One article as the collection table shows it."""

    source: str
    title: str
    date: str | None
    date_origin: str | None
    passages: int
    file: str
    original: str | None
    added: str | None
    read_only: bool


@dataclass(frozen=True)
class Stored:
    """One file taken in: the article name it was kept under (None: not kept) and what to tell the user."""

    name: str | None
    message: str
    seconds: float = 0.0


def fingerprint(text: str) -> str:
    """Equal for the same article whatever its format or line breaks: sha256 of its words."""
    return hashlib.sha256(" ".join(text.split()).lower().encode()).hexdigest()


def safe_stem(name: str) -> str:
    """"../a b<script>.html" -> "a_b_script_"; never empty."""
    stem = Path(Path(name.replace("\\", "/")).name).stem
    return _SAFE_NAME.sub("_", stem).strip("._")[:80] or "article"


def store_file(folder: Path, path: Path, taken: dict[str, str], replace: bool = False,
               shipped: frozenset[str] = frozenset()) -> Stored:
    """Convert and keep one file in ``folder``. ``taken``: source -> text fingerprint of every article already in
    the collection (updated here). A different article with a taken name gets a new name unless ``replace``."""
    shown = Path(str(path).replace("\\", "/")).name
    try:
        raw = _read(path, shown)
        text, meta = _text_of(shown, raw)
    except ConversionError as exc:
        return Stored(None, str(exc))
    same = next((s for s, fp in taken.items() if fp == fingerprint(text)), None)
    if same is not None:
        return Stored(None, f"{shown} is already in the collection as {same!r}; it was not added again.")
    name, note = free_name(safe_stem(shown), taken, replace, shipped, shown)
    if name is None:
        return Stored(None, note)
    _keep(folder, name, shown, raw, text, meta)
    taken[name] = fingerprint(text)
    return Stored(name, " ".join(filter(None, [meta.get("note"), note])), meta.get("seconds", 0.0))


def _read(path: Path, shown: str) -> bytes:
    suffix = Path(shown).suffix.lower()
    if suffix not in ACCEPTED:
        raise ConversionError(f"{shown}: only .txt, .md, .html, .htm and .pdf files are read; save the article "
                              f"in one of these.")
    try:
        if path.stat().st_size > MAX_UPLOAD_BYTES:
            raise ConversionError(f"{shown} is {path.stat().st_size / 2**20:.0f} MiB; files of at most "
                                  f"{MAX_UPLOAD_BYTES // 2**20} MiB are read. Save only the article.")
        return path.read_bytes()
    except OSError as exc:
        raise ConversionError(f"{shown} cannot be read ({exc.strerror or exc}).") from exc


def _text_of(shown: str, raw: bytes) -> tuple[str, dict]:
    """The article text and its metadata, converting by what the bytes are (an extension may lie)."""
    kind, claimed = sniff(raw), _KIND_OF_SUFFIX[Path(shown).suffix.lower()]
    if kind == "text":
        text, why = decode_article(raw)
        if text is None:
            raise ConversionError(f"{shown}: {why}.")
        out = {"kind": "text", "seconds": 0.0}
    else:
        c = convert(shown, raw)
        text = c.text
        out = {"kind": c.kind, "title": c.title, "author": c.author, "date": c.date, "date_origin": c.date_origin,
               "seconds": c.seconds}
    if len(text.encode()) > MAX_FILE_BYTES:
        raise ConversionError(f"{shown}: its text is {len(text.encode()) / 2**20:.1f} MiB; articles of at most "
                              f"{MAX_FILE_BYTES // 2**20} MiB are indexed. Split it into several files.")
    if out["kind"] != claimed:
        out["note"] = f"{shown} is really {_KIND_WORDS[out['kind']]}; it was read as one."
    return text, out


def free_name(stem: str, taken: dict[str, str], replace: bool, shipped: frozenset[str],
              shown: str) -> tuple[str | None, str]:
    """``stem``, or ``stem-2``... when a different article has it (or ``stem`` itself with ``replace``)."""
    if stem not in taken:
        return stem, ""
    if stem in shipped:
        if replace:
            return None, f"{shown}: a shipped article is called {stem!r}, and shipped articles cannot be replaced."
    elif replace:
        return stem, f"{shown} replaced the article {stem!r}."
    n = 2
    while f"{stem}-{n}" in taken:
        n += 1
    return f"{stem}-{n}", (f"{shown}: another article is already called {stem!r}, so this one was added as "
                           f"'{stem}-{n}' (to replace the old one instead, add it again with Replace).")


def _keep(folder: Path, name: str, shown: str, raw: bytes, text: str, meta: dict) -> None:
    """Original first, then catalog, then the text (whose presence makes it an article), each written atomically."""
    original = None
    if meta["kind"] != "text":
        original = f"originals/{name}{'.pdf' if meta['kind'] == 'pdf' else '.html'}"
        _atomic(folder / original, raw)
    date = meta.get("date") if meta.get("date") and is_iso(meta["date"]) else None
    write_catalog_entry(folder, f"{name}.txt", meta.get("title") or Path(shown).stem, date,
                        date_origin=date and meta.get("date_origin"), author=meta.get("author"), original=original,
                        added=time.strftime("%Y-%m-%dT%H:%M:%S"), converted_from=shown if original else None)
    _atomic(folder / f"{name}.txt", text.encode("utf-8"))


def _atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def remove(folder: Path, source: str) -> str:
    """Delete one added article (text, original, catalog entry); returns its title."""
    entry = catalog_entry(folder, f"{source}.txt") or {}
    path = folder / f"{source}.txt"
    if not path.is_file():
        raise CorpusError(f"There is no added article called {source!r}; `rag list` shows the collection.")
    if entry.get("original"):
        (folder / entry["original"]).unlink(missing_ok=True)
    path.unlink()
    drop_catalog_entry(folder, f"{source}.txt")
    return str(entry.get("title") or source)


def set_meta(folder: Path, source: str, title: str | None = None, date: str | None = None) -> None:
    """Correct an added article's title and/or date (the date's origin becomes "user"); "" clears the date."""
    if not (folder / f"{source}.txt").is_file():
        raise CorpusError(f"There is no added article called {source!r}; `rag list` shows the collection.")
    if date and not is_iso(date):
        raise CorpusError(f"Date {date!r} is not a date: write 2025, 2025-03 or 2025-03-25.")
    if title is not None and not title.strip():
        raise CorpusError("The title cannot be empty.")
    entry = catalog_entry(folder, f"{source}.txt") or {}
    new_date = entry.get("date") if date is None else (date or None)
    extra = {k: entry.get(k) for k in ("author", "original", "added", "converted_from")}
    origin = "user" if date is not None else entry.get("date_origin")
    write_catalog_entry(folder, f"{source}.txt", (title or "").strip() or entry.get("title") or source, new_date,
                        date_origin=new_date and origin, **extra)


def rows(documents: dict[str, Document], passages: dict[str, int], added_dir: Path | None) -> list[ArticleRow]:
    """The collection table, newest first (undated last)."""
    out = []
    for d in documents.values():
        mine = added_dir is not None and Path(d.path).parent == Path(added_dir)
        out.append(ArticleRow(d.source, d.title, d.date, d.date_origin, passages.get(d.source, 0), d.path,
                              d.original, d.added, not mine))
    dated = sorted((r for r in out if r.date), key=lambda r: r.date, reverse=True)
    return dated + sorted((r for r in out if not r.date), key=lambda r: r.title)
