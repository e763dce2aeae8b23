import pytest

from core.dates import DateRef, article_matches, find_dates, in_range, text_mentions
from core.dates import human_date


@pytest.mark.parametrize("q,expected", [
    ("What agreements were signed in March?", [DateRef(None, 3)]),
    ("What happened in March 2025?", [DateRef(2025, 3)]),
    ("What happened in 2021?", [DateRef(2021, None)]),
    ("Which warship visited Yangon in October 2021?", [DateRef(2021, 10)]),
    ("What may happen next?", []),
    ("What was said in May?", [DateRef(None, 5)]),
    ("Who is Morgan Michaels?", []),
    ("How many soldiers were sent to march alongside the troops?", []),  # the verb, not the month
    ("what was signed in march?", [DateRef(None, 3)]),
    ("Who arrived on 5 march?", [DateRef(None, 3)]),
    ("Who arrived in Yangon in mar 2025?", [DateRef(2025, 3)]),
    ("Did the strike mar the talks?", []),
])
def test_find_dates(q, expected):
    assert find_dates(q) == expected


def test_article_matches():
    assert article_matches("2025-03", DateRef(None, 3))
    assert article_matches("2025-03", DateRef(2025, 3))
    assert not article_matches("2025-03", DateRef(2021, None))
    assert article_matches("2025-05-09", DateRef(2025, 5))
    assert not article_matches(None, DateRef(2025, None))


def test_text_mentions_and_range():
    assert text_mentions("signed in March this year", DateRef(None, 3))
    assert not text_mentions("signed in March this year", DateRef(2021, 3))
    assert in_range("2025-03", "2025-01", "2025-06") and not in_range("2021-10", "2025-01", None)
    assert in_range(None, None, None) and not in_range(None, "2020-01", None)


def test_human_date():
    assert human_date("2025-03") == "March 2025"
    assert human_date("2025-05-09") == "9 May 2025"
    assert human_date(None) == "undated"


def test_prompt_asks_for_the_year_of_a_bare_month():
    from rag.prompt import build_messages
    from core.records import Evidence

    hits = [Evidence("a", "T", "2025-03", 0, 5, "text.", "a#0", 1.0)]
    user = build_messages("What was signed in March?", hits)[-1]["content"]
    assert "March without a year" in user and "(March 2025)" in user
    assert "without a year" not in build_messages("What was signed in March 2025?", hits)[-1]["content"]


@pytest.mark.parametrize("question, expected", [
    ("When was the Pixel 5a announced?", True), ("In which year did the ferry sink?", True),
    ("What date was the deal signed?", True), ("What happened in May 2024?", False),
    ("Who met Putin when he visited?", False)])
def test_asks_when(question, expected):
    from core.dates import asks_when

    assert asks_when(question) is expected
