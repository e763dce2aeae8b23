"""Text helpers shared by every stage: one sentence splitter, one tokenizer, one name finder."""
from __future__ import annotations

import re

# a sentence ends at . ! ? (optionally followed by quotes/brackets) before whitespace, or at a line break
_SENT_END = re.compile(r"""[.!?]+["'”’)\]]*(?=\s)|\n+""")
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_CAPITALISED = re.compile(r"(?<![\w'’])[A-Z][\w\-]+")

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
nor not now of off on once only or other our ours out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself said says say yes
""".split())


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of sentences in ``text[start:end]``, whitespace trimmed: "A b. C d." -> [(0, 4), (5, 9)]."""
    end = len(text) if end is None else end
    spans = []
    pos = start
    for m in _SENT_END.finditer(text, start, end):
        spans.append((pos, m.end()))
        pos = m.end()
    spans.append((pos, end))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def tokenize(text: str) -> list[str]:
    """Lower-case words and numbers minus stop words, crudely singular: "The Agreements, 2.3bn" -> ['agreement', '2.3bn']."""
    out = []
    for w in _WORD.findall(text.lower().replace("’", "'")):
        if w in STOPWORDS or (len(w) == 1 and not w.isdigit()):
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss") and not w[0].isdigit():
            w = w[:-1]
        out.append(w)
    return out


def capitalised(text: str) -> list[tuple[int, str]]:
    """Capitalised words with their offsets, possessives left off: "Ask Russia's navy" -> [(0, 'Ask'), (4, 'Russia')]."""
    return [(m.start(), m.group(0)) for m in _CAPITALISED.finditer(text)]


def name_tokens(text: str) -> list[str]:
    """Tokens of capitalised words of 3+ letters: "The Kremlin hosted Min Aung Hlaing" -> kremlin, min, aung, hlaing."""
    out = []
    for _, word in capitalised(text):
        if len(word) >= 3:
            out.extend(w for w in tokenize(word) if not w[0].isdigit())
    return out
