"""HTML for answers and sources. Every piece of article or model text goes through ``html.escape``."""
from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass, field

from core.dates import human_date
from core.records import Answer, Citation, Document, Evidence

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")
_MD_LINE_START = re.compile(r"^(\s*)(\d+)([.)])|^(\s*)([-=>])", re.M)


def esc(text: str) -> str:
    """Escape for HTML and for the chat's markdown: "[x](http://e)", "<script>" and "1. item" show as typed."""
    out = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    return _MD_LINE_START.sub(lambda m: f"{m.group(1)}{m.group(2)}\\{m.group(3)}" if m.group(2)
                              else f"{m.group(4)}\\{m.group(5)}", out)


def streaming_text(raw: str) -> str:
    """The answer while it is being written (markers shown as typed, nothing interpreted)."""
    return esc(raw) + " ▌"


def _marker_link(turn: int, marker: int, quote: str) -> str:
    return (f'<a class="cite" href="#src-{turn}-{marker}" title="{html.escape(quote, quote=True)}">'
            f'[{marker}]</a>')


def answer_html(answer: Answer, turn: int) -> str:
    """The final answer for the chat: sentences with clickable markers; unsupported ones flagged; a decline in
    plain words with its figures folded away; a stopped answer labelled, keeping what was written."""
    if answer.refused:
        why = (f'<details class="why"><summary>Details</summary>{html.escape(answer.detail)}</details>'
               if answer.detail else "")
        return f"**{esc(answer.reason)}** The closest passages are under Sources.{why}"
    quotes = {(c.sentence, c.marker): c.quote for c in answer.citations}
    parts, left = [], []
    for s in answer.sentences:
        if s.claim and not s.supported:  # left out, as in the answer's text; its verdict under Details
            left.append(f"{esc(s.text)} ({html.escape(s.reason)})")
            continue
        if answer.stopped and not s.claim:
            continue
        links = "".join(_marker_link(turn, m, quotes.get((s.text, m), "")) for m in s.markers)
        parts.append(f"{esc(s.text)} {links}".strip())
    if answer.form == "timeline":
        parts = ["\n".join(f"- {p}" for p in parts) + "\n"]
    if answer.stopped:
        if answer.unfinished:
            parts.append(f'<span class="unfinished">{esc(answer.unfinished)}…</span>')
        parts.append('<span class="stopped">Stopped</span>' if parts else
                     '<span class="stopped">Stopped</span> before any answer was written; its evidence is under Sources.')
    if left and not answer.stopped:
        parts.append(f'<details class="why"><summary>Left out: {len(left)} sentence(s) of the draft no passage '
                     f'states</summary>{"<br>".join(left)}</details>')
    return " ".join(parts)


def _highlight(doc_text: str, start: int, end: int, window: int = 600) -> str:
    """The quote inside its article with some context on either side, the quote in <mark>."""
    a = max(0, start - window)
    b = min(len(doc_text), end + window)
    before = ("…" if a > 0 else "") + doc_text[a:start]
    after = doc_text[end:b] + ("…" if b < len(doc_text) else "")
    return f"{html.escape(before)}<mark>{html.escape(doc_text[start:end])}</mark>{html.escape(after)}"


def _entry(turn: int, n: int, title: str, date: str | None, body: str, meta: str = "", badge: str = "",
           open_: bool = True) -> str:
    """One expandable source entry; ``body`` and ``badge`` are HTML already, the rest is escaped here."""
    meta_html = f'<p class="meta">{html.escape(meta)}</p>' if meta else ""
    return (f'<details class="source" id="src-{turn}-{n}"{" open" if open_ else ""}><summary>[{n}] {html.escape(title)} '
            f'<span class="date">({html.escape(human_date(date))})</span>{badge}</summary>{meta_html}'
            f'<p class="passage">{body}</p></details>')


LOOKING = '<p class="evidence-note">Looking for evidence…</p>'
EVIDENCE_NOTE = "<b>Evidence</b> given to the model; the answer is being written."
STOPPED_NOTE = "<b>Evidence</b> given to the model before it was stopped:"
CLOSEST_NOTE = "<b>Closest sentences</b> (none of them answers the question):"


def evidence_html(evidence: tuple[Evidence, ...], documents: dict[str, Document], turn: int,
                  note: str = EVIDENCE_NOTE, open_: bool = True) -> str:
    """The sentences given to the model, [1]..[n], each highlighted in its article: shown before the answer."""
    if not evidence:
        return '<div class="sources-empty">No evidence was found for this question.</div>'
    items = [f'<p class="evidence-note">{note}</p>']
    for n, ev in enumerate(evidence, 1):
        doc = documents.get(ev.source)
        body = _highlight(doc.text, ev.start, ev.end) if doc else f"<mark>{html.escape(ev.text)}</mark>"
        items.append(_entry(turn, n, ev.title, ev.date, body, f"{ev.source} · characters {ev.start}–{ev.end}",
                            open_=open_))
    return "\n".join(items)


def sources_html(answer: Answer | None, documents: dict[str, Document], turn: int) -> str:
    """The panel beside the chat: one expandable entry per cited sentence (or the closest passages)."""
    if answer is None:
        return "<div class='sources-empty'>Each answer's sources appear here.</div>"
    if answer.refused or not answer.citations:
        if answer.evidence:
            stopped = answer.stopped
            return evidence_html(answer.evidence, documents, turn, STOPPED_NOTE if stopped else CLOSEST_NOTE,
                                 open_=stopped)
        items = ["<p><b>Closest passages</b> (none of them answers the question):</p>"]
        items += [_entry(turn, i, h.chunk.title, h.chunk.date, html.escape(h.chunk.text), open_=False)
                  for i, h in enumerate(answer.retrieved, 1)]
        return "\n".join(items)
    seen: dict[int, list[Citation]] = {}
    for c in answer.citations:
        seen.setdefault(c.marker, []).append(c)
    items = []
    for marker, cites in sorted(seen.items()):
        c = cites[0]
        doc = documents.get(c.source)
        badge = "" if all(x.supported for x in cites) else ' <span class="unsupported">⚠️ does not support the sentence</span>'
        body = _highlight(doc.text, c.start, c.end) if doc else f"<mark>{html.escape(c.quote)}</mark>"
        items.append(_entry(turn, marker, c.title, c.date, body, f"{c.source} · characters {c.start}–{c.end}", badge))
    return "\n".join(items)


