"""Saved web pages and PDFs -> article text with title, author and date (and where the date came from).

The text returned here is what the collection keeps as the article (``document.text``), so citation offsets
index into it; the original file is kept beside it. Every refusal is a ``ConversionError`` naming what to do.
"""
from __future__ import annotations

import io
import logging
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

from core.errors import CorpusError

HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)
MAX_PDF_PAGES = 100  # a news article is a few pages; a 200-page report is not one article
MIN_TEXT_CHARS = 80  # less than this is no article body (a page of links, a scan, a script-only page)
_OPENING_CHARS = 400  # where a dateline is looked for


class ConversionError(CorpusError):
    """A file that cannot become an article; the message says why and what to do."""


@dataclass(frozen=True)
class Converted:
    """One converted article: the text kept, its metadata, and where the date came from."""

    text: str
    kind: str  # "html" | "pdf" | "text"
    title: str | None = None
    author: str | None = None
    date: str | None = None  # "2025-03-04"
    date_origin: str | None = None  # "html metadata" | "pdf metadata" | "dateline"
    seconds: float = 0.0


def sniff(raw: bytes) -> str:
    """What the bytes are, whatever the file is called: "pdf", "html", "text" or "binary"."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte-order mark: judged by its text
        raw = raw[:4096].decode("utf-16", errors="ignore").replace("\x00", "").encode("utf-8")  # NULs: reader
    head = raw[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if raw.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<body" in head or b"<head" in head:
        return "html"
    if b"\x00" in raw[:8192] or head[:8].startswith((b"\x89png", b"gif8", b"\xff\xd8\xff", b"pk\x03\x04")):
        return "binary"
    return "text"


def convert(name: str, raw: bytes) -> Converted:
    """The article in ``raw`` (a file called ``name``), by what its bytes are; plain text is returned as is."""
    t0 = time.perf_counter()
    kind = sniff(raw)
    if kind == "binary":
        raise ConversionError(f"{name} is not an article file (it looks like an image or an archive); "
                              f"save the article as .html, .pdf or .txt.")
    out = _pdf(name, raw) if kind == "pdf" else _html(name, raw) if kind == "html" else Converted("", "text")
    return replace(out, seconds=time.perf_counter() - t0)


def _html(name: str, raw: bytes) -> Converted:
    import htmldate
    import trafilatura
    from trafilatura.utils import decode_file

    for lib in ("trafilatura", "htmldate"):  # their "WARNING discarding data: None" (a page without text) would
        logging.getLogger(lib).setLevel(logging.CRITICAL)  # print beside the ConversionError that says it in words
    page = decode_file(raw)  # the charset the page declares (meta tag), else detected
    doc = trafilatura.bare_extraction(page, with_metadata=True, include_comments=False, include_tables=False)
    text = _tidy(doc.text if doc is not None else "")
    if len(text) < MIN_TEXT_CHARS or not _has_paragraph(text):
        raise ConversionError(f"{name} has no article text that could be found (a page of links, or one that "
                              f"needs JavaScript to show its text); save the article page itself, or paste its text.")
    date = htmldate.find_date(page, extensive_search=False, original_date=True)
    origin = "html metadata" if date else None
    if not date:
        date, origin = dateline(text)
    title = doc.title.strip() if doc.title else None
    return Converted(text, "html", title, doc.author or None, date, origin)


def _pdf(name: str, raw: bytes) -> Converted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ConversionError(f"{name} is protected by a password; save a copy without the password "
                                  f"(or paste its text).")
        pages = len(reader.pages)
        if pages > MAX_PDF_PAGES:
            raise ConversionError(f"{name} has {pages} pages; PDFs of at most {MAX_PDF_PAGES} pages are read as one "
                                  f"article. Save the article's pages as a PDF of their own.")
        text = _tidy("\n\n".join(_page_text(p) for p in reader.pages))
        meta = reader.metadata or {}
    except ConversionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ConversionError(f"{name} is damaged or not a complete PDF ({type(exc).__name__}); save or "
                              f"download it again.") from exc
    if len(text) < MIN_TEXT_CHARS:
        raise ConversionError(f"{name} has no text layer (it is probably a scan); run text recognition (OCR) on it "
                              f"first, or paste the article's text.")
    title = str(meta.get("/Title") or "").strip() or _first_line(text)
    date, origin = dateline(text)  # a PDF's creation date is often the day it was saved, so the dateline wins
    if not date:
        date, origin = _pdf_date(meta.get("/CreationDate"))
    author = str(meta.get("/Author") or "").strip()
    return Converted(text, "pdf", title, author if author.lower() not in ("", "anonymous", "unknown") else None,
                     date, origin)


def _page_text(page) -> str:
    """A page's text with lines of one paragraph joined: "coop-\\neration" -> "cooperation"."""
    text = page.extract_text() or ""
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    return re.sub(r"(?<!\n)\n(?!\n)", " ", text)


def _has_paragraph(text: str) -> bool:
    """An article has at least one line of running text (8 words or more); a list of links has none."""
    return any(len(line.split()) >= 8 for line in text.split("\n"))


def _tidy(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.replace("\r", "").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _first_line(text: str) -> str | None:
    line = text.split("\n", 1)[0].strip()
    return line[:150] if line else None


def _pdf_date(value) -> tuple[str | None, str | None]:
    """"D:20250304101500Z" -> ("2025-03-04", "pdf metadata")."""
    m = re.match(r"D:(\d{4})(\d{2})(\d{2})", str(value or ""))
    if not m or not 1990 <= int(m.group(1)) <= 2100:
        return None, None
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}", "pdf metadata"


def dateline(text: str) -> tuple[str | None, str | None]:
    """A date with a year in the opening lines ("YANGON, March 4, 2025 -"), by dateparser; else (None, None)."""
    from dateparser.search import search_dates

    found = search_dates(text[:_OPENING_CHARS], languages=["en"],
                         settings={"REQUIRE_PARTS": ["month", "year"], "PREFER_DAY_OF_MONTH": "first",
                                   "PARSERS": ["absolute-time"]})
    for said, when in found or []:  # the year written out: "a year" or "50,000" are not dates
        if re.search(rf"\b{when.year}\b", said) and 1990 <= when.year <= 2100:
            # "in April 2025" is 2025-04, not the 1st of April
            day = re.search(r"\b\d{1,2}(st|nd|rd|th)?\b", said.replace(str(when.year), ""))
            return (when.date().isoformat() if day else f"{when.year}-{when.month:02d}"), "dateline"
    return None, None


def is_convertible(path: Path) -> bool:
    """Files the collection converts on the way in."""
    return path.suffix.lower() in HTML_SUFFIXES + PDF_SUFFIXES
