"""What the page does, as plain functions over a ``rag.service.Service``; ``ui.app`` only wires them to Gradio."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from core.dates import is_iso
from core.errors import ModelError, RagError
from core.records import Answer
from core.settings import Settings, uploads_dir
from rag.service import Added, Found, Service, error_payload
from ui import render


class ChatService(Service):
    """The page's service: the collection always includes a folder for articles added in the page."""

    def __init__(self, settings: Settings, upload_dir: Path | None = None):
        super().__init__(settings, Path(upload_dir or uploads_dir()))

    @property
    def upload_dir(self) -> Path:
        return self.added_dir


def _history_pairs(turns: list) -> list[tuple[str, str]]:
    return [(q, a) for q, a in (turns or [])][-3:]


def chat(service: Service, message: str, messages: list, turns: list, k: int | None = None,
         date_from: str = "", date_to: str = "") -> Iterator[tuple[list, str, list]]:
    """One turn: yields (chat messages, sources panel HTML, turns) as the answer streams in."""
    messages = list(messages or [])
    turns = list(turns or [])
    turn = len(turns) + 1
    messages.append({"role": "user", "content": render.esc(message or "")})
    messages.append({"role": "assistant", "content": "…"})
    sources = render.sources_html(None, {}, turn)  # the evidence as soon as it is chosen, then the cited sources
    yield messages, sources, turns
    raw = ""
    try:
        date_range = _date_range(date_from, date_to)
        for item in service.ask_stream(message or "", history=_history_pairs(turns), k=int(k) if k else None,
                                       date_range=date_range):
            if isinstance(item, Found):
                sources = render.evidence_html(item.evidence, service.documents(), turn)
            elif isinstance(item, Answer):
                messages[-1] = {"role": "assistant", "content": render.answer_html(item, turn)}
                turns.append((item.question, item.answer if not item.refused else ""))
                sources = render.sources_html(item, service.documents(), turn)
            else:
                raw += item
                messages[-1] = {"role": "assistant", "content": render.streaming_text(raw)}
            yield messages, sources, turns
    except ModelError as exc:
        messages[-1] = {"role": "assistant", "content": f"⚠️ The model is unavailable: {render.esc(str(exc))} "
                        f"The evidence found for the question is under Sources."}
        yield messages, sources, turns
    except RagError as exc:
        messages[-1] = {"role": "assistant", "content": f"⚠️ {render.esc(str(exc))}"}
        yield messages, sources, turns


def _date_range(date_from: str, date_to: str) -> tuple[str | None, str | None] | None:
    vals = []
    for label, v in (("From", date_from), ("To", date_to)):
        v = (v or "").strip()
        if v and not is_iso(v, finest="month"):
            raise RagError(f"{label} date {v!r} is not a date: write a year (2025) or a month (2025-03).")
        vals.append(v or None)
    return tuple(vals) if any(vals) else None


def ask_json(service: Service, question: str, k: int | None = None) -> dict:
    """The named API endpoint: the same object as the CLI's ``ask --json``, or the error payload."""
    try:
        return service.ask(question, k=int(k) if k else None).to_json()
    except RagError as exc:
        return error_payload(question, exc)


def add_files(service: Service, paths: list[str] | None, progress=None) -> str:
    """Add uploaded article files to the collection; bad ones are named, not kept."""
    paths = [p for p in (paths or []) if p]
    if not paths:
        return "Choose one or more .txt or .md files first."
    try:
        return _added_message(service.add_files([Path(p) for p in paths], progress))
    except RagError as exc:
        return f"⚠️ {render.esc(str(exc))}"


def add_pasted(service: Service, title: str, date: str, text: str, progress=None) -> str:
    """Save a pasted article (with title and optional date) and index it."""
    try:
        return _added_message(service.add_text(title, date, text, progress))
    except RagError as exc:
        return f"⚠️ {render.esc(str(exc))}"


def _added_message(result: Added) -> str:
    lines = []
    if result.report:
        lines.append(f"✅ Added {', '.join(render.esc(a) for a in result.added)}. "
                     f"Index: {render.esc(result.report.summary())}")
    if result.error:
        lines.append(f"⚠️ {render.esc(result.error)}")
    if result.problems:
        lines.append("⚠️ Not added: " + "; ".join(render.esc(p) for p in result.problems))
    return "\n\n".join(lines)
