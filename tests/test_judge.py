"""The model as judge of claims: the verdict logic with a scripted judge, then the real tiny model through
llama.cpp (its cached prompt reused), and an endpoint without token probabilities (the judge degrades)."""
import threading

import pytest

from core.records import Evidence
from core.text import sentence_spans
from rag import judge
from rag.llm import Verdict, _p_yes
from rag.pipeline import check_draft

ARTICLE = ("The ferry Nordlys ran aground near Tromso on 3 March 2022. "
           "All 84 passengers were taken off by lifeboats. "
           "Investigators blamed a faulty rudder sensor.")
QUESTION = "How many passengers were on the Nordlys?"


def evidence():
    return tuple(Evidence("f", "Ferry aground", "2022-03", s, e, ARTICLE[s:e], "f#0", 0.5)
                 for s, e in sentence_spans(ARTICLE))


def scripted(p_yes, why=""):
    asked = []

    def ask(claim, marker):
        asked.append((claim, marker))
        return Verdict(p_yes, 40, why)

    return ask, asked


def test_a_claim_the_judge_says_no_to_is_withdrawn_with_its_probability():
    ask, asked = scripted(0.12)
    checked = check_draft(QUESTION, "84 passengers were taken off by lifeboats [2].", evidence(), None, 0.45, judge=ask)
    assert asked == [("84 passengers were taken off by lifeboats.", 2)]
    assert checked.refused and checked.sentences[0].reason == "judge: no (p=0.12)"


def test_a_claim_the_judge_says_yes_to_keeps_the_rules_reason_and_adds_the_judges():
    ask, _ = scripted(0.91)
    checked = check_draft(QUESTION, "84 passengers were taken off by lifeboats [2].", evidence(), None, 0.45, judge=ask)
    assert not checked.refused and checked.citations[0].marker == 2
    assert checked.sentences[0].reason.endswith("judge: yes (p=0.91)")


def test_the_judge_is_not_asked_about_claims_the_rules_already_refused():
    ask, asked = scripted(0.99)
    checked = check_draft(QUESTION, "48 passengers were taken off by lifeboats [2].", evidence(), None, 0.45, judge=ask)
    assert asked == [] and checked.refused  # 48 is in no evidence: no model call spent on it


def test_an_unavailable_judge_keeps_the_rules_verdict_and_says_so():
    ask, _ = scripted(None, "the endpoint gives no token probabilities")
    checked = check_draft(QUESTION, "84 passengers were taken off by lifeboats [2].", evidence(), None, 0.45, judge=ask)
    assert not checked.refused
    assert "judge unavailable: the endpoint gives no token probabilities" in checked.sentences[0].reason


def test_p_yes_from_two_log_probabilities():
    assert _p_yes(0.0, -2.0) == pytest.approx(0.881, abs=1e-3)
    assert _p_yes(-2.0, 0.0) == pytest.approx(0.119, abs=1e-3)
    assert _p_yes(0.0, -1000.0) == pytest.approx(1.0)


def test_the_tiny_model_judges_reusing_its_cached_prompt(tiny_model):
    from core.settings import Settings
    from rag.llm import LlamaCppLLM
    from rag.prompt import build_messages

    llm = LlamaCppLLM(tiny_model, Settings.load(model_path=tiny_model))
    messages = build_messages(QUESTION, evidence())
    draft = "".join(p for p in llm.stream(messages, 24, 0.0, 60, threading.Event()) if isinstance(p, str))
    full = llm.count_tokens(str(messages))
    v = llm.yes_probability(judge.judge_messages(messages, draft, QUESTION, "There were 84 passengers.", 2), 60)
    assert 0.0 <= v.p_yes <= 1.0
    assert 0 < v.evaluated_tokens < 120 < full  # the answer's prompt came from llama.cpp's cache
