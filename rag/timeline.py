"""Timelines without the model: the dated evidence sentences, each under the date it gives resolved against its
article's date, in date order, quoted (nothing is written that the articles do not say).

Worked example, "Give a timeline of the junta chief's visits to Russia in 2021.": the evidence (dated sentences
only, ordered by date) holds "June 20: Snr. Gen. Min Aung Hlaing embarks on a week-long visit to Russia" from an
article dated 2021 -> 20 June 2021; the question's "in 2021" keeps entries dated 2021 (not "September 2022"); an
entry scoring under ``RELEVANT`` x the best one is left out (a dated sentence about something else).
"""
from __future__ import annotations

import re

from core.dates import DateRef, EventDate, event_dates, find_dates
from core.records import Evidence, SentenceVerdict, TimelineItem

RELEVANT = 0.55  # an entry's evidence score against the best entry's
_LEADING_DATE = re.compile(r"^\s*[A-Z][a-z]+\.?\s+\d{1,2}(?:\s*[-–]\s*\d{1,2})?(?:,\s*\d{4})?\s*:\s*")
NO_EVENTS = "The articles give no dated events about this."


def _holds(iso: str, asked: list[DateRef]) -> bool:
    """The entry's date fits the year or month the question names (``asked``: "in 2021": 2021-06-20 does), or lies
    between the first and the last it names ("from the 2021 coup to the May 2025 parade": 2022-09 does)."""
    named = sorted(f"{d.year:04d}" + (f"-{d.month:02d}" if d.month else "") for d in asked if d.year)
    if not named:
        return all(not d.month or (len(iso) >= 7 and int(iso[5:7]) == d.month) for d in asked)
    return named[0] <= iso[:len(named[0])] and iso[:len(named[-1])] <= named[-1]


def items(question: str, evidence: tuple[Evidence, ...]) -> list[TimelineItem]:
    """One entry per relevant dated evidence sentence, by date (then by article and place in it)."""
    best = max((ev.score for ev in evidence), default=0.0)
    asked = find_dates(question)
    out = []
    for n, ev in enumerate(evidence, 1):
        own = [d for d in event_dates(ev.text, ev.date) if not d.since] or ([EventDate(ev.when)] if ev.when else [])
        dates = [d for d in own if _holds(d.iso, asked)]  # its own date, else its line's
        if not dates or ev.score < RELEVANT * best:
            continue
        text = _LEADING_DATE.sub("", " ".join(ev.text.split()), count=1)
        out.append(TimelineItem(dates[0].iso, dates[0].label(), n, ev.source, text, dates[0].year_from_article))
    return sorted(out, key=lambda it: (it.date, it.marker))


def verdicts(entries: list[TimelineItem], evidence: tuple[Evidence, ...]) -> list[SentenceVerdict]:
    """Each entry as a claim quoted from its evidence sentence (so supported by construction)."""
    return [SentenceVerdict(f"{it.label}: {it.text}", (it.marker,), True, True, False, (), 1.0,
                            evidence[it.marker - 1].text, "quoted from the evidence, date resolved")
            for it in entries]


def render(entries: list[TimelineItem]) -> str:
    """"- 20 June 2021: Snr. Gen. Min Aung Hlaing embarks on a week-long visit to Russia ... [3]" per line."""
    lines = []
    for it in entries:
        text = it.text if it.text[-1:] in ".!?" else it.text + "."
        lines.append(f"- {it.label}: {text[:-1]} [{it.marker}]{text[-1]}")
    return "\n".join(lines)
