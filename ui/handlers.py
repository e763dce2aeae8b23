"""What the page does, as plain functions over a ``ChatService``; ``ui.app`` only wires them to Gradio."""
from __future__ import annotations

import json
import re
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from embeddings.reader import MAX_FILE_BYTES, SUFFIXES, decode_article
from embeddings.store import IngestReport
from rag.errors import RagError
from rag.pipeline import Engine, ask, ask_stream, open_engine
from rag.records import Answer
from rag.settings import DEFAULT_CORPUS, Settings, uploads_dir
from ui import render

MAX_UPLOAD_BYTES = MAX_FILE_BYTES  # the same limit as any article
MAX_UPLOAD_FILES = 20
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class ChatService:
    """The page's one engine (index + embedder + shared LLM); re-indexing swaps the index under a lock."""

    def __init__(self, settings: Settings, upload_dir: Path | None = None):
        self.upload_dir = Path(upload_dir or uploads_dir())
        dirs = tuple(settings.corpus_dirs)
        if self.upload_dir not in dirs:
            dirs = dirs + (self.upload_dir,)
        self.settings = replace(settings, corpus_dirs=dirs)
        self._lock = threading.Lock()
        self._engine: Engine | None = None

    def start(self, progress=None) -> IngestReport:
        """Build or update the index and load the models' lightweight parts; call before serving."""
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._engine, report = open_engine(self.settings, progress=progress)
        return report

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self.start()
        return self._engine

    def reindex(self, progress=None) -> IngestReport:
        with self._lock:
            engine, report = open_engine(self.settings, progress=progress)
            if self._engine is not None:
                engine._llm = self._engine._llm  # keep the loaded LLM
            self._engine = engine
        return report

    def model_name(self) -> str:
        s = self.settings
        if s.llm_url:
            return f"endpoint {s.llm_url}"
        if s.model_path:
            return Path(s.model_path).name
        return "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)"


def _history_pairs(turns: list) -> list[tuple[str, str]]:
    return [(q, a) for q, a in (turns or [])][-3:]


def chat(service: ChatService, message: str, messages: list, turns: list, k: int | None = None,
         date_from: str = "", date_to: str = "") -> Iterator[tuple[list, str, list]]:
    """One turn: yields (chat messages, sources panel HTML, turns) as the answer streams in."""
    messages = list(messages or [])
    turns = list(turns or [])
    turn = len(turns) + 1
    messages.append({"role": "user", "content": render.esc(message or "")})
    messages.append({"role": "assistant", "content": "…"})
    no_sources = render.sources_html(None, {}, turn)  # shown until the answer is final
    yield messages, no_sources, turns
    raw = ""
    try:
        date_range = _date_range(date_from, date_to)
        engine = service.engine
        for item in ask_stream(engine, message or "", history=_history_pairs(turns), k=int(k) if k else None,
                               date_range=date_range):
            if isinstance(item, Answer):
                messages[-1] = {"role": "assistant", "content": render.answer_html(item, turn)}
                turns.append((item.question, item.answer if not item.refused else ""))
                yield messages, render.sources_html(item, engine.index.documents, turn), turns
            else:
                raw += item
                messages[-1] = {"role": "assistant", "content": render.streaming_text(raw)}
                yield messages, no_sources, turns
    except RagError as exc:
        messages[-1] = {"role": "assistant", "content": f"⚠️ {render.esc(str(exc))}"}
        yield messages, no_sources, turns


def _date_range(date_from: str, date_to: str) -> tuple[str | None, str | None] | None:
    vals = []
    for label, v in (("From", date_from), ("To", date_to)):
        v = (v or "").strip()
        if v and not re.fullmatch(r"\d{4}(-\d{2})?", v):
            raise RagError(f"{label} date {v!r} is not a date: write a year (2025) or a month (2025-03).")
        vals.append(v or None)
    return tuple(vals) if any(vals) else None


def ask_json(service: ChatService, question: str, k: int | None = None) -> dict:
    """The named API endpoint: the same object as ``rag ask --json``, or {"error": ...}."""
    try:
        return ask(service.engine, question, k=int(k) if k else None).to_json()
    except RagError as exc:
        return {"question": question, "error": str(exc), "refused": True, "answer": "", "citations": [],
                "retrieved": []}


def add_files(service: ChatService, paths: list[str] | None, progress=None) -> str:
    """Copy uploaded .txt/.md files into the articles folder and index them; bad ones are named, not kept."""
    paths = [p for p in (paths or []) if p]
    if not paths:
        return "Choose one or more .txt or .md files first."
    if len(paths) > MAX_UPLOAD_FILES:
        return f"⚠️ {len(paths)} files at once is too many; add at most {MAX_UPLOAD_FILES} at a time."
    problems, added = [], []
    for p in map(Path, paths):
        name = _SAFE_NAME.sub("_", p.name)
        if p.suffix.lower() not in SUFFIXES:
            problems.append(f"{p.name}: only .txt and .md files can be added")
            continue
        if p.stat().st_size > MAX_UPLOAD_BYTES:
            problems.append(f"{p.name}: larger than {MAX_UPLOAD_BYTES // 2**20} MiB")
            continue
        text, why = decode_article(p.read_bytes())
        if text is None:
            problems.append(f"{p.name}: {why}")
            continue
        if (DEFAULT_CORPUS / name).exists():
            problems.append(f"{p.name}: a shipped article has this name; rename the file")
            continue
        shutil.copyfile(p, service.upload_dir / name)
        added.append(name)
    return _reindex_message(service, added, problems, progress)


def add_pasted(service: ChatService, title: str, date: str, text: str, progress=None) -> str:
    """Save a pasted article (with title and optional date) and index it."""
    title, date, text = (title or "").strip(), (date or "").strip(), (text or "").strip()
    if not title or not text:
        return "⚠️ Give the article a title and paste its text."
    if date and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", date):
        return f"⚠️ Date {date!r} is not a date: write 2025, 2025-03 or 2025-03-25, or leave it empty."
    if len(text.encode()) > MAX_UPLOAD_BYTES:
        return f"⚠️ The text is larger than {MAX_UPLOAD_BYTES // 2**20} MiB."
    name = (_SAFE_NAME.sub("_", title.lower())[:60].strip("_") or "article") + ".txt"
    (service.upload_dir / name).write_text(text + "\n", encoding="utf-8")
    catalog_path = service.upload_dir / "catalog.json"
    try:
        catalog = json.loads(catalog_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        catalog = {"articles": []}
    catalog["articles"] = [a for a in catalog.get("articles", []) if a.get("file") != name]
    catalog["articles"].append({"file": name, "title": title, "date": date or None,
                                "precision": {4: "year", 7: "month", 10: "day"}.get(len(date))})
    catalog_path.write_text(json.dumps(catalog, indent=2, ensure_ascii=False), encoding="utf-8")
    return _reindex_message(service, [name], [], progress)


def _reindex_message(service: ChatService, added: list[str], problems: list[str], progress) -> str:
    lines = []
    if added:
        try:
            report = service.reindex(progress)
            lines.append(f"✅ Added {', '.join(render.esc(a) for a in added)}. Index: {render.esc(report.summary())}")
        except RagError as exc:
            lines.append(f"⚠️ {render.esc(str(exc))}")
    if problems:
        lines.append("⚠️ Not added: " + "; ".join(render.esc(p) for p in problems))
    return "\n\n".join(lines)
