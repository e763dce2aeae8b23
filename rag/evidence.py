"""Hits -> evidence: the candidate chunks' sentences scored against the question, the best packed into a budget.

Each evidence item is one sentence; a sentence that begins "He", "It", "They", "During that trip" ... brings the
sentence before it along, so the model and the citation check can tell who "he" is, and the two are scored as one:
"He holds talks with Tatarstan President Minnikhanov" names neither the junta chief nor Kazan, the sentence
before it names both.

A sentence's score is ``0.5 * cosine + 0.5 * lexical`` (``0.45 / 0.45 / 0.1`` with dates when the question names
a month or year, ``0.4 / 0.4 / 0.2`` when it asks "When ...?": only a sentence naming a time answers that), where
lexical is the idf-weighted share of the question's words found in the sentence or its article title. Worked
example: "Which warship visited Yangon in October 2021?" against "The Gremyashiy corvette docked in Yangon on 21
October 2021" -> cosine 0.52, lexical 0.71 (yangon, october, 2021 of 5 words), date 1.0: score 0.65.

The best go in until the budget is spent, counted in tokens with each sentence's header; a sentence that another
article already gave word for word (one agency's copy in two outlets) is given once.
"""
from __future__ import annotations

import re
import threading
from dataclasses import replace
from typing import Callable

import numpy as np

from core.dates import DateRef, article_matches, asks_when, event_dates, find_dates, human_date, text_mentions
from core.records import Evidence, Hit
from core.text import sentence_spans, tokenize
from embeddings.store import Index
from embeddings.embedder import embed_texts
from rag.forms import PLANS, Plan

# a reference to something said before ("He", "These", "During that trip"); "But" or "Also" alone is not one
_NEEDS_CONTEXT = re.compile(r"^[\"“'‘(]?((he|she|it|they|his|her|its|their|this|these|those|such|both)\b|"
                            r"(during|after|before|at|on|in|from|since|by)\s+(that|this|these|those|the same)\b)", re.I)
_MIN_WORDS = 4  # "MyanmarNews", a byline or a photo credit is no evidence
TIMELINE_ARTICLES = 6  # a timeline reads every dated sentence of the articles of its best passages, up to six
WARM_PASSAGES = 500  # ~700 sentences, ~9 s of both cores once per load; the seeds: see ``warm``


def candidates(hits: tuple[Hit, ...], index: Index) -> list[tuple[Hit, int, int]]:
    """Every sentence of the hit chunks once, as (hit, start, end) in article offsets, best hit first."""
    seen, out = set(), []
    for h in hits:
        for s, e in _usable_sentences(h.chunk, index):
            if (h.chunk.source, s, e) not in seen:
                seen.add((h.chunk.source, s, e))
                out.append((h, s, e))
    return out


def _usable_sentences(chunk, index: Index) -> list[tuple[int, int]]:
    """The sentences of ``chunk`` long enough to be evidence, as article offsets, each with the sentence before
    it when it needs one ("He holds talks with ..."): scored, embedded and shown as one unit."""
    text = index.documents[chunk.source].text
    return [(_with_context(text, s, e), e) for s, e in index.sentences(chunk)
            if len(text[s:e].split()) >= _MIN_WORDS]


def _vectors(index: Index, embedder, spans: list[tuple[str, int, int]]) -> np.ndarray:
    """The sentences' vectors through the index's cache. Batches of 8, each padded to its own longest: 17
    sentences of 14-60 tokens take 154 ms, one batch padded to 60 tokens 226 ms."""
    return index.sentence_vectors(spans, lambda batch: embed_texts(embedder, batch, batch_size=8))


def warm(index: Index, embedder, stop: threading.Event, max_passages: int = WARM_PASSAGES) -> int:
    """Embed every sentence of a collection of up to ``max_passages`` passages, 16 at a time, until ``stop``;
    afterwards a question's evidence needs no embedding (the seeds: 100 passages, 141 sentences, 1.8 s after
    start; a question's `find` p50 184 -> 30 ms). A question asked meanwhile waits at most one batch (~0.1 s).
    Returns the number of sentences embedded (0 for a larger collection)."""
    chunks = index.chunks
    if len(chunks) > max_passages:
        return 0
    spans = [(c.source, s, e) for c in chunks for s, e in _usable_sentences(c, index)]
    spans = list(dict.fromkeys(spans))  # passages overlap: a sentence in two of them is embedded once
    for i in range(0, len(spans), 16):
        if stop.wait(0.005):  # the pause lets a waiting question take the embedder first
            return i
        _vectors(index, embedder, spans[i:i + 16])
    return len(spans)


