"""Typed records passed between stages (files -> chunks -> hits -> answer), each with its JSON shape."""
from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Document:
    """One article as read from disk. ``text`` is the decoded file, offsets index into it."""

    source: str  # file name without extension: "000_33c356039679306b"
    path: str
    text: str
    sha256: str
    title: str
    date: str | None = None  # "2025-03" or "2025-05-09"
    precision: str | None = None  # "day" | "month" | "year"
    date_origin: str | None = None  # "catalog" | "html metadata" | "pdf metadata" | "dateline" | "user"
    author: str | None = None
    original: str | None = None  # the file it was converted from (a saved page, a PDF), kept beside the text
    added: str | None = None  # when it was added to the collection, "2026-11-23T14:05:00"
    size: int | None = None  # of the file when read, with its modification time: unchanged, it is not read again
    mtime_ns: int | None = None


@dataclass(frozen=True)
class Chunk:
    """A passage of one article: ``document.text[start:end] == text``."""

    chunk_id: str  # "000_33c356039679306b#3"
    source: str
    start: int
    end: int
    text: str
    title: str = ""
    date: str | None = None


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk (row ``row`` of the index) with its fused score and per-retriever ranks (1-based)."""

    chunk: Chunk
    score: float
    dense_score: float = 0.0
    dense_rank: int | None = None
    lexical_rank: int | None = None
    row: int = -1

    def to_json(self) -> dict:
        """The JSON object of this record (as in ``retrieved`` of an answer)."""
        return {"source": self.chunk.source, "chunk_id": self.chunk.chunk_id, "score": round(self.score, 5),
                "dense_score": round(self.dense_score, 4)}


@dataclass(frozen=True)
class Evidence:
    """A sentence of an article chosen for the prompt (with the sentence before it when it needs it to make
    sense): ``document.text[start:end] == text``. The model cites it as ``[n]``, n its place in the prompt."""

    source: str
    title: str
    date: str | None
    start: int
    end: int
    text: str
    chunk_id: str
    score: float
    when: str | None = None  # the date its line opens with, where it names none: "January 15, 2019 - ... It was"

    def to_json(self) -> dict:
        return {"source": self.source, "title": self.title, "date": self.date, "chunk_id": self.chunk_id,
                "start": self.start, "end": self.end, "text": self.text, "score": round(self.score, 4),
                **({"when": self.when} if self.when else {})}


@dataclass(frozen=True)
class Citation:
    """A marker in the answer resolved to the passage it names."""

    marker: int
    source: str
    title: str
    date: str | None
    chunk_id: str
    start: int  # character span of the quote inside the source file
    end: int
    quote: str
    supported: bool
    sentence: str = ""
    support: float = 0.0

    def to_json(self) -> dict:
        """The JSON object of this record (as in ``citations`` of an answer)."""
        return {"marker": self.marker, "source": self.source, "title": self.title, "date": self.date,
                "chunk_id": self.chunk_id, "start": self.start, "end": self.end, "quote": self.quote,
                "supported": self.supported, "support": round(self.support, 3)}


@dataclass(frozen=True)
class SentenceVerdict:
    """One sentence of the answer (or of a withheld draft) and what the citation check said of it."""

    text: str
    markers: tuple[int, ...]  # final markers, 1-based into the retrieved passages
    supported: bool
    claim: bool  # False for "Yes." or a refusal: nothing to cite
    recited: bool = False  # the model's marker was replaced by the evidence that supports the sentence
    dropped_markers: tuple[int, ...] = ()  # written markers naming no evidence
    support: float = 0.0
    evidence: str = ""  # the evidence sentence judged against
    reason: str = ""  # why it is (not) supported: "number 12 not in evidence"

    def to_json(self) -> dict:
        """The JSON object of this record (as in ``sentences`` of an answer)."""
        return {"text": self.text, "markers": list(self.markers), "supported": self.supported, "claim": self.claim,
                "recited": self.recited, "dropped_markers": list(self.dropped_markers),
                "support": round(self.support, 3), "evidence": self.evidence, "reason": self.reason}


@dataclass(frozen=True)
class Timings:
    """Seconds spent per stage; a stage that did not run stays None and is left out of the JSON."""

    retrieve_s: float | None = None
    first_token_s: float | None = None
    generate_s: float | None = None
    check_s: float | None = None
    total_s: float | None = None

    def to_json(self) -> dict:
        """{stage: seconds rounded to 0.1 ms} for the stages that ran."""
        return {f.name: round(getattr(self, f.name), 4) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class TimelineItem:
    """One entry of a timeline answer: an evidence sentence (marker ``marker``) and the date it gives, resolved
    against its article's date ("June 20" in an article of 2021 -> "2021-06-20")."""

    date: str  # ISO: "2021-06-20", "2021-06" or "2021"
    label: str  # "20 June 2021"
    marker: int
    source: str
    text: str
    year_from_article: bool = False

    def to_json(self) -> dict:
        return {"date": self.date, "label": self.label, "marker": self.marker, "source": self.source,
                "text": self.text, "year_from_article": self.year_from_article}


@dataclass(frozen=True)
class Answer:
    """The final cited answer; ``to_json()`` is the object the CLI's ``--json`` and the page's API return."""

    question: str
    answer: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    retrieved: tuple[Hit, ...] = ()
    sentences: tuple[SentenceVerdict, ...] = ()
    evidence: tuple[Evidence, ...] = ()  # what the model was given, [1]..[n]
    reason: str = ""
    timings: Timings = Timings()
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""
    draft: str = ""  # the model's text before the check
    evaluated_tokens: int = 0  # prompt tokens processed for this answer (the rest came from llama.cpp's cache)
    prompt_rate: float | None = None  # llama.cpp's measured prompt processing, tokens/s
    generation_rate: float | None = None  # and generation, tokens/s
    stopped: bool = False  # the user stopped the generation; ``answer`` holds what was written by then
    unfinished: str = ""  # the sentence being written when it stopped, unchecked
    detail: str = ""  # why it was declined, with the figures, for experts ("best similarity 0.16 < 0.25")
    form: str = "fact"  # the question's form (rag.forms): fact, yesno, list, timeline, count, summary, ...
    timeline: tuple[TimelineItem, ...] = ()  # a timeline's entries, in date order

    def to_json(self) -> dict:
        """The object ``rag ask --json`` prints and the page's ``/ask`` returns."""
        return {
            "question": self.question,
            "form": self.form,
            "answer": self.answer,
            "refused": self.refused,
            "draft": self.draft,
            "reason": self.reason,
            "detail": self.detail,
            "citations": [c.to_json() for c in self.citations],
            "sentences": [s.to_json() for s in self.sentences],
            "retrieved": [h.to_json() for h in self.retrieved],
            "evidence": [e.to_json() for e in self.evidence],
            "timings": self.timings.to_json(),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "evaluated_tokens": self.evaluated_tokens,
            "prompt_tokens_per_s": round(self.prompt_rate, 2) if self.prompt_rate else None,
            "generation_tokens_per_s": round(self.generation_rate, 2) if self.generation_rate else None,
            "model": self.model,
            "stopped": self.stopped,
            "unfinished": self.unfinished,
            "timeline": [t.to_json() for t in self.timeline],
        }
