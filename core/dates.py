"""Dates: ISO article dates ("2025", "2025-03", "2025-03-28"), months and years named in questions, and display."""
from __future__ import annotations

import re
from dataclasses import dataclass

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"]
_ABBR = {m[:3]: i + 1 for i, m in enumerate(MONTHS)} | {"sept": 9}
_MONTH_RE = re.compile(r"\b(" + "|".join(MONTHS) + r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?\b", re.I)
_YEAR_RE = re.compile(r"\b(19[5-9]\d|20\d\d)\b")
# "may", "march" and "mar" are also verbs: a month only next to a time word or a number ("in May", "May 2025",
# "5 March"), or, for March, capitalised inside the text: "soldiers sent to march alongside" names no month
_TIME_WORD = r"(in|of|since|until|during|early|late|mid|last|this|next|by|on|from|before|after|\d+)"
_VERB_MONTH_OK = {w: re.compile(rf"\b{_TIME_WORD}\s+{w}\b|\b{w}\.?\s+\d", re.I) for w in ("may", "march", "mar")}
_ISO = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
PRECISION = {4: "year", 7: "month", 10: "day"}


@dataclass(frozen=True)
class DateRef:
    """A month and/or year named in a question."""

    year: int | None = None
    month: int | None = None

    def label(self) -> str:
        """"March 2025", "March" or "2025"."""
        if self.month and self.year:
            return f"{MONTHS[self.month - 1].title()} {self.year}"
        return MONTHS[self.month - 1].title() if self.month else str(self.year)


def parse_iso(date: str | None) -> tuple[int, int | None, int | None] | None:
    """"2025-03" -> (2025, 3, None); "2025-03-28" -> (2025, 3, 28); "March" or None -> None."""
    m = _ISO.fullmatch((date or "").strip())
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)) if m.group(2) else None, int(m.group(3)) if m.group(3) else None


def is_iso(date: str, finest: str = "day") -> bool:
    """A date written as YYYY, YYYY-MM or (when ``finest`` is "day") YYYY-MM-DD, with a real month."""
    parts = parse_iso(date)
    if parts is None or (parts[2] is not None and finest != "day"):
        return False
    return parts[1] is None or 1 <= parts[1] <= 12


def human_date(date: str | None) -> str:
    """"2025-03" -> "March 2025"; "2025-05-09" -> "9 May 2025"; None -> "undated"."""
    if not date:
        return "undated"
    parts = date.split("-")
    try:
        if len(parts) == 1:
            return parts[0]
        month = MONTHS[int(parts[1]) - 1].title()
        return f"{int(parts[2])} {month} {parts[0]}" if len(parts) > 2 else f"{month} {parts[0]}"
    except (ValueError, IndexError):
        return date


_NUMERIC = re.compile(r"\b(\d{1,2})([/.])(\d{1,2})\2((?:19|20)?\d\d)\b")


def numeric_dates(text: str) -> list[DateRef]:
    """"on 24/08/2021" -> [DateRef(2021, 8)]; "16.01.19" -> [DateRef(2019, 1)]; day first unless it cannot be
    ("8/24/2021" -> August)."""
    out = []
    for m in _NUMERIC.finditer(text):
        a, b, y = int(m.group(1)), int(m.group(3)), int(m.group(4))
        month = b if b <= 12 else a if a <= 12 else None
        if month:
            out.append(DateRef(y + 2000 if y < 100 else y, month))
    return out


def find_dates(text: str) -> list[DateRef]:
    """"What was signed in March 2025?" -> [DateRef(2025, 3)]; "in 2021" -> [DateRef(2021, None)]; "on 24/08/2021"
    -> [DateRef(2021, 8)]."""
    numeric = numeric_dates(text)
    if numeric:
        text = _NUMERIC.sub(" ", text)
    return numeric + _named_dates(text)


def _named_dates(text: str) -> list[DateRef]:
    months = []
    for m in _MONTH_RE.finditer(text):
        word = m.group(1).lower()
        if word in _VERB_MONTH_OK and not _VERB_MONTH_OK[word].search(text) and not (
                word == "march" and m.group(1)[0] == "M" and m.start() > 0):
            continue
        months.append(MONTHS.index(word) + 1 if word in MONTHS else _ABBR[word[:4] if word.startswith("sept") else word[:3]])
    years = [int(y) for y in _YEAR_RE.findall(text)]
    if months and len(years) == 1:
        return [DateRef(years[0], m) for m in months]
    return [DateRef(None, m) for m in months] + [DateRef(y, None) for y in years]


# asks for a time: "When ...?", "In what year ...?"
_ASKS_WHEN = re.compile(r"^\W*(?:when\b|(?:in\s+)?(?:what|which)\s+(?:year|date|month|day)\b)", re.I)


def asks_when(question: str) -> bool:
    """"When was the deal signed?" and "In which year ...?" ask for a time; "What happened in May?" does not."""
    return bool(_ASKS_WHEN.search(question))


