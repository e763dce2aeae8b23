"""The user's own articles: files (text, saved web pages, PDFs) kept in one folder with their originals and
catalog, listed, corrected and removed. The index is brought in line by the caller (``rag.service``).

Layout of the folder::

    .lock                   held (``flock``) by the one process changing the collection: choosing a name,
                            writing text, original and catalog entry, re-indexing (``changing``)
    catalog.json            title, date, date_origin, author, original, added per article
    <name>.txt              the article's text: what is indexed and what citations quote
    originals/<name>.html   the file it was converted from (saved page or PDF)
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from core.dates import is_iso
from core.errors import CorpusError
from core.lock import exclusive
from core.records import Document
from embeddings.converted import MAX_SOURCE_BYTES
from embeddings.convert import HTML_SUFFIXES, PDF_SUFFIXES, ConversionError, Converted, convert, dateline, sniff
from embeddings.reader import (MAX_FILE_BYTES, SUFFIXES, catalog_entry, decode_article, drop_catalog_entry,
                               write_atomic, write_catalog_entry)

ACCEPTED = SUFFIXES + HTML_SUFFIXES + PDF_SUFFIXES
MAX_UPLOAD_BYTES = MAX_SOURCE_BYTES
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


@contextmanager
def changing(folder: Path, on_wait: Callable[[], None] | None = None) -> Iterator[Path]:
    """Hold the collection's lock for one change: another process or thread changing ``folder`` waits (``on_wait``
    is called after a second of waiting). Held across choosing names, writing files and re-indexing."""
    with exclusive(folder / ".lock", on_wait):
        yield folder


def taken_names(folder: Path, indexed: dict[str, Document]) -> dict[str, str]:
    """source -> text fingerprint of every article, read where the truth is: the articles of the index just
    loaded, plus every text file in ``folder`` it does not hold (one a killed process wrote but did not index;
    its name is taken even when it cannot be read)."""
    taken = {s: fingerprint(d.text) for s, d in indexed.items()}
    for path in folder.iterdir():
        if path.suffix.lower() in SUFFIXES and path.stem not in taken:
            text = None
            if path.is_file() and not path.is_symlink():  # a link is never read (``read_corpus`` skips it too)
                try:
                    text = decode_article(path.read_bytes())[0]
                except OSError:
                    pass
            taken[path.stem] = fingerprint(text) if text else ""
    return taken


def plain(text: str) -> str:
    """One line of visible text: control and format characters (a newline, U+202E that reverses what follows,
    zero-width marks) dropped, runs of spaces made one. "a\n\u202ecod.txt" -> "a cod.txt"."""
    kept = "".join(" " if ch in "\t\n\r\v\f\x85\u2028\u2029" else ch for ch in text
                   if ch in "\t\n\r\v\f\x85\u2028\u2029" or unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())


def safe_stem(name: str) -> str:
    """"../a b<script>.html" -> "a_b_script_"; never empty."""
    stem = Path(Path(name.replace("\\", "/")).name).stem
    return _SAFE_NAME.sub("_", stem).strip("._")[:80] or "article"


def store_file(folder: Path, path: Path, taken: dict[str, str], replace: bool = False,
               shipped: frozenset[str] = frozenset()) -> Stored:
    """Convert and keep one file in ``folder``. ``taken``: source -> text fingerprint of every article already in
    the collection (updated here). A different article with a taken name gets a new name unless ``replace``."""
    shown = plain(Path(str(path).replace("\\", "/")).name) or "article"
    try:
        raw = _read(path, shown)
        article, note = _text_of(shown, raw)
    except ConversionError as exc:
        return Stored(None, str(exc))
    kept = _store(folder, shown, safe_stem(shown), article, raw, taken, replace, shipped)
    return _noted(kept, note) if note else kept


def store_text(folder: Path, title: str, date: str | None, text: str, taken: dict[str, str]) -> Stored:
    """Keep a pasted article (title, optional ISO date given by the user) like a file."""
    title = plain(title)
    found, origin = (date, "user") if date else dateline(text)
    article = Converted(text, "text", title, None, found, origin)
    return _store(folder, title, safe_stem(title.lower() + ".txt"), article, b"", taken, False, frozenset())


def _store(folder: Path, shown: str, stem: str, article: Converted, raw: bytes, taken: dict[str, str],
           replace: bool, shipped: frozenset[str]) -> Stored:
    same = next((s for s, fp in taken.items() if fp == fingerprint(article.text)), None)
    if same is not None:
        return Stored(None, f"{shown} is already in the collection as {same!r}; it was not added again.")
    name, note = free_name(stem, taken, replace, shipped, shown)
    if name is None:
        return Stored(None, note)
    _keep(folder, name, shown, raw, article)
    taken[name] = fingerprint(article.text)
    return Stored(name, note, article.seconds)


def _noted(kept: Stored, note: str) -> Stored:
    """``kept`` with ``note`` ("x.pdf is really a web page; ...") before its own message."""
    return Stored(kept.name, " ".join(filter(None, [note, kept.message])), kept.seconds)


def _read(path: Path, shown: str) -> bytes:
    suffix = Path(shown).suffix.lower()
    if suffix not in ACCEPTED:
        raise ConversionError(f"{shown}: only .txt, .md, .html, .htm and .pdf files are read; save the article "
                              f"in one of these.")
    try:  # the file itself, never what a link points to (O_NOFOLLOW), and never a pipe or device that blocks
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConversionError(f"{shown} is a symbolic link (to {os.readlink(path)}); links are not followed, so "
                                  f"that nothing but the files you chose is read. Add the file itself.") from exc
        raise ConversionError(f"{shown} cannot be read ({exc.strerror or exc}).") from exc
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ConversionError(f"{shown} is not a file (a folder, pipe or device); add article files.")
        if st.st_size > MAX_UPLOAD_BYTES:
            raise ConversionError(f"{shown} is {st.st_size / 2**20:.0f} MiB; files of at most "
                                  f"{MAX_UPLOAD_BYTES // 2**20} MiB are read. Save only the article.")
        try:
            return fh.read()
        except OSError as exc:
            raise ConversionError(f"{shown} cannot be read ({exc.strerror or exc}).") from exc


def _text_of(shown: str, raw: bytes) -> tuple[Converted, str]:
    """The article and what to tell about it, converting by what the bytes are (an extension may lie)."""
    if sniff(raw) == "text":
        text, why = decode_article(raw)
        if text is None:
            raise ConversionError(f"{shown}: {why}.")
        article = Converted(text, "text", None, None, *dateline(text))
    else:
        article = convert(shown, raw)
    if len(article.text.encode()) > MAX_FILE_BYTES:
        raise ConversionError(f"{shown}: its text is {len(article.text.encode()) / 2**20:.1f} MiB; articles of at "
                              f"most {MAX_FILE_BYTES // 2**20} MiB are indexed. Split it into several files.")
    claimed = _KIND_OF_SUFFIX[Path(shown).suffix.lower()]
    note = f"{shown} is really {_KIND_WORDS[article.kind]}; it was read as one." if article.kind != claimed else ""
    return article, note


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


def _keep(folder: Path, name: str, shown: str, raw: bytes, article: Converted) -> None:
    """Original first, then catalog, then the text (whose presence makes it an article), each written atomically."""
    original = None
    if article.kind != "text":
        original = f"originals/{name}{'.pdf' if article.kind == 'pdf' else '.html'}"
        write_atomic(folder / original, raw)
    date = article.date if article.date and is_iso(article.date) else None
    write_catalog_entry(folder, f"{name}.txt", plain(article.title or "") or Path(shown).stem, date,
                        date_origin=date and article.date_origin, author=article.author, original=original,
                        added=time.strftime("%Y-%m-%dT%H:%M:%S"), converted_from=shown if original else None)
    write_atomic(folder / f"{name}.txt", article.text.encode("utf-8"))


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
    write_catalog_entry(folder, f"{source}.txt", plain(title or "") or entry.get("title") or source, new_date,
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