@dataclass
class Turn:
    """One question of a conversation as the page shows it: the answer's HTML and its own sources."""

    number: int
    question: str
    content: str
    sources: str
    answer: Answer | None = None
    started: bool = False  # its answer is being written (or was)
    searched: bool = False  # its evidence is being found (or was), outside the queue
    found: object = None  # rag.service.Found, once searched
    found_done: threading.Event = field(default_factory=threading.Event)  # its search has ended (found or not)
    stop: threading.Event = field(default_factory=threading.Event)  # Stop pressed while it was not yet answered


def turns_sources_html(turns: list[Turn]) -> str:
    """Every answer's sources, newest first, each under its question; older ones folded until a marker opens them."""
    if not turns:
        return sources_html(None, {}, 0)
    groups = []
    for i, t in enumerate(reversed(turns)):
        q = t.question if len(t.question) <= 80 else t.question[:80] + "…"
        groups.append(f'<details class="turn" id="turn-{t.number}"{" open" if i == 0 else ""}>'
                      f'<summary>Answer {t.number}: {html.escape(q)}</summary>{t.sources}</details>')
    return "\n".join(groups)


def collection_line(documents: dict[str, Document]) -> str:
    """"5 articles, October 2021 – May 2025"."""
    dates = sorted(d.date for d in documents.values() if d.date)
    span = f", {human_date(dates[0])} – {human_date(dates[-1])}" if dates else ""
    n = len(documents)
    return f"{n} article{'s' if n != 1 else ''}{span}"


KEPT = "⏳ Kept: it is answered as soon as the model has loaded (see the note at the top)."


def readiness_html(stage: str, done: int, total: int, articles: int | None, error: str, model: str) -> str:
    """The note at the top while the page gets ready: a progress bar while indexing, then the model loading;
    empty once ready. Questions asked meanwhile are kept and answered (``KEPT``)."""
    if stage == "ready":
        return ""
    if stage == "failed":
        return f'<div id="readiness" class="failed">⚠️ {html.escape(error)}</div>'
    if stage == "indexing" and total:
        bar = f'<progress value="{done}" max="{total}"></progress>'
        what = f"Indexing the articles: {done:,} of {total:,} passages embedded."
    else:
        bar = "<progress></progress>"  # no measure of how far: a moving bar
        what = {"loading the language model": f"Loading the language model ({html.escape(model)}).",
                "loading the search model": "Loading the search model.",
                }.get(stage, "Checking the index of the articles.")
    shown = f"The collection is loaded ({articles} articles). " if articles is not None else ""
    return (f'<div id="readiness" data-stage="{html.escape(stage)}">{bar} ⏳ Getting ready: {shown}{what} '
            f"Questions you ask now are kept and answered once it is ready.</div>")


CSS = """
#readiness { padding: 6px 10px; border: 1px solid #f5b400; border-radius: 6px; background: #fffbea; }
#readiness.failed { border-color: #b91c1c; background: #fef2f2; }
#readiness progress { vertical-align: middle; width: 12em; }
.source summary { cursor: pointer; font-weight: 600; }
.source .date, .source .meta { color: #666; font-weight: normal; font-size: 0.9em; }
.source mark { background: #ffe58a; padding: 0 2px; }
.source .passage { white-space: pre-wrap; }
.unsupported { color: #b45309; font-weight: normal; }
a.cite { text-decoration: none; font-size: 0.85em; vertical-align: super; }
.turn > summary { cursor: pointer; color: #444; margin: 4px 0; }
.stopped { color: #666; font-size: 0.9em; border: 1px solid #bbb; border-radius: 4px; padding: 0 4px; }
.unfinished { color: #666; }
.source.flash { outline: 2px solid #f5b400; }
#counter-text { text-align: right; color: #666; font-size: 0.85em; }
#counter-text.over { color: #b91c1c; font-weight: 600; }
"""

# Markers open their source even in an older answer or a folded entry; the counter under the question box.
HEAD = """<script>
document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a.cite');
  if (!a) return;
  const el = document.getElementById((a.getAttribute('href') || '').slice(1));
  if (!el) return;
  e.preventDefault();
  for (let p = el; p; p = p.parentElement) if (p.tagName === 'DETAILS') p.open = true;
  el.scrollIntoView({block: 'center'});
  el.classList.add('flash'); setTimeout(() => el.classList.remove('flash'), 1500);
});
setInterval(() => {  // also after the server empties the box, which fires no input event
  const box = document.querySelector('#question textarea');
  const counter = document.querySelector('#counter-text');
  if (!box || !counter) return;
  const n = box.value.length, limit = +counter.dataset.limit;
  const text = n.toLocaleString('en') + ' / ' + limit.toLocaleString('en') + ' characters' +
    (n > limit ? ': too long, shorten it to the question itself' : '');
  if (counter.textContent !== text) counter.textContent = text;
  counter.classList.toggle('over', n > limit);
}, 250);
</script>"""


def counter_html(limit: int) -> str:
    """The character counter under the question box (updated in the browser by ``HEAD``)."""
    return f'<div id="counter-text" data-limit="{limit}">0 / {limit:,} characters</div>'
