"""Question -> retrieval -> prompt -> streamed generation -> checked, cited ``Answer``."""
from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator


from embeddings.embedder import embed_texts, load_embedder
from embeddings.store import IngestReport, LoadedIndex, ingest, load_index
from rag import cite
from rag.errors import QuestionError
from rag.llm import LLM, load_llm
from rag.prompt import build_messages, human_date
from rag.records import Answer, Hit
from rag.retrieve import Retrieval, retrieve
from rag.settings import Settings

_FOLLOW_UP = re.compile(r"\b(he|she|it|they|him|her|his|hers|its|their|them|this|that|these|those|there|then)\b", re.I)


@dataclass
class Engine:
    """The loaded index, embedder and (lazily) LLM for one set of settings. Load once, ask many times."""

    settings: Settings
    index: LoadedIndex
    embedder: object
    _llm: LLM | None = field(default=None, repr=False)
    _rows: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def llm(self) -> LLM:
        if self._llm is None:
            self._llm = load_llm(self.settings)
        return self._llm

    def row(self, chunk_id: str) -> int:
        if not self._rows:
            self._rows = {c.chunk_id: i for i, c in enumerate(self.index.chunks)}
        return self._rows[chunk_id]


def open_engine(settings: Settings, update: bool = True,
                progress: Callable[[str, int, int], None] | None = None) -> tuple[Engine, IngestReport | None]:
    """Index the article folders if needed (``update``), then load index and embedder."""
    report = ingest(settings, progress=progress) if update else None
    return Engine(settings, load_index(settings), load_embedder()), report


