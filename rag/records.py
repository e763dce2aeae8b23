"""Typed records passed between pipeline stages (files -> chunks -> hits -> answer)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


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
    """A retrieved chunk with its fused score and the per-retriever ranks (1-based, None = not found)."""

    chunk: Chunk
    score: float
    dense_score: float = 0.0
    dense_rank: int | None = None
    lexical_rank: int | None = None


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


@dataclass(frozen=True)
class Answer:
    """The final cited answer; ``to_json()`` is the shape ``rag ask --json`` prints."""

    question: str
    answer: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    retrieved: tuple[Hit, ...] = ()
    sentences: tuple[dict, ...] = ()  # [{"text", "markers", "supported"}]
    reason: str = ""
    timings: dict = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "reason": self.reason,
            "citations": [
                {k: v for k, v in asdict(c).items() if k not in ("sentence", "support")}
                | {"support": round(c.support, 3)}
                for c in self.citations
            ],
            "sentences": list(self.sentences),
            "retrieved": [
                {"source": h.chunk.source, "chunk_id": h.chunk.chunk_id, "score": round(h.score, 5),
                 "dense_score": round(h.dense_score, 4)}
                for h in self.retrieved
            ],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "model": self.model,
        }
