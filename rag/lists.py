"""A list question's list: when the answer names fewer than half of the items of the sentence it cites, that
sentence is added as a checked quote (the model tends to say "10 agreements were signed" only)."""
from __future__ import annotations

import re
from typing import Sequence

from core.records import Evidence
from core.text import sentence_spans, tokenize
from rag.cite import Sentence, _in, question_names

# "What agreements ...", "Which sectors ...", "What were ...", "List ...", "Name ..." (not "What is/was/does ...")
_ASKS_LIST = re.compile(r"^\W*(?:(?:what|which)\s+(?:(?:are|were)\b|(?!(?:is|was|has|does|this|its)\b)\w+s\b)|"
                        r"(?:list|name)\b)", re.I)


def list_items(sentence: str) -> list[str]:
    """The items of the longest "a, b, c and d" of short items in ``sentence`` (at least three; the first item
    is left out when it ends a longer clause): "... sectors including trade, nuclear technology, banking and
    energy." -> ["nuclear technology", "banking", "energy"]."""
    best: list[str] = []
    run: list[str] = []
    for part in re.split(r",\s*", sentence.strip().rstrip(".")):
        closing = re.match(r"and\s+(.+)", part)  # "..., and plums"
        sides = [closing.group(1)] if closing else re.split(r"\s+and\s+", part, maxsplit=1)
        if run and (closing or len(sides) == 2) and all(len(x.split()) <= 4 for x in sides):
            best = max(best, run + sides, key=len)
            run = []
        elif len(part.split()) <= 4 and len(sides) == 1:
            run.append(part)
        else:
            run = []
    return best if len(best) >= 3 else []


def list_sentence(question: str, answer: str, markers: Sequence[int], evidence: Sequence[Evidence]) -> Sentence | None:
    """For a question asking for several things ("What agreements ...?", "Which sectors ...?"), the sentence of
    cited evidence that lists three or more and shares most words with the question (names aside), when the
    answer names fewer than half of them: "During that trip, Myanmar and Russia signed 10 agreements covering
    trade, nuclear technology, banking, mining, information technology, tourism and energy." (6 items after
    "trade", none in "Agreements were signed in March 2025.") -> that sentence, [1]."""
    if not _ASKS_LIST.search(question):
        return None
    asked = set(tokenize(question)) - {w for name in question_names(question) for w in name}
    said = set(tokenize(answer))
    best, best_shared = None, 0
    for m in dict.fromkeys(markers):
        text = evidence[m - 1].text
        for s, e in sentence_spans(text):
            items = [i for i in list_items(text[s:e]) if tokenize(i)]
            shared = sum(_in(w, asked) for w in set(tokenize(text[s:e])))
            if len(items) >= 3 and shared > best_shared:
                best, best_shared = (text[s:e].strip(), m, items), shared
    if best is None or sum(all(_in(w, said) for w in tokenize(i)) for i in best[2]) >= len(best[2]) / 2:
        return None
    return Sentence(best[0], (best[1],))
