"""End to end with the real embedder, FAISS and the tiny real LLM (SmolLM2-135M): shapes and guarantees,
not answer quality, which the tiny model cannot give."""
import pytest

from core.errors import QuestionError
from rag.pipeline import Found, ask, ask_stream, clean_question, retrieval_query
from core.records import Answer


def test_answer_streams_then_finishes_with_a_checked_answer(seed_engine):
    items = list(ask_stream(seed_engine, "Which Russian warship visited Yangon in October 2021?"))
    found, pieces, final = items[0], items[1:-1], items[-1]
    assert isinstance(found, Found) and found.evidence  # the evidence comes before the model's first token
    assert any("Gremyashiy" in ev.text for ev in found.evidence)
    for ev in found.evidence:
        assert seed_engine.index.documents[ev.source].text[ev.start:ev.end] == ev.text
    assert isinstance(final, Answer) and final.evidence == found.evidence
    assert pieces and all(isinstance(p, str) for p in pieces)
    assert final.retrieved and final.retrieved[0].chunk.source == "004_6442ee56b40e60eb"
    assert final.timings.first_token_s <= final.timings.total_s
    assert final.prompt_tokens > 100 and final.completion_tokens > 0
    assert final.model.endswith(".gguf")
    data = final.to_json()
    for key in ("question", "answer", "refused", "citations", "retrieved", "timings", "prompt_tokens",
                "completion_tokens", "model"):
        assert key in data
    for c in final.citations:  # every citation points at real text of its article
        doc = seed_engine.index.documents[c.source]
        assert doc.text[c.start:c.end] == c.quote
        assert 1 <= c.marker <= len(final.evidence)
    if not final.refused:
        assert final.citations and any(s.supported for s in final.sentences)


def test_evidence_stays_within_its_budget(seed_engine):
    from rag.pipeline import estimate_tokens

    found = next(x for x in ask_stream(seed_engine, "What agreements were signed in March?") if isinstance(x, Found))
    from rag.evidence import header

    cost = sum(estimate_tokens(ev.text) + estimate_tokens(header(ev.title, ev.date, n, ev.text))
               for n, ev in enumerate(found.evidence, 1))
    assert found.plan.form == "list"  # a list question's budget: 1.5 x 170
    assert len(found.evidence) == 1 or cost <= found.plan.evidence_tokens(seed_engine.settings.evidence_tokens)


def test_the_token_estimate_counts_digits_and_marks_as_the_model_does():
    from rag.pipeline import estimate_tokens

    assert estimate_tokens("On Aug 17, 2021 ...") == 12  # Qwen2.5: 12; four characters a token said 5
    assert estimate_tokens("Revenue: $6.04 billion") == 8
    assert estimate_tokens("") == 0
    assert estimate_tokens("internationalisation") == 3  # one long word, more than one token


def test_unrelated_question_is_declined_without_the_llm(seed_engine):
    calls = []
    llm = seed_engine.llm
    real = llm.stream
    llm.stream = lambda *a, **k: calls.append(1) or real(*a, **k)
    try:
        a = ask(seed_engine, "How do I bake sourdough bread at home?")
    finally:
        llm.stream = real
    assert a.refused and not calls and a.retrieved
    assert a.answer.startswith("Nothing in the articles is close to this question") and "similarity" in a.detail


@pytest.mark.parametrize("question,message", [
    ("", "empty"), ("   \n\t ", "empty"), ("\x00\x01\x02", "empty"), ("x" * 10_000, "limit is 2,000"),
])
def test_bad_questions_say_what_to_do(seed_engine, question, message):
    with pytest.raises(QuestionError, match=message):
        ask(seed_engine, question)


def test_clean_question_strips_control_characters(seed_engine):
    assert clean_question("  Who\x07 is\u200f Morgan\n Michaels? ", seed_engine.settings) == "Who is Morgan Michaels?"


def test_follow_up_retrieval_uses_the_previous_question():
    hist = [("Who is Morgan Michaels?", "A researcher.")]
    assert retrieval_query("What did he say about Russia's role?", hist).startswith("Who is Morgan Michaels?")
    assert retrieval_query("Which warship visited Yangon in October 2021?", hist) == \
        "Which warship visited Yangon in October 2021?"
    assert retrieval_query("What did he say?", []) == "What did he say?"


