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


def find_dates(text: str) -> list[DateRef]:
    """"What was signed in March 2025?" -> [DateRef(2025, 3)]; "in 2021" -> [DateRef(2021, None)]."""
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
