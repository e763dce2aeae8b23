import pytest

from rag.eval.scoring import contains_phrase, judge, normalise, percentile, summarise


def test_normalise_keeps_decimal_points_between_digits():
    assert normalise("US$2.3 billion, in 2021.") == ["us", "2.3", "billion", "in", "2021"]


@pytest.mark.parametrize("answer,phrase,ok", [
    ("Russia sold US$2.3 billion of arms", "2.3 billion", True),
    ("Russia sold US$2.3 billion of arms", "2 billion", False),
    ("He called Putin a king.", "king", True),
    ("the kingdom", "king", False),
    ("INFORMATION TECHNOLOGY deals", "information technology", True),
    ("information, technology", "information technology", True),
    ("ten", "10", False),
    ("", "x", False),
])
def test_contains_phrase(answer, phrase, ok):
    assert contains_phrase(answer, phrase) is ok


ITEM = {"id": "q", "answerable": True, "facts": [["10", "ten"], ["trade"], ["nuclear"]], "sources": ["a"]}


def result(answer, cited=(), retrieved=("a",), refused=False):
    return {"answer": answer, "refused": refused, "citations": [{"source": s} for s in cited],
            "retrieved": [{"source": s} for s in retrieved], "timings": {"first_token_s": 1.0, "total_s": 2.0}}


def test_partial_facts():
    v = judge(ITEM, result("Ten deals on trade [1].", ["a"]))
    assert v["fact_recall"] == pytest.approx(2 / 3)
    assert not v["all_facts"] and v["facts_missed"] == ["nuclear"] and v["verdict"] == "partial"


def test_declined_answerable_scores_zero():
    v = judge(ITEM, result("The articles do not cover this.", refused=True))
    assert v["fact_recall"] == 0 and v["refused"] and v["verdict"] == "declined"


def test_wrong_citations_lower_precision():
    v = judge(ITEM, result("Ten trade nuclear.", ["a", "b"]))
    assert v["citation_precision"] == 0.5 and v["citation_hit"]
    v = judge(ITEM, result("Ten trade nuclear.", ["b"]))
    assert v["citation_precision"] == 0 and not v["citation_hit"] and v["verdict"] == "wrong source"


def test_summary():
    unans = {"id": "u", "answerable": False, "facts": [], "sources": []}
    items = [ITEM, unans]
    results = [result("10 trade nuclear", ["a"]), result("no", refused=True)]
    s = summarise([judge(i, r) for i, r in zip(items, results)], results)
    assert s["fact_recall"] == 1 and s["citation_precision"] == 1 and s["citation_recall"] == 1
    assert s["correct_refusal"] == 1 and s["false_refusal"] == 0 and s["retrieval_hit"] == 1


def test_percentile():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([], 50) is None
    assert percentile([5], 95) == 5


def test_facts_in_evidence_count_what_the_model_was_given_even_when_it_declined():
    r = result("The articles don't answer this.", refused=True) | {
        "evidence": [{"source": "a", "text": "Ten deals were signed."}, {"source": "b", "text": "On nuclear power."}]}
    v = judge(ITEM, r)
    assert v["fact_recall"] == 0 and v["evidence_facts"] == pytest.approx(2 / 3)  # ten, nuclear; not trade
    assert summarise([v], [r])["facts_in_evidence"] == pytest.approx(2 / 3)
    assert judge(ITEM, result("Ten."))["evidence_facts"] is None  # an older run without evidence
