"""Yes/no answers: the leading "Yes"/"No" is kept only when the sentence after it is stated by the evidence and is
about the question's proposition.

"No, even China balked at doing so [1]." for "Did China recognise the military's seizure of power?" -> the verdict
"No" and the claim "even China balked at doing so", checked like any claim; it is about the question when it and
the sentence it cites hold at least a third of the question's content words (china, recognise, seizure, power:
"Russia was the only major power to recognize the Myanmar military's seizure of power, something that even China
balked at" holds all four). A bare "Yes." states nothing: declined as before.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.records import SentenceVerdict
from core.text import negated, tokenize
from rag.cite import _in

_VERDICT = re.compile(r"^\s*(yes|no)\b\s*([,.:;!—–-]*)\s*", re.I)
_TRAILING = re.compile(r"(?:(?<=[.!?\]])\s+|\n\s*)(?:(?:so|therefore|thus)[,:]?\s+)?(?:(?:the\s+)?(?:answer|verdict)"
                       r"(?:\s+is)?)?[,:]?\s*(yes|no)\b[.!]?\s*$", re.I)
_HEDGE = re.compile(r"\b(?:may|(?i:might|could|(?:plan(?:s|ned)?|threaten(?:s|ed)?|intend(?:s|ed)?|hope[sd]?|"
                    r"wants?|wanted) to))\b")  # lower-case "may" only: "Theresa May", "on May 5" are no hedges
ABOUT_SHARE = 1 / 3


@dataclass(frozen=True)
class Verdict:
    """The draft split into its leading yes/no word (or "") and the rest; ``joiner`` as the model wrote it."""

    word: str
    rest: str
    joiner: str = ", "


def split(draft: str) -> Verdict:
    """"No, it was ranked third [1]." -> Verdict("No", "it was ranked third [1].", ", "); "Yes. He did [1]." ->
    Verdict("Yes", "He did [1].", ". "); a verdict after the fact leads too: "It was ranked third [1]. So: No."
    -> Verdict("No", "It was ranked third [1].", ": "); no verdict word -> Verdict("", draft)."""
    m = _VERDICT.match(draft)
    last = _TRAILING.search(draft) if not m else None
    if last and draft[:last.start()].strip():
        return Verdict(last.group(1).title(), draft[:last.start()].strip(), ": ")
    if not m or not draft[m.end():].strip():
        return Verdict("", draft) if not m else Verdict(m.group(1).title(), "")
    joiner = ", " if "," in m.group(2) or not m.group(2) else ". "
    rest = draft[m.end():]
    return Verdict(m.group(1).title(), rest, joiner)


def about(question: str, claim: SentenceVerdict) -> bool:
    """The claim and the evidence sentence it was judged against hold a third of the question's content words."""
    asked = list(dict.fromkeys(tokenize(question)))
    have = set(tokenize(f"{claim.text} {claim.evidence}"))
    return bool(asked) and sum(_in(w, have) for w in asked) >= ABOUT_SHARE * len(asked)


def proven(question: str, checked: list[SentenceVerdict]) -> bool:
    """A supported claim about the question follows the verdict word."""
    return any(c.claim and c.supported and about(question, c) for c in checked)


def contradicted(question: str, verdict: Verdict, checked: list[SentenceVerdict]) -> bool:
    """A "Yes" whose first supported claim says no, or only may, where the question does not: "Did China
    recognise it? Yes, China balked at doing so."; "Did Norway ban it? Yes, Norway may ban it." The claim is
    kept, the "Yes" is not."""
    first = next((c for c in checked if c.claim and c.supported), None)
    if verdict.word != "Yes" or first is None:
        return False
    return any(said(first.text) and not said(question) for said in (negated, hedged))


def hedged(text: str) -> bool:
    """Only a possibility or a plan: "The parliament may veto the proposals" -> True."""
    return bool(_HEDGE.search(text))


def render(verdict: Verdict, text: str) -> str:
    """"No" + "it was ranked third [1]." -> "No, it was ranked third [1]."."""
    if verdict.joiner == ", " and text[:2] != "I " and not re.match(r"[A-Z][a-z]*[A-Z]|[A-Z]{2}", text):
        first = text.split(" ", 1)[0]
        text = (text[0].lower() + text[1:]) if first.istitle() and first.lower() in _LOWER_OK else text
    return f"{verdict.word}{verdict.joiner}{text}"


_LOWER_OK = frozenset("it he she they the this that there his her their its a an even only so in on at after before "
                      "since during when while as both neither none not".split())  # "No, So far, ..." read oddly
