"""Citation markers: parse them from the model's text, resolve them to evidence sentences, check each claim.

A claim (an answer sentence) is checked against the evidence sentence it cites, not a whole passage:
- every number and every capitalised name of the claim (so its months, people, places) is in the evidence
  sentence or its article's title and date;
- every name of the question is there too, and a month or year of the question holds for the evidence (the
  sentence names it, or the article is dated so and the sentence names no other month);
- the claim adds something to the question (a restated question is no answer), and at least 2/3 of what it adds
  is in the evidence: "Six elephants were sent" adds "six", "sent"; "Myanmar gave six elephants" states only "six".
  To a yes/no question a restatement is the answer ("No, Iceland did not sign the deal"), when the evidence
  sentence says no where the claim does, and holds all but one word in six of the claim's (one in a claim of 3-11).
Its support is ``0.6 * lexical + 0.4 * cosine`` (lexical: the share of its content words in the evidence); a
claim passes the rules above with support >= 0.45. Worked example: "Ten agreements were signed in March 2025 [1]."
for "What agreements were signed in March?" against "Myanmar and Russia signed 10 agreements in March 2025":
numbers 10/2025 present, adds {10 (ten is not a digit: skipped), 2025}: 1/1 stated, lexical 1.0, cosine 0.7,
support 0.88: supported.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import partial
from typing import Callable, Mapping, Sequence

from core.dates import asks_when, human_date
from core.records import Citation, Evidence, SentenceVerdict
from core.text import capitalised, name_tokens, negated, sentence_spans, tokenize
from rag.claimrules import _MONTH_ABBR, _NUMBERS, _YEAR, _dated_in_text, _date_holds, _misspelt, _swapped_roles, time_constraints
from rag.prompt import NOT_FOUND

MARKER_RE = re.compile(r"\[\s*(?:(?:passages?|source|ref)\s*)?(\d{1,3}(?:\s*(?:,|;|and|&|-|–)\s*\d{1,3})*)\s*\]", re.I)
_ENUMERATOR = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•]|#+)\s*$")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[[^\]\n]{1,40}\])+")
_REFUSAL = re.compile(r"not in (?:the )?articles|(?:passages?|articles?|text|context|sentences?)s? (?:do|does|did) "
                      r"not (?:contain|mention|say|provide|include|state|specify|give)|no (?:information|details?|"
                      r"mention)|not (?:mentioned|specified|stated|given|provided|available|known)|(?:cannot|can't|"
                      r"unable to) (?:find|answer|determine)|does not specify|is unknown|no specific", re.I)


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
    before it: "Ten deals. [1] Signed in March [2]." -> [("Ten deals.", (1,)), ("Signed in March.", (2,))]; one
    that opens a line of a list is the line's (after a lead-in, a cited line or a bullet): "Deals:\n[1] Ten deals."
    -> [("Deals:", ()), ("Ten deals.", (1,))]; "Ten deals.\n[1] Signed in March [2]." keeps [1] with "Ten deals."."""
    out: list[list] = []
    for s, e in sentence_spans(answer):
        seg = answer[s:e]
        if _ENUMERATOR.match(seg):  # "1." of a numbered list is not a sentence
            continue
        bullet = re.match(r"^\s*(?:[-*•]|#+|\d{1,2}[.)])\s+", seg)
        seg = seg[bullet.end():] if bullet else seg
        lead = _LEADING_MARKERS.match(seg)
        opens_line = s == 0 or answer[:s].rstrip(" \t").endswith("\n")
        listed = bullet or not out or out[-1][1] or out[-1][0].endswith(":")
        own = opens_line and listed and re.search(r"\w", seg[lead.end():] if lead else "")
        if lead and parse_markers(lead.group(0)) and not own:
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


_QUESTION_WORDS = frozenset("what which who whom whose when where why how did does do is are was were can could "
                            "would should will has have had tell list name give".split())


_NUMBER_WORDS = _NUMBERS  # "six elephants" states the claim's 6


def _same(a: str, b: str) -> bool:
    """One word in two forms: "sign"/"signed", "russia"/"russian", "dec"/"december"; not "send"/"sent"."""
    a, b = _MONTH_ABBR.get(a, a), _MONTH_ABBR.get(b, b)
    if a == b:
        return True
    short = min(len(a), len(b))
    return short >= 4 and a[:short] == b[:short]


def _in(word: str, words: set[str]) -> bool:
    return word in words or any(_same(word, w) for w in words)