def score(question: str, query_vector: np.ndarray, cands: list[tuple[Hit, int, int]], index: Index,
          embedder, dates: tuple[DateRef, ...]) -> list[float]:
    """One score per candidate sentence (see the module docstring)."""
    if not cands:
        return []
    texts = [index.documents[h.chunk.source].text[s:e] for h, s, e in cands]
    spans = [(h.chunk.source, s, e) for h, s, e in cands]
    cos = _vectors(index, embedder, spans) @ query_vector
    q = list(dict.fromkeys(tokenize(question)))
    weights = {w: index.lexical.idf(w) for w in q}
    total = sum(weights.values()) or 1.0
    when = asks_when(question)
    w_date = 0.2 if when else 0.1 if dates else 0.0
    out = []
    for (h, s, e), text, c in zip(cands, texts, cos):
        have = set(tokenize(text)) | set(tokenize(h.chunk.title))
        lex = sum(wt for w, wt in weights.items() if w in have) / total
        fit = _date_fit(text, h.chunk.date, dates, when) if w_date else 0.0
        out.append((1 - w_date) / 2 * (float(c) + lex) + w_date * fit)
    return out


def _date_fit(text: str, article_date: str | None, dates: tuple[DateRef, ...], when: bool) -> float:
    """1 for a sentence naming the question's month/year, 0.5 when only its article's date matches. To a "When
    ...?" question only a sentence naming a time can answer: 1 for one naming a date finer than the question's
    ("September 2022" to "When ... in 2022?"; any date when it gives none), else half the above."""
    fit = max((1.0 if text_mentions(text, d) else 0.5 if article_matches(article_date, d) else 0.0 for d in dates),
              default=0.0)
    if not when:
        return fit
    years = {d.year for d in dates if d.year}
    told = [d for d in find_dates(text) if d.year is None or not years or d.year in years]
    return 1.0 if any(d.month or not dates for d in told) else fit / 2


def select(question: str, query_vector: np.ndarray, hits: tuple[Hit, ...], index: Index, embedder,
           dates: tuple[DateRef, ...], budget_tokens: int, count: Callable[[str], int],
           plan: Plan = PLANS["fact"]) -> tuple[Evidence, ...]:
    """The best sentences within ``budget_tokens``, grouped by article (best article first), best first. A
    sentence another article already gave word for word (the same agency copy in two outlets) is taken once.
    The ``plan`` of the question's form may take one article's sentences in its order (a summary), cap the
    sentences of one article (a topic across articles), keep dated sentences only (a timeline) or order by date."""
    if plan.dated:  # every dated sentence of the articles the best passages come from
        seen = list(dict.fromkeys(h.chunk.source for h in hits))[:TIMELINE_ARTICLES]
        fine = [(c, _specific_at(index.documents[src].text, c[1], c[2], c[0].chunk.date)) for src in seen
                for c in _whole(next(h for h in hits if h.chunk.source == src), index)]
        cands, weights = [c for c, f in fine if f], [f for _, f in fine if f]
    else:
        cands = article_candidates(question, hits, index) if plan.one_article else candidates(hits, index)
    scores = score(question, query_vector, cands, index, embedder, dates)
    if plan.dated:  # an event on a day before one in a month, before one in a year
        scores = [sc * f for sc, f in zip(scores, weights)]
    if plan.one_article:  # a summary leads with the article's lead: 0.6 x relevance + 0.4 x early in the article
        scores = [0.6 * sc + 0.4 * (1 - i / max(1, len(cands))) for i, sc in enumerate(scores)]
    picked = _pack(cands, scores, index, budget_tokens, count, plan.per_article)
    if plan.one_article:
        return tuple(sorted(picked, key=lambda ev: ev.start))
    if plan.dated:
        return tuple(sorted(picked, key=lambda ev: (_first_date(ev), ev.source, ev.start)))
    if plan.by_date:
        return tuple(sorted(picked, key=lambda ev: (ev.date or "", ev.source, -ev.score)))
    return _grouped(picked)