def test_finish_with_scripted_model_text(seed_engine):
    """Parsing and checking on fixed model output (no LLM): bad markers dropped, refusals recognised."""
    from rag import evidence
    from rag.pipeline import estimate_tokens, finish
    from rag.retrieve import retrieve

    q = "Which Russian warship visited Yangon in October 2021?"
    r = retrieve(q, seed_engine.index, seed_engine.embedder, seed_engine.settings)
    found = evidence.select(q, r.query_vector, r.hits, seed_engine.index, seed_engine.embedder, r.dates,
                            seed_engine.settings.evidence_tokens, estimate_tokens)
    n, sentence = next((i, ev.text) for i, ev in enumerate(found, 1) if "Gremyashiy" in ev.text)
    a = finish(seed_engine, q, f"{sentence} [{n}][99].", r, found)
    assert not a.refused and a.citations[0].marker == n and a.sentences[0].dropped_markers == (99,)
    assert a.sentences[0].supported
    a = finish(seed_engine, q, "NOT IN ARTICLES", r, found)
    assert a.refused and a.text.startswith("The articles don't answer") and "closest passages" in a.text
    a = finish(seed_engine, q, "The Russian warship Gremyashiy visited Yangon [1]. It carried 40 tanks [1].", r, found)
    assert not a.refused and "40 tanks" not in a.text and "do not state the rest" in a.text  # an honest partial
    assert [s.supported for s in a.sentences] == [True, False] and "40" in a.sentences[1].reason
    a = finish(seed_engine, q, "The Eiffel Tower is 330 metres tall [1].", r, found)
    assert a.refused and "no sentence" in a.detail


class SlowLLM:
    """A scripted LLM that reports hitting its time limit (the timeout path, without waiting for one)."""

    name = "scripted"

    def count_tokens(self, text):
        return len(text) // 4

    def stream(self, messages, max_tokens, temperature, timeout_s, stop=None):
        from rag.llm import Usage

        yield "The Russian warship Gremyashiy visited Yangon in October 2021."
        yield Usage(prompt_tokens=10, completion_tokens=1, timed_out=True)


def test_generation_time_limit_keeps_the_partial_answer(seed_engine):
    from rag.pipeline import Engine

    engine = Engine(seed_engine.settings, seed_engine.index, seed_engine.embedder, SlowLLM())
    a = ask(engine, "Which Russian warship visited Yangon in October 2021?")
    assert "Gremyashiy" in a.answer and "generation limit was reached" in a.answer


def test_evidence_found_ahead_is_answered_without_searching_again(seed_engine, monkeypatch):
    from rag import pipeline

    found = pipeline.find(seed_engine, "  Who is Morgan   Michaels? ")
    assert found.question == "Who is Morgan Michaels?" and found.evidence and found.seconds > 0
    monkeypatch.setattr(pipeline, "retrieve", lambda *a, **k: pytest.fail("searched again"))
    items = list(ask_stream(seed_engine, "Who is Morgan Michaels?", found=found))
    assert items[0] is found and isinstance(items[-1], Answer) and items[-1].evidence == found.evidence


def test_the_check_knows_the_whole_article_of_its_evidence(tmp_path, settings_for):
    """Evidence "the admiral called the minister a friend", from an article that names Ivan Petrov further up:
    the answer to "What did Ivan Petrov call the minister?" stands (scripted draft, real index)."""
    from core.records import Evidence
    from rag.pipeline import finish, open_engine
    from rag.retrieve import retrieve

    folder = tmp_path / "articles"
    folder.mkdir()
    text = ("Port talks\n\nVice Admiral Ivan Petrov arrived in Mombasa on Monday with three frigates.\n\n"
            "The visit ended with a dinner for the crews and officials. At the dinner, the admiral called the "
            "minister a trusted friend of the fleet.")
    (folder / "port.txt").write_text(text, encoding="utf-8")
    engine, _ = open_engine(settings_for(folder))
    doc = engine.index.documents["port"]
    s = doc.text.index("The visit ended")
    found = (Evidence("port", doc.title, doc.date, s, len(doc.text.rstrip()), doc.text[s:].rstrip(), "port#1", 0.5),)
    q = "What did Ivan Petrov call the minister?"
    r = retrieve(q, engine.index, engine.embedder, engine.settings)
    a = finish(engine, q, "He called the minister a trusted friend of the fleet [1].", r, found)
    assert not a.refused and a.sentences[0].supported, a.sentences[0].reason
    a = finish(engine, "What did Oleg Sidorov call the minister?", "He called the minister a trusted friend [1].",
               r, found)
    assert a.refused and "oleg sidorov" in a.sentences[0].reason