def question_names(question: str) -> list[tuple[str, ...]]:
    """Names the question is about, as runs of capitalised words past the first (question words left out):
    "Who met Min Aung Hlaing at the Victory Day parade?" -> [("min", "aung", "hlaing"), ("victory", "day")]."""
    runs: list[list[str]] = []
    last_end = -2
    for start, word in capitalised(question):
        if not start or word.lower() in _QUESTION_WORDS:
            continue
        toks = [w for w in tokenize(word) if not any(ch.isdigit() for ch in w)]  # "Q3" is a date, not a name
        if toks and runs and question[last_end:start].strip() == "":
            runs[-1].extend(toks)
        elif toks:
            runs.append(toks)
        last_end = start + len(word)
    return [tuple(r) for r in runs]


def evidence_words(ev: Evidence) -> set[str]:
    """What the model saw of an evidence sentence: its text, its article's title and date, its line's date."""
    when = f"{human_date(ev.when)} {ev.when}" if ev.when else ""
    return set(tokenize(f"{ev.title} {human_date(ev.date)} {ev.date or ''} {when}\n{ev.text}"))


RULES = ("numbers", "names", "question_names", "dates", "roles", "novelty")  # each can be left out (ablation)


def rules(claim: str, question: str, ev: Evidence, article: set[str] = frozenset(),
          skip: frozenset[str] = frozenset(), verdict: bool = False) -> str:
    """Why ``ev`` does not state ``claim`` ("" when it may): the hard rules of the module docstring.
    ``article``: the words of the same article (its evidence items, titles and dates; its whole text where the
    caller has it), where the question's names must be. ``verdict``: the question asks yes or no."""
    have = evidence_words(ev)
    have |= {str(_NUMBER_WORDS.index(w)) for w in have if w in _NUMBER_WORDS}
    words = [str(_NUMBER_WORDS.index(w)) if w in _NUMBER_WORDS else w for w in tokenize(claim)]
    given = set(tokenize(question))
    question_named = question_names(question)
    for w in words if "numbers" not in skip else ():
        if w[0].isdigit() and w not in have and w not in given:  # "on 24/08/2021" repeats the question's date
            return f"number {w} not in evidence"
        if asks_when(question) and _YEAR.fullmatch(w) and w not in tokenize(f"{ev.title} {ev.text}") \
                and not _dated_in_text(claim, ev.text):
            return f"{w} is only the article's date"
    asked = {w for name in question_named for w in name}
    for n in dict.fromkeys(name_tokens(claim)) if "names" not in skip else ():
        if not _in(n, asked) and not _in(n, have):  # a name the question gave is checked as the question's
            return f"{n} not in evidence"
    names = question_named if "question_names" not in skip else []
    absent = [name for name in names if not any(_in(n, article | have) or _misspelt(n, article | have) for n in name)]
    if absent:
        return f"the question's {' '.join(absent[0])} is not in evidence"
    timed = time_constraints(question) if "dates" not in skip else []
    if timed and not any(_date_holds(ev, d) for d in timed):  # one of them: "the March 2025 visit, after the
        return f"{timed[0].label()} does not hold for the evidence"  # 2021 coup" dates two events
    swapped = _swapped_roles(claim, ev.text) if "roles" not in skip else ""
    if swapped:
        return swapped
    if "novelty" in skip:
        return ""
    added = [w for w in dict.fromkeys(words) if not _in(w, given)]
    if not added:  # to a yes/no question, "No, China did not recognise it" adds its "no"
        if not verdict:
            return "restates the question"
        if negated(claim) != negated(ev.text):
            return "says no where the evidence does not" if negated(claim) else "the evidence says no"
        absent = [" ".join(n) for n in question_named if not any(_in(w, have) for w in n)]
        if absent:  # "Moscow condemned it" restated from "the coup was internationally condemned"
            return f"restates the question; {absent[0]} is not in the evidence sentence"
        unstated = [w for w in dict.fromkeys(words) if not _in(w, have)]
        if len(unstated) > (max(1, len(words) // 6) if len(words) >= 3 else 0):  # "Rosatom abandoned its plan"
            # from "... Rosatom over the status of plans": 2 of 9 unstated; "recognised" for "recognize": 1 of 4
            return f"restates the question; {', '.join(unstated[:3])} not in the evidence sentence"
    missing = [w for w in added if not _in(w, have)]
    if len(missing) > len(added) / 3:
        return f"{', '.join(missing[:3])} not in evidence"
    return ""


def lexical_support(sentence: str, evidence: str) -> float:
    """Share of the sentence's content words in the evidence text (inflections allowed)."""
    words = [_as_digits(w) for w in tokenize(sentence)]
    have = {_as_digits(w) for w in tokenize(evidence)}  # "2 days" in "a two-day conference"
    return sum(_in(w, have) for w in words) / len(words) if words else 0.0


def _as_digits(word: str) -> str:
    return str(_NUMBER_WORDS.index(word)) if word in _NUMBER_WORDS else word


# a sentence about the passages, not the news: "This is stated in passage [2].", "The passage mentions that ..."
_META = re.compile(r"^\W*(?:(?:this|that|it|which) (?:is|was) (?:stated|mentioned|said|shown|written|reported|found)|"
                   r"(?:the )?(?:passages?|articles?|sources?) (?:\S+ )?(?:mentions?|says?|states?|shows?|notes?|"
                   r"reports?|indicates?|provides?)(?! that\b)|(?:as )?(?:stated|mentioned|shown) in (?:the )?passage)", re.I)


_LABEL = re.compile(r"^\W*(?:facts?|evidence|source|quote|answer)(?: from)?(?: the)?(?: passages?)?\s*(?:\[\d+\])?\s*:\s*", re.I)


def unlabelled(sentence: str) -> str:
    """"Fact from passage [2]: So far, ..." -> "So far, ..."."""
    return _LABEL.sub("", sentence, count=1)


def is_meta(sentence: str) -> bool:
    """"This is stated in passage [2] from ..." says where, not what: no claim, left out of the answer."""
    return bool(_META.match(sentence))


def has_claim(sentence: str) -> bool:
    """Sentences with content words make claims; "Yes." or a refusal does not need a source."""
    return bool(tokenize(sentence)) and not is_refusal(sentence)


def is_lead_in(sentences: Sequence[Sentence], i: int) -> bool:
    """"Ships that called:" before the list it opens, naming no number: no claim of its own. A last sentence
    ending in a colon (a draft cut short) or "Russia sent 10 warships in 2023:" is checked like any claim."""
    text = sentences[i].text.rstrip()
    return text.endswith(":") and i < len(sentences) - 1 and not re.search(r"\d", text)


def best_quote(sentence: str, text: str) -> tuple[int, int]:
    """The span of the sentence of ``text`` sharing most content words with ``sentence`` (local offsets)."""
    words = set(tokenize(sentence))
    best, best_score = (0, len(text)), -1.0
    for s, e in sentence_spans(text):
        toks = tokenize(text[s:e])
        score = len(words & set(toks)) / (1 + 0.02 * len(toks))
        if score > best_score:
            best, best_score = (s, e), score
    return best


Similarity = Callable[[list[str], list[int]], list[list[float]]]  # (sentences, evidence rows) -> cosine matrix


def _judge(claim: str, question: str, ev: Evidence, article: set[str], cos: float | None,
           threshold: float, skip: frozenset[str], verdict: bool = False) -> tuple[float, str]:
    """(support, reason): support is 0 when a rule fails; reason says why it is (not) enough."""
    why = rules(claim, question, ev, article, skip, verdict)
    if why:
        return 0.0, why
    lex = lexical_support(claim, f"{ev.title} {human_date(ev.date)} {ev.text}")
    support = 0.6 * lex + 0.4 * max(0.0, cos) if cos is not None else lex
    return support, "" if support >= threshold else f"support {support:.2f} < {threshold}"


def check_sentences(sentences: Sequence[Sentence], evidence: Sequence[Evidence], question: str = "",
                    similarity: Similarity | None = None, threshold: float = 0.45, recite: bool = True,
                    skip: frozenset[str] = frozenset(),
                    article_words: Mapping[str, set[str]] | None = None,
                    verdict: bool = False) -> list[SentenceVerdict]:
    """Resolve markers against ``evidence`` (marker n = evidence[n-1]) and check each claim.

    A cited sentence that does not state its claim is replaced by the evidence sentence that does (``recited``);
    with none, the claim keeps its markers and ``supported`` is False, with the reason. ``skip`` leaves out some
    of ``RULES`` (for the ablation). ``article_words``: the words of each evidence article as a whole, where the
    question's names may also be ("the junta chief" in the sentence, "Min Aung Hlaing" in its article).
    """
    n = len(evidence)
    articles: dict[str, set[str]] = {}
    for ev in evidence:
        articles.setdefault(ev.source, set(article_words.get(ev.source, ()) if article_words else ())).update(
            evidence_words(ev))
    claims = [i for i, s in enumerate(sentences) if has_claim(s.text) and not is_lead_in(sentences, i)]
    cos = similarity([sentences[i].text for i in claims], list(range(n))) if similarity and claims and n else None
    out = []
    for s_idx, s in enumerate(sentences):
        valid = tuple(m for m in s.markers if 1 <= m <= n)
        dropped = tuple(m for m in s.markers if not 1 <= m <= n)
        if s_idx not in claims:
            out.append(SentenceVerdict(s.text, valid, True, False, False, dropped, 1.0))
            continue
        row = cos[claims.index(s_idx)] if cos is not None else None
        judge = partial(_judge, s.text, question, threshold=threshold, skip=skip, verdict=verdict)
        judged = {m: judge(evidence[m - 1], articles[evidence[m - 1].source], row[m - 1] if row else None)
                  for m in range(1, n + 1)}
        v = _verdict(s, valid, dropped, judged, evidence, recite)
        out.append(_paired(s, dropped, judge, evidence, articles, row) or v if recite and not v.supported
                   and _PAIRABLE.match(v.reason.split(": ")[-1]) else v)
    return out


_PAIRABLE = re.compile(r"number \S+ not in evidence|\S+ not in evidence|support ")


def _paired(s: Sentence, dropped: tuple[int, ...], judge: Callable, evidence: Sequence[Evidence],
            articles: Mapping[str, set[str]], row: list[float] | None) -> SentenceVerdict | None:
    """A claim two sentences of one article state together, both cited: "522 voted for the motion and 13 against"
    from "522 of the 650 sitting MPs voted in favor" and "Thirteen voted against the motion."."""
    best = None
    for a, ea in enumerate(evidence):
        for b in range(a + 1, len(evidence)):
            if evidence[b].source != ea.source:
                continue
            support, why = judge(replace(ea, text=f"{ea.text} {evidence[b].text}"), articles[ea.source],
                                 max(row[a], row[b]) if row else None)
            if not why and (best is None or support > best[0]):
                best = (support, a, b)
    if best is None:
        return None
    support, a, b = best
    return SentenceVerdict(s.text, (a + 1, b + 1), True, True, True, dropped, support,
                           f"{evidence[a].text} {evidence[b].text}", f"re-cited: [{a + 1}] and [{b + 1}] state it together")


def _verdict(s: Sentence, valid: tuple[int, ...], dropped: tuple[int, ...], judged: dict[int, tuple[float, str]],
             evidence: Sequence[Evidence], recite: bool) -> SentenceVerdict:
    good = tuple(m for m in valid if not judged[m][1])
    if good:
        best = max(good, key=lambda m: judged[m][0])
        return SentenceVerdict(s.text, good, True, True, False, dropped, judged[best][0], evidence[best - 1].text,
                               "stated in the cited evidence")
    passing = [m for m in judged if not judged[m][1]]
    if recite and passing:
        best = max(passing, key=lambda m: judged[m][0])
        return SentenceVerdict(s.text, (best,), True, True, True, dropped, judged[best][0], evidence[best - 1].text,
                               f"re-cited: [{best}] states it" + (f" ([{valid[0]}]: {judged[valid[0]][1]})" if valid else ""))
    pool = valid or tuple(judged)  # uncited: say why the closest evidence sentence does not state it
    top = max(pool, key=lambda m: (judged[m][0], lexical_support(s.text, evidence[m - 1].text)), default=None)
    reason = (judged[top][1] if valid else f"uncited; closest [{top}]: {judged[top][1]}") if top else "no evidence"
    return SentenceVerdict(s.text, valid, False, True, False, dropped, judged[top][0] if top else 0.0,
                           evidence[top - 1].text if top else "", reason)


def build_citations(checked: Sequence[SentenceVerdict], evidence: Sequence[Evidence]) -> list[Citation]:
    """One ``Citation`` per (sentence, evidence) pair; the quote is the evidence sentence that best matches."""
    cites = []
    for s in checked:
        for m in s.markers:
            ev = evidence[m - 1]
            qs, qe = best_quote(s.text, ev.text)
            cites.append(Citation(m, ev.source, ev.title, ev.date, ev.chunk_id, ev.start + qs, ev.start + qe,
                                  ev.text[qs:qe], s.supported, s.text, s.support))
    return cites


def render_answer(checked: Sequence[SentenceVerdict]) -> str:
    """Sentences with their final markers: "Ten deals were signed [1]. In March [1][2]."; a list item the model
    left without a full stop gets one ("- Ten deals [1]" -> "Ten deals [1].")."""
    parts = []
    for s in checked:
        text = s.text if re.search(r"[.!?…][\"”’')\]]*$|[:;]$", s.text) else s.text.rstrip(",") + "."
        marks = "".join(f"[{m}]" for m in s.markers)
        if marks:
            text = re.sub(r"([.!?]*)$", lambda m: f" {marks}{m.group(1)}", text, count=1)
        parts.append(text)
    return " ".join(parts)