def _pack(cands: list[tuple[Hit, int, int]], scores: list[float], index: Index, budget_tokens: int,
          count: Callable[[str], int], per_article: int = 0) -> list[Evidence]:
    """Best first until the budget is spent; no overlaps, no sentence twice, at most ``per_article`` (0: any)
    sentences of one article."""
    picked: list[Evidence] = []
    said: list[str] = []
    used = 0
    for (h, s, e), sc in sorted(zip(cands, scores), key=lambda x: -x[1]):
        text = index.documents[h.chunk.source].text
        if any(ev.source == h.chunk.source and ev.start < e and s < ev.end for ev in picked):
            continue  # overlaps a sentence already taken (its neighbour, joined for context)
        if per_article and sum(ev.source == h.chunk.source for ev in picked) >= per_article:
            continue
        words = _joined(text[s:e])
        if any(words in other for other in said):
            continue
        when = line_date(text, s, e, h.chunk.date)
        cost = count(text[s:e]) + count(header(h.chunk.title, h.chunk.date, 0, text[s:e], when))
        if picked and used + cost > budget_tokens:
            continue
        picked.append(Evidence(h.chunk.source, h.chunk.title, h.chunk.date, s, e, text[s:e], h.chunk.chunk_id, sc,
                               when))
        said.append(words)
        used += cost
    return picked


def _specific(text: str, date: str | None) -> float:
    """How finely the sentence dates an event: 1 for a day ("June 20"), 0.8 a month, 0.55 a year, 0 none (a
    "since February 2021" is a point of reference, no event)."""
    return max(({10: 1.0, 7: 0.8}.get(len(d.iso), 0.55) for d in event_dates(text, date) if not d.since), default=0.0)


def _specific_at(text: str, s: int, e: int, date: str | None) -> float:
    """``_specific`` of ``text[s:e]``, or of the date its line opens with ("May 20-22: ... His trip is part of a
    goodwill visit" -> 2021-05-20, a day: 1)."""
    own = _specific(text[s:e], date)
    when = line_date(text, s, e, date) if not own else None
    return own or ({10: 1.0, 7: 0.8}.get(len(when), 0.55) if when else 0.0)


def _first_date(ev: Evidence) -> str:
    found = [d for d in event_dates(ev.text, ev.date) if not d.since]
    return found[0].iso if found else (ev.when or ev.date or "")


_ASKING = frozenset("summarize summarise summary article report reporting story piece coverage give tell main point "
                    "overview gist announcing describing".split())


def article_candidates(question: str, hits: tuple[Hit, ...], index: Index) -> list[tuple[Hit, int, int]]:
    """Every usable sentence of the one article the question describes, in its order: of the articles retrieved,
    the one whose title holds most of the question's words (idf-weighted), plus 1 / the rank of its best passage.
    "Summarize the article announcing Min Aung Hlaing's trip to Russia at Putin's invitation" -> "Myanmar junta
    chief travels to Russia at Putin's invitation" (title 0.6 + 0.3 / rank 2) over the parade article (0.2 + 0.3 / 1)."""
    if not hits:
        return []
    weights = {w[:5]: index.lexical.idf(w) for w in dict.fromkeys(tokenize(question)) if w not in _ASKING}
    total = sum(weights.values()) or 1.0
    best: dict[str, tuple[float, Hit]] = {}
    for rank, h in enumerate(hits, 1):
        if h.chunk.source not in best:
            title = {w[:5] for w in tokenize(h.chunk.title)}  # "arrival" and "arrives" agree on "arriv"
            best[h.chunk.source] = (sum(wt for w, wt in weights.items() if w in title) / total + 0.3 / rank, h)
    return _whole(max(best.values(), key=lambda x: x[0])[1], index)


