"""The date, spelling and role rules of the claim check (``rag.cite.rules``), each with its worked example."""
from __future__ import annotations

import re
from dataclasses import replace

from core.dates import MONTHS, DateRef, article_matches, event_dates, find_dates, text_mentions
from core.records import Evidence, SentenceVerdict
from core.text import name_tokens, tokenize

_MONTH_ABBR = {m[:3]: m for m in MONTHS} | {"sept": "september"}

_TIMED_YEAR = re.compile(r"\b(?:in|on|during|since|until|by|of|from|before|after|early|late|mid|the|and|or|to)[\s-]+"
                         r"(\d{4})\b",
                         re.I)
_YEAR = re.compile(r"(?:19|20)\d\d")


def _dated_in_text(claim: str, text: str) -> bool:
    """The claim names a month that the evidence text names: its year may then come from the article's date
    ("signed in March 2025" from "signed in March", in an article of March 2025); for "When was it released?",
    a bare "2020" from an article of 2020 may not."""
    return any(d.month and text_mentions(text, DateRef(None, d.month)) for d in find_dates(claim))


def time_constraints(question: str) -> list:
    """The months (with their year) and the years after a time word that the question asks about."""
    timed = {int(y) for y in _TIMED_YEAR.findall(question)}
    return [d for d in find_dates(question) if d.month or d.year in timed]


def _misspelt(word: str, words: set[str]) -> bool:
    """A name of 6+ letters one letter off an article's word: "naypyitaw" for "naypyidaw", "mishustine"."""
    if len(word) < 6:
        return False
    for w in words:
        if abs(len(w) - len(word)) <= 1 and w[:2] == word[:2] and _one_edit(word, w):
            return True
    return False


def _one_edit(a: str, b: str) -> bool:
    """One letter changed, added or dropped: "naypyitaw"/"naypyidaw" -> True."""
    if len(a) > len(b):
        a, b = b, a
    i = next((k for k in range(len(a)) if a[k] != b[k]), len(a))
    return a[i + (len(a) == len(b)):] == b[i + 1:]


def _date_holds(ev: Evidence, d) -> bool:
    """The evidence names the question's month/year (its own year or, when it gives none, its article's: "in March
    this year" in an article of May 2025 is March 2025), or its line (``ev.when``) or else its article is dated so
    and it names no other one."""
    if text_mentions(ev.text, d) or any(article_matches(x.iso, d) for x in event_dates(ev.text, ev.date)):
        return True
    named = find_dates(ev.text)
    other = any((d.month and x.month and x.month != d.month) or (d.year and x.year and x.year != d.year)
                for x in named)
    return article_matches(ev.when or ev.date, d) and not other  # the date its line opens with, if any


_ACTS = frozenset("gave sent sold bought won beat led paid took made told hit lost owned hired".split())


def _swapped_roles(claim: str, evidence: str) -> str:
    """"Turkey bought boats from Kenya" against "Kenya bought boats from Turkey": two names (not months) in the
    opposite order around the same verb (a past tense: "bought", "signed"). Returns the reason, or ""."""
    names = set(name_tokens(claim)) - set(MONTHS) - set(_MONTH_ABBR)
    c_names = [(i, w) for i, w in enumerate(tokenize(claim)) if w in names]
    e_toks = tokenize(evidence)
    c_toks = tokenize(claim)
    for (i, a), (j, b) in zip(c_names, c_names[1:]):
        if a == b or a not in e_toks or b not in e_toks:
            continue
        ea, eb = e_toks.index(a), e_toks.index(b)
        between = {w for w in set(c_toks[i + 1:j]) & set(e_toks[min(ea, eb) + 1:max(ea, eb)])
                   if w in _ACTS or w.endswith("ed")}
        if eb < ea and between:
            return f"{a} and {b} swap roles around '{sorted(between)[0]}'"
    return ""


# a year counts as a time constraint after a time word ("in 2019", "the 2018 World Cup"), not inside a title
# ("Wonder Woman 1984")


_HOW_MANY = re.compile(r"\bhow many\s+([^?]*)", re.I)
_NOT_NOUN = frozenset("did do does were was are is have has had will would can could in on at of from for with "
                      "during after before by to that who which".split())


def counted_words(question: str) -> tuple[str, ...]:
    """What a "How many ...?" question counts, up to its verb: "How many Myanmar soldiers marched ...?" ->
    ("myanmar", "soldier")."""
    m = _HOW_MANY.search(question)
    words = []
    for w in (m.group(1).split() if m else []):
        w = w.strip(",.;:").lower()
        if w in _NOT_NOUN or (w.endswith("ed") and words):
            break
        words.append(w)
        if (w.endswith("s") and not w.endswith("ss")) or w in _PLURALS:  # the head noun: "foreign countries sent"
            break
    return tuple(tokenize(" ".join(words[:4])))


_PLURALS = frozenset("people personnel staff children men women police crew".split())


def counted_near(claim: str, evidence: str, counted: tuple[str, ...]) -> str:
    """A count's one number counts what the question counts: where the evidence sentence names the counted noun,
    it follows the number within five words ("10 agreements", "522 of the 650 sitting MPs") or stands right before
    it ("votes: 325"). "13" for "How many Myanmar soldiers ...?" against "soldiers from 13 foreign countries"
    counts countries ("" when it holds or cannot be told, else the reason)."""
    words = [str(_NUMBERS.index(w)) if w in _NUMBERS else w for w in re.findall(r"[a-z0-9]+", evidence.lower())]
    noun = [w for w in counted if w not in ("many", "much")][-1:]  # the head noun: "soldier"
    numbers = [w for w in tokenize(claim) if w[0].isdigit()]
    if len(numbers) != 1 or not noun or not any(w.startswith(noun[0][:5]) for w in words):
        return ""  # "522 for, 13 against" counts one thing twice; "331 cases" for "incidents" cannot be told
    for n in numbers:
        at = [i for i, w in enumerate(words) if w == n]
        near = [t for i in at for t in words[i + 1:i + 6] + words[max(0, i - 1):i]]
        if noun and at and not any(t.startswith(noun[0][:5]) for t in near):
            return f"{n} does not count {noun[0]} in the evidence"
    return ""


_NUMBERS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
            "sixteen seventeen eighteen nineteen twenty").split()


def counted_claims(question: str, checked: list[SentenceVerdict]) -> list[SentenceVerdict]:
    """A count's supported claims whose number counts something else, withdrawn with the reason."""
    counted = counted_words(question)
    out = []
    for c in checked:
        why = counted_near(c.text, c.evidence, counted) if c.claim and c.supported and counted else ""
        out.append(replace(c, supported=False, reason=why) if why else c)
    return out
