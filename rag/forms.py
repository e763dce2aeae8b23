"""A question's form, decided once, and the plan the stages read: how evidence is chosen, how much of it, what the
prompt asks for, how the draft is checked.

Every word rule is in ``RULES`` below with its worked example (``tests/test_forms.py`` asks each one); the first
rule that matches decides. A question that none matches is a single fact, answered as before: 170 tokens of
evidence, one to three sentences.

Budgets are multiples of ``Settings.evidence_tokens`` (170 by default): a summary's 2.2 x 170 = 374 tokens hold
~10 sentences from several articles, a fact's 170 about 4.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

FORMS = ("fact", "yesno", "list", "timeline", "count", "summary", "topic", "why", "compare")


@dataclass(frozen=True)
class Plan:
    """What each stage does for one form of question."""

    form: str
    budget: float = 1.0  # evidence tokens, as a multiple of Settings.evidence_tokens
    search_k: int = 0  # chunks searched: 0 = Settings.top_k; across-article forms search more
    per_article: int = 0  # at most this many evidence sentences from one article (0: no cap)
    one_article: bool = False  # a summary of one article: its sentences, in its order
    by_date: bool = False  # evidence ordered by article date (comparisons across time)
    dated: bool = False  # a timeline: dated sentences, resolved and ordered, quoted without the model
    instruction: str = ""  # added after the question (the cached instructions never change)
    answer_scale: float = 1.0  # the answer's token limit, as a multiple of Settings.max_tokens (256: 320 for 1.25)
    verdict: bool = False  # yes/no: the leading Yes/No is checked through the sentence that follows it
    counted: bool = False  # a count: the claim's number must count what the question counts (claimrules)
    note_withheld: bool = True  # end with "The articles do not state the rest ..." when a claim was left out

    def evidence_tokens(self, base: int) -> int:
        return round(base * self.budget)

    def max_tokens(self, base: int) -> int:
        return round(base * self.answer_scale)


_SEVERAL = "Answer in three to five short sentences, each ending with the number of its passage."
PLANS = {
    "fact": Plan("fact"),
    "count": Plan("count", counted=True),  # "Give the number, and what it counts." made answers terse: "6 elephants"
    "yesno": Plan("yesno", budget=1.2, verdict=True,
                  instruction="Begin with Yes or No, then give the fact from the passages that shows it."),
    "list": Plan("list", budget=1.5, search_k=10, instruction="Give every item the passages name."),
    "timeline": Plan("timeline", budget=6.0, search_k=16, dated=True),  # no model reads it: ~14 entries
    "summary": Plan("summary", budget=2.2, one_article=True, note_withheld=False, answer_scale=1.25,
                    instruction=f"Summarise the article's main points. {_SEVERAL}"),
    "topic": Plan("topic", budget=2.2, search_k=14, per_article=3, note_withheld=False, answer_scale=1.25,
                  instruction=f"Summarise what the passages say, with the figures they give. {_SEVERAL}"),
    "why": Plan("why", budget=1.8, search_k=12, per_article=3, note_withheld=False, answer_scale=1.2,
                instruction=f"Explain the reasons the passages give. {_SEVERAL}"),
    "compare": Plan("compare", budget=2.0, search_k=14, per_article=3, by_date=True, note_withheld=False,
                    answer_scale=1.2,
                    instruction="Say what each article says, with its date; where they differ, give both, "
                                "newest last. Each sentence ends with the number of its passage."),
}

_SUMMARISE = r"^\W*(?:please\s+)?(?:summari[sz]e|give (?:me )?(?:a |an )?(?:summary|overview|gist)"
# (form, pattern, a question it decides): the first match wins, so the narrower rules come first
RULES: tuple[tuple[str, re.Pattern, str], ...] = (
    ("timeline", re.compile(r"\btime\s?line\b|\bchronolog|\bin (?:chronological )?order\b|\bsequence of events\b|"
                            r"\bstep by step\b|\bhow did .* (?:develop|evolve|unfold|change)\b|^\W*trace\b|"
                            r"\bover (?:time|the years|the period)\b", re.I),
     "Give me a timeline of the junta leader's trips abroad."),
    ("compare", re.compile(r"\bcompare\b|\bcomparison\b|\bdiffer(?:ence|s)?\b|\bchanged?\b.*\bbetween\b|"
                           r"\bversus\b|\bvs\.?\s|\bfrom (?:19|20)\d\d and (?:from )?(?:19|20)\d\d\b|"
                           r"\b(?:19|20)\d\d (?:and|versus|compared with) (?:19|20)\d\d\b|"
                           r"\b(?:earlier|older) and (?:later|newer|recent)\b|"
                           r"\b(?:articles?|reports?|stories|sources|accounts)\b[^?]*\b(?:agree|disagree|contradict)\b|"
                           r"\b(?:later|earlier|newer|older|first|second) (?:\w+ )?(?:article|report|story)\b|"
                           r"\b(?:19|20)\d\d\b[^?]*,? and (?:in |from |by )?(?:19|20)\d\d\b", re.I),
     "How do the 2021 and 2025 reports differ on arms deliveries?"),
    ("summary", re.compile(rf"{_SUMMARISE}|what is the gist)\b.*\b(?:the|this|that) (?:article|report|story|piece)"
                           r"\b(?!s)", re.I),
     "Summarise the article about the parade in Moscow."),
    ("topic", re.compile(rf"{_SUMMARISE}|overview\b|what (?:do|does) the (?:articles?|reports?|coverage) say\b|"
                         r"tell me (?:everything |all )?(?:about|what)|what is known about)", re.I),
     "What do the articles say about nuclear cooperation?"),
    ("count", re.compile(r"^\W*(?:(?:in|on|at|during) [^?]*?,\s*)?how many\b|\bthe number of\b|"
                         r"\bhow (?:often|many times)\b", re.I),
     "How many countries sent troops to the parade?"),
    ("why", re.compile(r"^\W*(?:why\b|how (?:come|(?!many\b|much\b|long\b|old\b|far\b|often\b)"
                       r"(?:did|does|do|is|was|were|has|have|had|can|could|will|would)\b)|"
                       r"what (?:are|were|is|was) the (?:reasons?|causes?|motives?)\b|for what reason\b|"
                       r"what (?:led|drove|caused|prompted|motivated)\b)", re.I),
     "Why does the junta need Russian aircraft?"),
    ("yesno", re.compile(r"^\W*(?:did|does|do|is|are|was|were|has|have|had|can|could|will|would|should|"
                         r"isn't|aren't|wasn't|weren't|didn't|doesn't|hasn't|haven't)\b(?![^?]*\bor\b)", re.I),
     "Has Xi Jinping invited the junta chief to Beijing?"),
    ("list", re.compile(r"^\W*(?:(?:according to|in|on|at|during|after|before|since)\b[^,?]*,\s*)?"
                        r"(?:(?:in|on|for|of|from|with|to)\s+)?(?:(?:what|which)\s+(?:(?:are|were)\b|(?-i:[A-Z]\w+\s+)?"
                        r"(?!(?:is|was|has|does|this|its)\b)\w+s\b)|"
                        r"(?:list|name)\b|what (?:kinds?|types?|sorts?) of\b)", re.I),
     "Which ministers went with him?"),
)


def form_of(question: str) -> str:
    """The question's form (``FORMS``): the first of ``RULES`` that matches, else "fact"."""
    for form, pattern, _ in RULES:
        if pattern.search(question):
            return form
    return "fact"


def plan_for(question: str) -> Plan:
    """The plan of the question's form: "Why did ...?" -> PLANS["why"]."""
    return PLANS[form_of(question)]
