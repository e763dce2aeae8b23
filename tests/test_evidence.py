"""Evidence selection over the real seed index and embedder: offsets, budget, dates, neighbours."""
import threading

import numpy as np
import pytest

from embeddings.ingest import load_index

from rag import evidence
from rag.pipeline import estimate_tokens
from rag.retrieve import retrieve


def select(engine, question, budget=250):
    r = retrieve(question, engine.index, engine.embedder, engine.settings)
    return evidence.select(question, r.query_vector, r.hits, engine.index, engine.embedder, r.dates, budget,
                           estimate_tokens)


@pytest.mark.parametrize("question", ["Who is Morgan Michaels?", "What did Rosatom plan to build?",
                                      "Which warship docked in Yangon?"])
def test_offsets_are_exact_and_the_budget_holds(seed_engine, question):
    found = select(seed_engine, question)
    assert found
    for ev in found:
        assert seed_engine.index.documents[ev.source].text[ev.start:ev.end] == ev.text
    cost = sum(estimate_tokens(ev.text) + estimate_tokens(evidence.header(ev.title, ev.date)) for ev in found)
    assert len(found) == 1 or cost <= 250
    small = select(seed_engine, question, budget=40)
    assert len(small) <= len(found)


def test_articles_stay_together_best_first(seed_engine):
    found = select(seed_engine, "What did Russia and Myanmar agree on nuclear energy?", budget=400)
    sources = [ev.source for ev in found]
    assert sources == sorted(sources, key=lambda s: sources.index(s))  # each article's sentences are adjacent
    for a, b in zip(found, found[1:]):
        if a.source == b.source:
            assert a.score >= b.score


def test_a_date_in_the_question_is_honoured(seed_engine):
    found = select(seed_engine, "What happened in October 2021?")
    top = found[0]
    assert "October 2021" in top.text or (top.date or "").startswith("2021-10")


def test_a_pronoun_sentence_brings_the_one_before_it_from_its_own_article():
    text = "Ivan Petrov met the minister in Mombasa. He signed two deals. The port reopened."
    s = text.index("He signed")
    assert evidence._with_context(text, s, text.index(" The port")) == 0  # joined
    assert evidence._with_context(text, text.index("The port"), len(text)) == text.index("The port")
    first = "He arrived on Monday. The talks began."
    assert evidence._with_context(first, 0, first.index(" The")) == 0  # nothing before it to join
    para = "Old story ends here.\n\nThey met again in June."
    s = para.index("They")
    assert evidence._with_context(para, s, len(para)) == s  # not across a paragraph break


def test_sentence_vectors_are_embedded_once_per_index(seed_engine):
    from embeddings.embedder import embed_texts

    index = seed_engine.index
    chunk = index.chunks[3]
    spans = [(chunk.source, s, e) for s, e in index.sentences(chunk)]
    first = index.sentence_vectors(spans, lambda batch: embed_texts(seed_engine.embedder, batch))
    text = index.documents[chunk.source].text
    assert np.allclose(first, embed_texts(seed_engine.embedder, [text[s:e] for _, s, e in spans]), atol=1e-5)
    again = index.sentence_vectors(spans[::-1], lambda batch: pytest.fail("embedded again"))
    assert np.array_equal(again, first[::-1])


def test_warming_embeds_each_sentence_once_and_a_question_then_embeds_none(seed_engine):
    index = load_index(seed_engine.settings)  # a loaded index of its own: an empty sentence cache
    assert evidence.warm(index, seed_engine.embedder, threading.Event(), max_passages=len(index.chunks) - 1) == 0
    stopped = threading.Event()
    stopped.set()
    assert evidence.warm(index, seed_engine.embedder, stopped) == 0 and not index._sentence_vectors
    n = evidence.warm(index, seed_engine.embedder, threading.Event())
    assert n == len(index._sentence_vectors) > 50
    question = "Which warship docked in Yangon?"
    r = retrieve(question, index, seed_engine.embedder, seed_engine.settings)
    warm = evidence.select(question, r.query_vector, r.hits, index, seed_engine.embedder, r.dates, 250,
                           estimate_tokens)
    assert len(index._sentence_vectors) == n  # nothing new was embedded for the question
    cold = select(seed_engine, question)
    assert [(e.source, e.start, e.end) for e in warm] == [(e.source, e.start, e.end) for e in cold]


def test_a_sentence_is_scored_together_with_the_one_it_needs(tmp_path, settings_for):
    """The answer ("He held talks with Rustam Ivanov") names neither the general nor Kazan; the sentence before it
    does. Scored as one unit, the two are the best evidence even when the budget holds a single item."""
    from rag.pipeline import open_engine

    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "kazan.txt").write_text(
        "Talks in Tatarstan\n\nThe general flew to Moscow on Monday and toured a tank factory outside the city. "
        "Later in the week the general travelled to Kazan, the capital of Tatarstan, to visit a helicopter plant. "
        "He held talks with regional leader Rustam Ivanov about trade and education. "
        "The delegation returned home on Friday after a stop in Minsk. "
        "Officials described the trip to Kazan as a success for the general and his hosts.", encoding="utf-8")
    engine, _ = open_engine(settings_for(folder))
    found = select(engine, "Who did the general hold talks with in Kazan?", budget=60)
    assert "Rustam Ivanov" in found[0].text and found[0].text.startswith("Later in the week")
