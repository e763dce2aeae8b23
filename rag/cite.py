"""Citation markers: parse them from the model's text, resolve them to passages, check each claim.

A sentence's support by a passage is ``0.6 * lexical + 0.4 * cosine`` where lexical is the share of the
sentence's content words found in the passage, cosine the embedding similarity of sentence and passage;
it is 0 when the sentence states a number the passage does not contain. Worked example: "Myanmar and Russia
signed 10 agreements [1]." against a passage with "signed 10 agreements": lexical 4/4 = 1.0, cosine 0.62,
support 0.85 >= 0.45, supported.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from core.dates import human_date
from core.records import Citation, Hit, SentenceVerdict
from core.text import name_tokens, sentence_spans, tokenize
from rag.prompt import NOT_FOUND

MARKER_RE = re.compile(r"\[\s*(?:(?:passages?|source|ref)\s*)?(\d{1,3}(?:\s*(?:,|;|and|&|-|–)\s*\d{1,3})*)\s*\]", re.I)
_ENUMERATOR = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•]|#+)\s*$")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[[^\]\n]{1,40}\])+")
_REFUSAL = re.compile(r"not in (?:the )?articles|(?:passages?|articles?|text|context)s? (?:do|does) not "
                      r"(?:contain|mention|say|provide|include|state|specify)|no information|not mentioned|"
                      r"cannot (?:find|answer)|can't (?:find|answer)|not provided|unable to (?:find|answer)", re.I)


@dataclass(frozen=True)
class Sentence:
    """A sentence of the answer with the passage numbers it cites (as written, 1-based)."""

    text: str
    markers: tuple[int, ...]


def parse_markers(fragment: str) -> list[int]:
    """"[1]" -> [1]; "[1, 3]" -> [1, 3]; "[2-4]" -> [2, 3, 4]; "[Passage 2]" -> [2]; "[x]" -> []."""
    out: list[int] = []
    for m in MARKER_RE.finditer(fragment):
        body = m.group(1)
        for a, b in re.findall(r"(\d+)\s*[-–]\s*(\d+)", body):
            if int(b) - int(a) <= 10:
                out.extend(range(int(a), int(b) + 1))
        body = re.sub(r"(\d+)\s*[-–]\s*(\d+)", " ", body)
        out.extend(int(x) for x in re.findall(r"\d+", body))
    return list(dict.fromkeys(out))


def strip_markers(text: str) -> str:
    """Remove markers and tidy the spaces they leave: "Ten [1] deals [2]." -> "Ten deals."."""
    text = MARKER_RE.sub("", text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def split_answer(answer: str) -> list[Sentence]:
    """Answer text -> sentences with their markers. Markers right after a full stop belong to the sentence
    before it: "Ten deals. [1] Signed in March [2]." -> [("Ten deals.", (1,)), ("Signed in March.", (2,))]."""
    out: list[list] = []
    for s, e in sentence_spans(answer):
        seg = answer[s:e]
        if _ENUMERATOR.match(seg):  # "1." of a numbered list is not a sentence
            continue
        seg = re.sub(r"^\s*(?:[-*•]|#+)\s+", "", seg)
        lead = _LEADING_MARKERS.match(seg)
        if lead and parse_markers(lead.group(0)):
            if out:
                out[-1][1].extend(parse_markers(lead.group(0)))
                seg = seg[lead.end():]
        markers = parse_markers(seg)
        text = strip_markers(seg)
        if re.search(r"\w", text):
            out.append([text, markers])
        elif out:
            out[-1][1].extend(markers)
    return [Sentence(t, tuple(dict.fromkeys(m))) for t, m in out]


def is_refusal(text: str) -> bool:
    """The model said the passages do not answer: "NOT IN ARTICLES", "The passages do not mention ..."."""
    return NOT_FOUND.lower() in text.lower() or bool(_REFUSAL.search(text))


def _has_name(name: str, words: set[str]) -> bool:
    """"russia" is in {"russian"}; "takayev" is not in {"tokayev"}."""
    return name in words or any(len(w) >= 4 and (w.startswith(name) or name.startswith(w)) for w in words)


def lexical_support(sentence: str, passage: str) -> float:
    """Share of the sentence's content words in the passage; 0.0 if the sentence states a number or a name
    that the passage does not contain ("Takayev" against a passage naming "Minnikhanov")."""
    words = tokenize(sentence)
    if not words:
        return 0.0
    have = set(tokenize(passage))
    if any(w not in have for w in words if w[0].isdigit()):
        return 0.0
    if any(not _has_name(n, have) for n in name_tokens(sentence)):
        return 0.0
    return sum(w in have for w in words) / len(words)


def has_claim(sentence: str) -> bool:
    """Sentences with content words make claims; "Yes." or a refusal does not need a source."""
    return bool(tokenize(sentence)) and not is_refusal(sentence)


def best_quote(sentence: str, passage: str) -> tuple[int, int]:
    """The span of the passage sentence sharing most content words with ``sentence`` (local offsets)."""
    words = set(tokenize(sentence))
    best, best_score = (0, len(passage)), -1.0
    for s, e in sentence_spans(passage):
        toks = tokenize(passage[s:e])
        score = len(words & set(toks)) / (1 + 0.02 * len(toks))
        if score > best_score:
            best, best_score = (s, e), score
    return best


def passage_text(hit: Hit) -> str:
    """What the model saw of a passage: its header (title, date) and its text."""
    c = hit.chunk
    return f"{c.title} {human_date(c.date)} {c.date or ''}\n{c.text}"


Similarity = Callable[[list[str], list[int]], list[list[float]]]  # (sentences, hit rows) -> cosine matrix


def check_sentences(sentences: Sequence[Sentence], hits: Sequence[Hit], similarity: Similarity | None = None,
                    threshold: float = 0.45, recite: bool = True) -> list[SentenceVerdict]:
    """Resolve markers against ``hits`` (marker n = hits[n-1]) and verify each claim.

    A cited passage that does not support its sentence is replaced by the retrieved passage that does
    (``recited``); with none, the sentence keeps its markers and ``supported`` is False.
    """
    n = len(hits)
    claims = [i for i, s in enumerate(sentences) if has_claim(s.text)]
    cos = similarity([sentences[i].text for i in claims], list(range(n))) if similarity and claims and n else None
    out = []
    for s_idx, s in enumerate(sentences):
        valid = tuple(m for m in s.markers if 1 <= m <= n)
        dropped = tuple(m for m in s.markers if not 1 <= m <= n)
        if s_idx not in claims:
            out.append(SentenceVerdict(s.text, valid, True, False, False, dropped, 1.0))
            continue
        row = cos[claims.index(s_idx)] if cos is not None else None

        def score(m: int) -> float:
            lex = lexical_support(s.text, passage_text(hits[m - 1]))
            if lex == 0.0:
                return 0.0
            return 0.6 * lex + 0.4 * max(0.0, row[m - 1]) if row is not None else lex

        scores = {m: score(m) for m in range(1, n + 1)}
        good = tuple(m for m in valid if scores[m] >= threshold)
        if good:
            out.append(SentenceVerdict(s.text, good, True, True, False, dropped, max(scores[m] for m in good)))
            continue
        best = max(scores, key=scores.get) if scores else None
        if recite and best is not None and scores[best] >= threshold:
            out.append(SentenceVerdict(s.text, (best,), True, True, True, dropped, scores[best]))
        else:
            top = max((scores[m] for m in valid), default=0.0)
            out.append(SentenceVerdict(s.text, valid, False, True, False, dropped, top))
    return out


def build_citations(checked: Sequence[SentenceVerdict], hits: Sequence[Hit]) -> list[Citation]:
    """One ``Citation`` per (sentence, passage) pair, with the best-matching quote's offsets in the source file."""
    cites = []
    for s in checked:
        for m in s.markers:
            c = hits[m - 1].chunk
            qs, qe = best_quote(s.text, c.text)
            cites.append(Citation(m, c.source, c.title, c.date, c.chunk_id, c.start + qs, c.start + qe,
                                  c.text[qs:qe], s.supported, s.text, s.support))
    return cites


def render_answer(checked: Sequence[SentenceVerdict]) -> str:
    """Sentences with their final markers: "Ten deals were signed [1]. In March [1][2]."."""
    parts = []
    for s in checked:
        text = s.text
        marks = "".join(f"[{m}]" for m in s.markers)
        if marks:
            text = re.sub(r"([.!?]*)$", lambda m: f" {marks}{m.group(1)}", text, count=1)
        parts.append(text)
    return " ".join(parts)
