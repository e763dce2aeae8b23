"""What the page does, as plain functions over a ``rag.service.Service``; ``ui.app`` only wires them to Gradio."""
from __future__ import annotations

import contextvars
import threading
from pathlib import Path
from typing import Iterator

from core.dates import is_iso
from core.errors import ModelError, RagError
from core.records import Answer
from core.settings import Settings, uploads_dir
from rag.service import WAITING, Added, Found, Service, error_payload
from ui import render


class ChatService(Service):
    """The page's service: the collection always includes a folder for articles added in the page."""

    def __init__(self, settings: Settings, upload_dir: Path | None = None):
        super().__init__(settings, Path(upload_dir or uploads_dir()))

    @property
    def upload_dir(self) -> Path:
        return self.added_dir


class Conversation:
    """One visitor's chat, kept on the server (a ``gr.State``): its turns, each with its own sources and stop
    event. Every question reads the latest state, so one asked right after Stop follows the stopped answer
    instead of an older copy of the chat."""

    def __init__(self):
        self.turns: list[render.Turn] = []
        self.lock = threading.Lock()

    def messages(self) -> list[dict]:
        out = []
        for t in self.turns:
            out += [{"role": "user", "content": render.esc(t.question)}, {"role": "assistant", "content": t.content}]
        return out

    def sources(self) -> str:
        return render.turns_sources_html(self.turns)

    def stop(self) -> None:
        """Stop the oldest question not yet answered, whether its evidence is still being found or its answer
        is being written; a question asked after Stop is not stopped by it."""
        with self.lock:
            turn = next((t for t in self.turns if t.answer is None), None)
        if turn is not None:
            turn.stop.set()

    def history(self, turn: render.Turn) -> list[tuple[str, str]]:
        """The (question, answer) pairs before ``turn`` that were answered, last three."""
        return [(t.question, t.answer.answer) for t in self.turns[:turn.number - 1]
                if t.answer and not t.answer.refused][-3:]

    def claim(self, step: str) -> render.Turn | None:
        """The oldest question not yet through ``step`` ("searched" or "started"), marked as taken."""
        with self.lock:
            turn = next((t for t in self.turns if not getattr(t, step) and not t.started and t.answer is None),
                        None)
            if turn is not None:
                setattr(turn, step, True)
            return turn

    def __deepcopy__(self, memo):  # Gradio copies a new session's state; each session already has its own
        return self


def enqueue(conv: Conversation, message: str) -> list[dict]:
    """Keep a question the moment it is asked (shown as waiting), before any queue: it is never lost."""
    conv.turns.append(render.Turn(len(conv.turns) + 1, message or "", "…", render.LOOKING))
    return conv.messages()


def start_finding(service: Service, conv: Conversation, k: int | None = None, date_from: str = "",
                  date_to: str = "") -> None:
    """Begin ``find_next`` in a thread at once, so the search runs while the page is still showing the question
    (one request and ~130 ms sooner than waiting for the page's next request)."""
    threading.Thread(target=find_next, args=(service, conv, k, date_from, date_to), daemon=True).start()


def find_next(service: Service, conv: Conversation, k: int | None = None, date_from: str = "",
              date_to: str = "", wait_s: float = 60.0) -> str:
    """Find the evidence of the oldest question not yet searched, outside the queue, and return the sources
    panel showing it: the reader sees it while the model is still busy (or loading). When every question is
    already being searched (``start_finding``), wait up to ``wait_s`` for those searches instead. A question
    that cannot be searched is left to ``answer_next``, which reports why."""
    turn = conv.claim("searched")
    if turn is None:
        for t in [t for t in conv.turns if t.searched]:
            t.found_done.wait(wait_s)
        return conv.sources()
    try:
        found = service.find(turn.question, history=conv.history(turn), k=_k(k),
                             date_range=_date_range(date_from, date_to))
        with conv.lock:
            if turn.answer is None:
                turn.found = found
                if found.evidence:
                    turn.sources = render.evidence_html(found.evidence, service.documents(), turn.number)
    except RagError:
        pass
    finally:
        turn.found_done.set()
    return conv.sources()


