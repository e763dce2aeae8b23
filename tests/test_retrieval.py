"""Retrieval over the real seeds: every answerable dev question finds a source in the top k."""
import json

import pytest

from rag.retrieve import retrieve
from tests.conftest import DEV

QUESTIONS = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()] if DEV.exists() else []


@pytest.mark.skipif(not QUESTIONS, reason="../shared/eval/dev.jsonl not found")
@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_answerable_dev_questions_find_a_source(seed_engine, mode):
    misses = []
    for q in QUESTIONS:
        if not q["answerable"]:
            continue
        r = retrieve(q["question"], seed_engine.index, seed_engine.embedder, seed_engine.settings, mode=mode)
        if not any(h.chunk.source in q["sources"] for h in r.hits):
            misses.append(q["id"])
        assert r.decline_reason is None, (q["id"], r.decline_reason)
    if mode == "hybrid":
        assert misses == []
    else:
        assert len(misses) <= 2, misses


def test_hits_are_ranked_and_carry_scores(seed_engine):
    r = retrieve("Which Russian warship visited Yangon?", seed_engine.index, seed_engine.embedder, seed_engine.settings, k=5)
    assert len(r.hits) == 5
    assert [h.score for h in r.hits] == sorted((h.score for h in r.hits), reverse=True)
    assert all(-1 <= h.dense_score <= 1 for h in r.hits)
    assert r.hits[0].chunk.source == "004_6442ee56b40e60eb"


def test_unrelated_question_declines_before_the_llm(seed_engine):
    r = retrieve("How do I bake sourdough bread at home?", seed_engine.index, seed_engine.embedder, seed_engine.settings)
    assert r.decline_reason


def test_unknown_name_declines(seed_engine):
    r = retrieve("What did Myanmar sign with Portugal?", seed_engine.index, seed_engine.embedder, seed_engine.settings)
    assert r.decline_reason and "Portugal" in r.decline_reason


@pytest.mark.parametrize("question,declined", [
    ("Which Russian warship docked in Yangoon?", False),  # 'yangon' misspelt: a slip of a known word
    ("When did Min Aung Hlaing visit Vladivostock?", False),
    ("What did Myanmar sign with Portugall?", True),  # no article word is near it
    ("Did Myanmar sign a deal with Iran?", True),  # short names must match exactly
])
def test_a_misspelt_name_is_not_an_unknown_one(seed_engine, question, declined):
    r = retrieve(question, seed_engine.index, seed_engine.embedder, seed_engine.settings)
    assert bool(r.decline_reason) == declined, r.decline_reason


def test_month_question_prefers_passages_of_that_month(seed_engine):
    r = retrieve("What agreements were signed in March?", seed_engine.index, seed_engine.embedder, seed_engine.settings)
    assert any("March" in h.chunk.text or (h.chunk.date or "").endswith("-03") for h in r.hits[:2])


def test_date_range_filter(seed_engine):
    r = retrieve("Russia and Myanmar relations", seed_engine.index, seed_engine.embedder, seed_engine.settings,
                 date_range=("2021-01", "2021-12"))
    assert r.hits and all(h.chunk.date.startswith("2021") for h in r.hits)