def clean_question(question: str, settings: Settings) -> str:
    """Trim, drop control characters, and refuse empty or over-long questions with a message saying what to do."""
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    text = "".join(ch for ch in question if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = " ".join(text.split())
    if not text:
        raise QuestionError("The question is empty. Type a question about the articles, e.g. "
                            "\"What agreements were signed in March?\"")
    if len(text) > settings.max_question_chars:
        raise QuestionError(f"The question is {len(text):,} characters long; the limit is "
                            f"{settings.max_question_chars:,}. Shorten it to the question itself.")
    return text


def retrieval_query(question: str, history: list[tuple[str, str]]) -> str:
    """A follow-up ("What did he say?") is searched together with the previous question; others alone."""
    if history and (_FOLLOW_UP.search(question) or len(question.split()) <= 4):
        return f"{history[-1][0]} {question}"
    return question


def _declined(question: str, reason: str, retrieval: Retrieval, timings: dict, model: str = "",
              sentences: tuple[dict, ...] = ()) -> Answer:
    """A refusal that still shows the closest passages and, when the model wrote one, its checked draft."""
    text = f"The articles do not cover this ({reason})."
    if retrieval.hits:
        text += " The closest passages are listed below."
    return Answer(question, text, True, (), retrieval.hits, sentences, reason, timings, 0, 0, model)


def ask_stream(engine: Engine, question: str, history: list[tuple[str, str]] = (), k: int | None = None,
               mode: str | None = None, date_range: tuple[str | None, str | None] | None = None,
               check_citations: bool | None = None) -> Iterator[str | Answer]:
    """Yield the answer's text pieces as the model writes them, then the final checked ``Answer``.

    Raises ``QuestionError`` for an unusable question and ``ModelError``/``GenerationError`` for model trouble.
    """
    s = engine.settings
    t0 = time.perf_counter()
    question = clean_question(question, s)
    history = list(history or [])
    retrieval = retrieve(question, engine.index, engine.embedder, s, k=k, query=retrieval_query(question, history),
                         mode=mode, date_range=date_range)
    timings = {"retrieve_s": retrieval.seconds}
    if retrieval.decline_reason:
        timings |= {"first_token_s": time.perf_counter() - t0, "total_s": time.perf_counter() - t0}
        yield _declined(question, retrieval.decline_reason, retrieval, timings)
        return

    llm = engine.llm
    hits = list(retrieval.hits)
    messages = build_messages(question, hits, history, s.max_prompt_tokens, llm.count_tokens)
    pieces: list[str] = []
    t_gen = time.perf_counter()
    for piece in llm.stream(messages, s.max_tokens, s.temperature, s.gen_timeout_s):
        if not pieces:
            timings["first_token_s"] = time.perf_counter() - t0
        pieces.append(piece)
        yield piece
    timings["generate_s"] = time.perf_counter() - t_gen
    timings.setdefault("first_token_s", time.perf_counter() - t0)
    usage = dict(llm.last_usage)
    raw = "".join(pieces).strip()

    t_check = time.perf_counter()
    answer = finish(engine, question, raw, retrieval, check_citations if check_citations is not None else s.check_citations)
    timings["check_s"] = time.perf_counter() - t_check
    timings["total_s"] = time.perf_counter() - t0
    if usage.get("timed_out"):
        answer = replace(answer, answer=answer.answer + f" (Stopped: the {s.gen_timeout_s:.0f} s generation limit was reached.)")
    yield replace(answer, timings=timings, prompt_tokens=usage.get("prompt_tokens", 0),
                   completion_tokens=usage.get("completion_tokens", 0), model=llm.name)


def finish(engine: Engine, question: str, raw: str, retrieval: Retrieval, check: bool = True) -> Answer:
    """The model's raw text -> ``Answer``: markers resolved, claims checked, refusals recognised."""
    hits: list[Hit] = list(retrieval.hits)
    sentences = cite.split_answer(raw)
    if not raw or cite.NOT_FOUND.lower() in raw.lower():
        return _declined(question, "the model found no answer in the passages", retrieval, {})
    similarity = _similarity(engine, hits) if check else None
    checked = cite.check_sentences(sentences, hits, similarity, engine.settings.support_threshold, recite=check)
    if not check:  # trust the model's markers, still dropping ones that name no passage
        checked = [cite.CheckedSentence(c.text, c.markers, c.written, c.dropped, True, c.claim, 0.0, False)
                   for c in checked]
    verdicts = tuple({"text": c.text, "markers": list(c.markers), "supported": c.supported, "claim": c.claim,
                      "recited": c.recited, "dropped_markers": list(c.dropped), "support": round(c.support, 3)}
                     for c in checked)
    claims = [c for c in checked if c.claim]
    if not claims or not any(c.supported for c in claims):
        reason = ("the model found no answer in the passages" if not claims or cite.is_refusal(raw)
                  else "no sentence of the draft answer is supported by the passages")
        return _declined(question, reason, retrieval, {}, sentences=verdicts)
    citations = cite.build_citations(checked, hits)
    return Answer(question=question, answer=cite.render_answer(checked), refused=False,
                  citations=tuple(citations), retrieved=retrieval.hits, sentences=verdicts)


def _similarity(engine: Engine, hits: list[Hit]) -> cite.Similarity:
    def sim(sentences: list[str], rows: list[int]) -> list[list[float]]:
        sv = embed_texts(engine.embedder, sentences)
        pv = engine.index.vectors[[engine.row(hits[r].chunk.chunk_id) for r in rows]]
        return (sv @ pv.T).tolist()

    return sim


def ask(engine: Engine, question: str, **kwargs) -> Answer:
    """Like ``ask_stream`` but returns only the final ``Answer``."""
    for item in ask_stream(engine, question, **kwargs):
        if isinstance(item, Answer):
            return item
    raise AssertionError("ask_stream ended without an answer")


def format_answer(answer: Answer) -> str:
    """Plain-text rendering for the terminal: answer, then numbered sources with their quotes."""
    lines = [answer.answer, ""]
    if answer.refused:
        if answer.retrieved:
            lines.append("Closest passages:")
            for i, h in enumerate(answer.retrieved, 1):
                lines.append(f"  [{i}] {h.chunk.title} ({human_date(h.chunk.date)}): {h.chunk.text[:160]}...")
        return "\n".join(lines)
    seen = set()
    for c in answer.citations:
        if (c.marker, c.start) in seen:
            continue
        seen.add((c.marker, c.start))
        flag = "" if c.supported else "  (NOT SUPPORTED by this passage)"
        lines.append(f"[{c.marker}] {c.title} ({human_date(c.date)}) {c.source} chars {c.start}-{c.end}{flag}")
        lines.append(f"    \"{c.quote}\"")
    unsupported = [s["text"] for s in answer.sentences if s["claim"] and not s["supported"]]
    if unsupported:
        lines.append("")
        lines.append("Not supported by any retrieved passage: " + " | ".join(unsupported))
    return "\n".join(lines)