def _whole(hit: Hit, index: Index) -> list[tuple[Hit, int, int]]:
    """Every usable sentence of the hit's article, in its order, as candidates of that hit."""
    doc = index.documents[hit.chunk.source]
    chunk = replace(hit.chunk, start=0, end=len(doc.text), text=doc.text)
    return [(replace(hit, chunk=chunk), _with_context(doc.text, s, e), e) for s, e in sentence_spans(doc.text)
            if len(doc.text[s:e].split()) >= _MIN_WORDS]


def header(title: str, date: str | None, n: int = 0, text: str = "", when: str | None = None) -> str:
    """What the prompt writes above evidence sentence ``n``: '[2] From "Title" (March 2025):', or without a title
    the sentence already contains (a snippet titled with its own opening words): '[2] From an article (March
    2025):'; a sentence under a dated line adds its date: '... (March 2019), under 15 January 2019:'. Every
    sentence keeps its own header: under '[3] From the same article:' Qwen2.5-1.5B answered a count with a
    passage number ("3 [2]") where the full header gave the count."""
    under = f", under {human_date(when)}" if when else ""
    if _repeats(title, text):
        return f"[{n}] From an article ({human_date(date)}){under}:\n"
    return f'[{n}] From "{title}" ({human_date(date)}){under}:\n'


_LINE_LEAD = re.compile(r"[ \t]*([^\n]{4,40}?)[ \t]*(?:\s[-–—]|:)\s")  # "January 15, 2019 - " / "May 20-22: "


def line_date(text: str, s: int, e: int, article_date: str | None) -> str | None:
    """The date that opens the line of ``text[s:e]`` (ISO, resolved against the article's date), when the sentence
    names no date itself: in "January 15, 2019 - . Corbyn calls ... May's Brexit deal is defeated 432 votes to 202."
    the second sentence -> "2019-01-15"; a line without a date at its start -> None."""
    if any(not d.since for d in event_dates(text[s:e], article_date)):  # "the worst defeat since 1924" is no date
        return None
    start = text.rfind("\n", 0, s) + 1
    lead = _LINE_LEAD.match(text, start, s)
    if not lead or len(lead.group(1).split()) > 6 or not _DATE_FIRST.match(lead.group(1)):
        return None  # "By 2030 -", "In January, the minister said:", "YANGON, Dec 31 (Reuters) -" open no dated entry
    dates = [d for d in event_dates(lead.group(1), article_date) if not d.since]
    return dates[0].iso if dates else None


_DATE_FIRST = re.compile(r"(?:\d{1,4}\b|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d)", re.I)


def _repeats(title: str, text: str) -> bool:
    """"Beijing was elected as the host city …" repeats "Beijing was elected as the host city for ..."."""
    words = _joined(title.rstrip(" .…"))
    return words != "  " and words in _joined(text)


def _joined(text: str) -> str:
    """The text's words between spaces, so one is found in another whole: " beijing elected host city "."""
    return f' {" ".join(tokenize(text))} '


_DATE_LEAD = re.compile(r"(?:^|\n)([^\n]{4,40}?)[ \t]*$")  # "January 15, 2019 - ." before "May's deal is defeated"


def _with_context(text: str, s: int, e: int) -> int:
    """The start of the sentence before ``s`` when the sentence needs it ("He said ..."), or of the date that
    opens its line ("January 15, 2019 - . May's Brexit deal is defeated"), else ``s``."""
    lead = _DATE_LEAD.search(text, max(0, s - 40), s)
    if lead and find_dates(lead.group(1)) and len(lead.group(1).split()) <= 6:
        return lead.start(1)
    if not _NEEDS_CONTEXT.match(text[s:e]):
        return s
    before = sentence_spans(text, max(0, s - 400), s)
    return before[-1][0] if before and "\n\n" not in text[before[-1][1]:s] else s


def _grouped(picked: list[Evidence]) -> tuple[Evidence, ...]:
    best: dict[str, float] = {}
    for ev in picked:
        best[ev.source] = max(best.get(ev.source, -1.0), ev.score)
    return tuple(sorted(picked, key=lambda ev: (-best[ev.source], ev.source, -ev.score)))
