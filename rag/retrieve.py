"""Hybrid retrieval: dense (FAISS) and lexical (BM25) rankings fused by reciprocal rank.

Also decides, before any LLM call, whether anything relevant was found at all.
"""
from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass

import numpy as np

from core.dates import DateRef, article_matches, find_dates, text_mentions
from core.records import Hit
from core.settings import Settings
from core.text import capitalised, tokenize
from embeddings.embedder import embed_query
from embeddings.store import Index
from embeddings.lexical import BM25

RRF_K = 60  # score = sum over rankings of 1 / (60 + rank)
_QUESTION_WORDS = frozenset("what which who whom whose when where why how did does do is are was were can could "
                            "would should will has have had tell list name give i in on at of the a an and or "
                            "for to by with from about".split())


@dataclass(frozen=True)
class Retrieval:
    """The hits for a question, best first, and why to decline before the LLM (None: go on), in plain words
    for the reader and with the figures behind it for experts (``decline_detail``)."""

    hits: tuple[Hit, ...]
    best_dense: float
    dates: tuple[DateRef, ...]
    decline_reason: str | None
    seconds: float
    query_vector: np.ndarray | None = None
    decline_detail: str = ""


def unknown_names(question: str, bm25: BM25) -> list[str]:
    """Capitalised names in the question that no article contains, nor a word it is a slip of: "sign with India"
    -> ["India"]; "Xenoblade Definite Edition" -> [] where an article has "definitive"."""
    out = []
    for start, word in capitalised(question):
        if start == 0 or word.lower() in _QUESTION_WORDS:
            continue
        norm = tokenize(word.replace("-", " "))
        if norm and not any(bm25.knows(t) or bm25.misspelt(t) for t in norm):
            out.append(word)
    return out


def _rrf(rankings: list[list[int]]) -> dict[int, float]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, 1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (RRF_K + rank)
    return scores


def retrieve(question: str, index: Index, embedder, settings: Settings, k: int | None = None,
             query: str | None = None, mode: str | None = None,
             date_range: tuple[str | None, str | None] | None = None) -> Retrieval:
    """Top-``k`` chunks for ``query`` (default: the question), best first.

    ``mode`` is dense, lexical or hybrid; a month or year named in the question adds a third ranking of the
    passages whose article date or text matches it. ``date_range`` ("2025-01", "2025-06") filters by article date.
    """
    t0 = time.perf_counter()
    k = k or settings.top_k
    mode = mode or settings.retrieval_mode
    query = query or question
    n = len(index.chunks)
    pool = min(n, max(30, 6 * k))
    dated_range = date_range if date_range and any(date_range) else None

    qv = embed_query(embedder, query)
    # dense search runs in every mode: its best score drives the relevance gate
    dense_rank = index.dense_search(qv, pool, dated_range)
    # lexical search also runs in every mode: a rare word it matches ("Michaels") counts as relevance
    bm25 = index.lexical
    lex_rank = index.lexical_search(query, pool, dated_range)

    dates = tuple(find_dates(question))
    rankings = []
    if mode in ("dense", "hybrid"):
        rankings.append(dense_rank)
    if mode in ("lexical", "hybrid"):
        rankings.append(lex_rank)
    if dates and mode == "hybrid":
        candidates = list(dict.fromkeys(dense_rank + lex_rank))
        dated = [i for i in candidates if any(article_matches(index.chunks[i].date, d)
                                              or text_mentions(index.chunks[i].text, d) for d in dates)]
        rankings.append(dated)
    fused = _rrf(rankings)
    order = sorted(fused, key=lambda r: -fused[r])[:k]
    dense_scores = index.vectors_of(order) @ qv if order else np.zeros(0)
    d_pos = {r: i + 1 for i, r in enumerate(dense_rank)}
    l_pos = {r: i + 1 for i, r in enumerate(lex_rank)}
    hits = tuple(Hit(index.chunks[r], fused[r], float(s), d_pos.get(r), l_pos.get(r), r)
                 for r, s in zip(order, dense_scores))
    best = float(index.vectors_of(dense_rank[:1])[0] @ qv) if dense_rank else 0.0

    reason, detail = _decline_reason(question, hits, best, bool(lex_rank), dated_range is not None, bm25, settings)
    return Retrieval(hits, best, dates, reason, time.perf_counter() - t0, qv, detail)


FAR = "Nothing in the articles is close to this question; try other words."


def _decline_reason(question: str, hits: tuple[Hit, ...], best: float, lexical_match: bool, filtered: bool,
                    bm25: BM25, settings: Settings) -> tuple[str | None, str]:
    """Why nothing retrieved can answer: another language, no hit, nothing close and no shared word, or a name
    no article has. (plain sentence or None, the figures behind it)."""
    script = foreign_script(question)
    if script:
        return (f"The question is written in {script} script, but the articles and the search model are English: "
                f"ask in English.", f"most letters of the question are {script}")
    if not hits:
        if filtered:
            return "No article in the chosen dates matches the question; widen the dates or clear them.", ""
        return "No passage matches the question.", ""
    if best < settings.min_relevance and not lexical_match:
        return FAR, f"best similarity {best:.2f} < {settings.min_relevance}, no shared words"
    if best < settings.min_relevance / 2:
        return FAR, f"best similarity {best:.2f} < {settings.min_relevance / 2}"
    missing = unknown_names(question, bm25)
    if missing:
        return f"The articles don't mention {_and(missing)}.", f"in no article: {', '.join(missing)}"
    return None, ""


def foreign_script(text: str) -> str | None:
    """The script of a question most of whose letters are not Latin: "ရုရှား..." -> "Myanmar"; else None."""
    letters = [ch for ch in text if ch.isalpha()]
    other = [ch for ch in letters if not unicodedata.name(ch, "LATIN").startswith("LATIN")]
    if not letters or len(other) * 2 <= len(letters):
        return None
    name = unicodedata.name(other[0], "")
    return name.split()[0].title() if name else "another"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