def answer_next(service: Service, conv: Conversation, k: int | None = None, date_from: str = "",
                date_to: str = "") -> Iterator[tuple[list, str, str | None]]:
    """Answer the oldest waiting question: yields (chat messages, sources panel HTML, text for the question box:
    None leaves the box as the user has it, a question that failed goes back to be fixed)."""
    turn = conv.claim("started")
    if turn is None:
        return
    if not service.readiness().ready:
        turn.content = render.KEPT  # asked while the page is getting ready: answered once it is
    yield conv.messages(), conv.sources(), None
    raw = ""
    try:
        for item in service.ask_stream(turn.question, history=conv.history(turn), k=_k(k),
                                       date_range=_date_range(date_from, date_to), stop=turn.stop,
                                       found=turn.found):
            if isinstance(item, Found):
                turn.sources = render.evidence_html(item.evidence, service.documents(), turn.number)
            elif isinstance(item, Answer):
                turn.answer = item
                turn.content = render.answer_html(item, turn.number)
                turn.sources = render.sources_html(item, service.documents(), turn.number)
            else:
                raw += item
                turn.content = render.streaming_text(raw)
            yield conv.messages(), conv.sources(), None
    except ModelError as exc:
        turn.content = (f"⚠️ The model is unavailable: {render.esc(str(exc))} "
                        f"The evidence found for the question is under Sources.")
        yield conv.messages(), conv.sources(), None
    except RagError as exc:
        turn.content = f"⚠️ {render.esc(str(exc))}"
        yield conv.messages(), conv.sources(), turn.question


def chat(service: Service, conv: Conversation, message: str, k: int | None = None, date_from: str = "",
         date_to: str = "") -> Iterator[tuple[list, str, str | None]]:
    """Ask and answer one question (``enqueue`` then ``answer_next``), as the page does in two steps."""
    enqueue(conv, message)
    yield from answer_next(service, conv, k, date_from, date_to)


def _k(k) -> int | float | None:
    """The page's and API's k: 0 or empty is the default; anything else is checked by the pipeline."""
    if k in (None, "", 0):
        return None
    return int(k) if isinstance(k, (int, float)) and float(k).is_integer() else k


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
        return service.ask(question, k=_k(k)).to_json()
    except RagError as exc:
        return error_payload(question, exc)


def add_files(service: Service, paths: list[str] | None, progress=None, replace: bool = False) -> str:
    """Add uploaded article files to the collection; bad ones are named, not kept."""
    paths = [p for p in (paths or []) if p]
    if not paths:
        return "Choose one or more article files first (drop them on the upload box, or click it)."
    try:
        return _added_message(service.add_files([Path(p) for p in paths], progress, replace))
    except RagError as exc:
        return f"⚠️ {render.esc(str(exc))}"


def add_files_live(service: Service, paths: list[str] | None, progress=None, replace: bool = False
                   ) -> Iterator[str]:
    """``add_files`` for the page: yields "⏳ Another process is changing this collection ..." while it waits for
    another writer (``rag add`` in a terminal), then the outcome."""
    waiting, result = threading.Event(), []

    def report(stage: str, done: int, total: int) -> None:
        if not total:
            waiting.set()
        if progress:
            progress(stage, done, total)

    ctx = contextvars.copy_context()  # the request's context: its progress bar
    adding = threading.Thread(target=ctx.run, args=(lambda: result.append(add_files(service, paths, report,
                                                                                    replace)),), daemon=True)
    adding.start()
    while adding.is_alive():
        adding.join(0.2)
        if waiting.is_set() and adding.is_alive():
            waiting.clear()
            yield f"⏳ {render.esc(WAITING)}"
    yield result[0] if result else "⚠️ The files could not be added; try again."


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
    lines += [f"ℹ️ {render.esc(n)}" for n in result.notes]
    if result.error:
        lines.append(f"⚠️ {render.esc(result.error)}")
    lines += [f"⚠️ Not added: {render.esc(p)}" for p in result.problems]
    return "\n\n".join(lines)