def article_matches(date: str | None, ref: DateRef) -> bool:
    """Article date "2025-03" matches DateRef(month=3) and DateRef(2025, 3), not DateRef(2021)."""
    if not date:
        return False
    parts = date.split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else None
    except ValueError:
        return False
    return (ref.year is None or ref.year == year) and (ref.month is None or ref.month == month)


def text_mentions(text: str, ref: DateRef) -> bool:
    """The passage names the month (and the year, when the question gives one)."""
    low = text.lower()
    if ref.month and not re.search(r"\b" + MONTHS[ref.month - 1] + r"\b", low):
        return False
    if ref.year and str(ref.year) not in low:
        return False
    return True


def in_range(date: str | None, start: str | None, end: str | None) -> bool:
    """Article date within ["2025-01", "2025-06"] (inclusive, by prefix); undated articles pass only with no range."""
    if not start and not end:
        return True
    if not date:
        return False
    d = date[:7]
    return (not start or d >= start[:7]) and (not end or d <= end[:7])


_M = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|" \
     r"jul|aug|sept?|oct|nov|dec)\b\.?"
# "June 20", "May 20-22", "February 1, 2021", "20 June 2021", "in June", "March this year", "September 2022", "in 2019"
_EVENT = re.compile(rf"\b{_M}\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:\s*[-–]\s*\d{{1,2}})?(?:,?\s+(\d{{4}}))?\b|"
                    rf"\b(\d{{1,2}})(?:\s*[-–]\s*\d{{1,2}})?\s+{_M}(?:,?\s+(\d{{4}}))?\b|"
                    rf"\b{_M}(?:\s+of)?\s+(\d{{4}}|this year|last year)\b|"
                    rf"\b(?:in|since|during|by|early|late|mid|from|until)[\s-]+{_M}(?!\.?\s+(?:\d|of\s+\d|this year|last year))|"
                    r"\b(?:in|since|during|by|early|late|mid|from|until|of)[\s-]+(\d{4})\b", re.I)


_SINCE = re.compile(r"\b(?:since|until|till|before|after)\s", re.I)


def _reference(text: str, at: int) -> bool:
    """The date at ``at`` is a point of reference: its clause says "since" ("ties have grown since the military
    seized power in February 2021"), "until", "before" or "after"."""
    clause = max(text.rfind(p, 0, at) for p in ",;:.()—")
    return bool(_SINCE.search(text, clause + 1, at + 6))


@dataclass(frozen=True)
class EventDate:
    """A date a sentence gives, resolved against its article's date: "June 20" in an article of 2021 is
    2021-06-20 (``year_from_article``)."""

    iso: str  # "2021-06-20", "2021-06" or "2021"
    year_from_article: bool = False
    since: bool = False  # a point of reference, not an event: "since February 2021", "until May"

    def label(self) -> str:
        return human_date(self.iso)


def _month_no(word: str) -> int:
    word = word.lower().rstrip(".")
    return MONTHS.index(word) + 1 if word in MONTHS else _ABBR[word[:4] if word.startswith("sept") else word[:3]]


def event_dates(text: str, article_date: str | None) -> list[EventDate]:
    """The dates ``text`` names, in order, each as an absolute date: in an article dated 2021-07, "June 20" ->
    2021-06-20, "March this year" -> 2021-03, "in 2019" -> 2019, "the 2014 Cup in July" -> 2014-07 (a year named
    before it in the text); a month or day with no year and an undated article is left out. "may"/"march" as verbs are no dates ("sent to march alongside")."""
    parts = parse_iso(article_date)
    year0 = parts[0] if parts else None
    out = []
    for m in _EVENT.finditer(text):
        g = m.groups()
        month_word = g[0] or g[4] or g[6] or g[8]
        if month_word and month_word.lower().rstrip(".") in ("may", "march", "mar") and not (
                g[1] or g[3] or (g[7] and g[7][0].isdigit()) or month_word[0].isupper()):
            continue
        day = g[1] or g[3]
        year_word = g[2] or g[5] or g[7] or g[9]
        if g[9]:
            out.append(EventDate(g[9], since=_reference(text, m.start())))
            continue
        year = int(year_word) if year_word and year_word[0].isdigit() else None
        if year_word and year_word.lower() == "last year" and year0:
            year = year0 - 1
        guessed = year is None
        before = [int(y.group(1)) for y in _YEAR_RE.finditer(text, 0, m.start())]
        year = year or (before[-1] if before and guessed and not year_word else None) or year0
        if year is None:
            continue
        iso = f"{year:04d}-{_month_no(month_word):02d}" + (f"-{int(day):02d}" if day and 1 <= int(day) <= 31 else "")
        since = _reference(text, m.start())
        out.append(EventDate(iso, guessed and not (year_word and "this" in year_word.lower()), since))
    return out
