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


def prompt_cost(found) -> int:
    """The evidence's tokens as the prompt writes it, each sentence under its header."""
    return sum(estimate_tokens(ev.text) + estimate_tokens(evidence.header(ev.title, ev.date, n, ev.text))
               for n, ev in enumerate(found, 1))


@pytest.mark.parametrize("question", ["Who is Morgan Michaels?", "What did Rosatom plan to build?",
                                      "Which warship docked in Yangon?"])
def test_offsets_are_exact_and_the_budget_holds(seed_engine, question):
    found = select(seed_engine, question)
    assert found
    for ev in found:
        assert seed_engine.index.documents[ev.source].text[ev.start:ev.end] == ev.text
    assert len(found) == 1 or prompt_cost(found) <= 250
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


def test_a_header_drops_only_a_title_the_sentence_repeats():
    full = evidence.header("Port reopens after storm", "2024-05", 2, "The port reopened on Monday.")
    assert full == '[2] From "Port reopens after storm" (May 2024):\n'
    snippet = "Beijing was elected as the host city for the 2008 Summer Olympics on 13 July 2001."
    assert evidence.header("Beijing was elected as the host city …", None, 1, snippet) == \
        "[1] From an article (undated):\n"
    assert evidence.header("Beijing, China, 2008. In 2008 the Games …", None, 1, "In 2008 the Games were held in "
                           "China.").startswith('[1] From "Beijing, China')  # the title says more: kept


def test_a_connective_alone_does_not_pull_in_the_sentence_before():
    text = "Ivan Petrov met the minister in Mombasa. But ties reached a new level in March. These talks ran late."
    s = text.index("But")
    assert evidence._with_context(text, s, text.index(" These")) == s
    assert evidence._with_context(text, text.index("These"), len(text)) == s


def test_a_sentence_two_articles_share_is_given_once_within_the_budget(tmp_path, settings_for):
    """Two outlets ran the same agency copy: the shared sentence is evidence once, and the tokens it would have
    taken again go to the next best sentence."""
    from rag.pipeline import open_engine

    folder = tmp_path / "articles"
    folder.mkdir()
    shared = "The ferry Amina Star sank near Lamu on Tuesday with 40 passengers aboard. "
    (folder / "a.txt").write_text("Ferry sinks off Lamu\n\n" + shared + "Rescuers pulled 38 people from the water "
                                  "by nightfall. The coast guard blamed an overloaded deck.", encoding="utf-8")
    (folder / "b.txt").write_text("Lamu ferry disaster\n\n" + shared + "Two passengers are still missing, the "
                                  "county said. Relatives gathered at the jetty on Wednesday.", encoding="utf-8")
    engine, _ = open_engine(settings_for(folder))
    found = select(engine, "How many passengers were aboard the ferry that sank near Lamu?", budget=400)
    texts = [" ".join(ev.text.split()) for ev in found]
    assert texts.count(shared.strip()) == 1
    assert len(found) == len(set(texts)) >= 4


def test_a_when_question_prefers_a_sentence_that_names_a_time():
    from core.dates import DateRef

    assert evidence._date_fit("Pixel 5a arrives on August 26.", None, (), True) == 1.0
    assert evidence._date_fit("Google introduced the Pixel 5a.", None, (), True) == 0.0
    in_2022 = (DateRef(2022, None),)
    assert evidence._date_fit("He met Putin in September 2022 in Vladivostok.", None, in_2022, True) == 1.0
    assert evidence._date_fit("In 2021 and 2022 he went to Russia three times.", None, in_2022, True) == 0.5
    assert evidence._date_fit("In 2021 and 2022 he went to Russia three times.", None, in_2022, False) == 1.0
    assert evidence._date_fit("He met Putin in September 2019.", None, in_2022, True) == 0.0


def test_a_when_question_ranks_the_sentence_with_the_date_higher(tmp_path, settings_for):
    """"The harbour's first ship docked on 4 June 2023" says when; asked "When ...?", it outranks the sentences
    that only share the question's words, which outrank it when the same words ask something else."""
    from rag.pipeline import open_engine

    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "kilifi.txt").write_text(
        "Kilifi harbour opens to fishing crews\n\nThe Kilifi harbour was planned for a decade by the county, and the "
        "harbour works were delayed twice by floods. Fishing crews at the Kilifi harbour welcomed the new berths and "
        "the cold store. The harbour's first ship docked on 4 June 2023. The county says the Kilifi harbour will "
        "open to cargo ships once its crane arrives.", encoding="utf-8")
    engine, _ = open_engine(settings_for(folder))

    def ranked(question):
        r = retrieve(question, engine.index, engine.embedder, engine.settings)
        cands = evidence.candidates(r.hits, engine.index)
        scores = evidence.score(question, r.query_vector, cands, engine.index, engine.embedder, r.dates)
        text = engine.index.documents[cands[0][0].chunk.source].text
        return [text[s:e] for (_, s, e), _ in sorted(zip(cands, scores), key=lambda x: -x[1])]

    dated = "The harbour's first ship docked on 4 June 2023."
    when, plain = ranked("When did the Kilifi harbour open?"), ranked("Did the Kilifi harbour open?")
    assert when.index(dated) < plain.index(dated)
    assert when.index(dated) < min(i for i, t in enumerate(when) if t.startswith(("The Kilifi", "Fishing")))


FACTS = ("Port history\n\nMarch 3, 2018 - The port closes for repairs. Divers find the worst wreck since 1990. "
         "Work stops for a week in April.\n\nJune 2019: The port reopens. Ferries return.\nThe mayor is pleased.")


@pytest.mark.parametrize("sentence,when", [
    ("Divers find the worst wreck", "2018-03-03"),  # the line's date: "since 1990" dates no event
    ("Work stops for a week", None),  # it names its own month
    ("Ferries return", "2019-06"),
    ("The mayor is pleased", None),  # its line opens with no date
])
def test_a_sentence_under_a_dated_line_has_that_date(sentence, when):
    s = FACTS.index(sentence)
    e = FACTS.index(".", s) + 1
    assert evidence.line_date(FACTS, s, e, "2020-01") == when
    if when:
        assert evidence.header("Port history", "2020-01", 2, FACTS[s:e], when).endswith(
            f"(January 2020), under {'3 March 2018' if when == '2018-03-03' else 'June 2019'}:\n")


def test_a_date_of_the_question_holds_through_the_line_date():
    from core.records import Evidence
    from rag.pipeline import check_draft

    text = "The deal is defeated 432 votes to 202, the worst defeat in a century."

    def asked(when):
        found = (Evidence("f", "Fast facts", "2019-03", 0, len(text), text, "f#0", 0.5, when),)
        return check_draft("By what margin was the deal defeated in January 2019?", "432 votes to 202 [1].",
                           found, None, 0.45)

    assert not asked("2019-01-15").refused
    assert asked("2019-02-10").refused  # the entry is of February: January does not hold
    assert asked(None).refused  # only the article's March


@pytest.mark.parametrize("text", ["Since 2015: the talks failed. Sanctions were imposed.",
                                  "By 2030 - the port will grow. Sanctions were imposed.",
                                  "In January, the minister said: we go. Sanctions were imposed.",
                                  "YANGON, Dec 31 (Reuters) - Talks failed. Sanctions were imposed."])
def test_a_line_that_opens_with_no_event_date_dates_nothing(text):
    s = text.index("Sanctions")
    assert evidence.line_date(text, s, len(text), "2021-06") is None
