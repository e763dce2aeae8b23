"""Claim-level checking with a scripted model's output (no LLM): each claim against the evidence sentence it cites,
and the news-aware sentence splitter. Cases of our own, not from the evaluation sets."""
import pytest

from core.records import Evidence
from core.text import sentence_spans
from rag import cite

ARTICLE = ("The Admiral Kuznetsov carrier docked in Mombasa on 4 May 2024 for a three-day visit. "
           "Kenya's navy chief Rear Admiral Jimson Mutai welcomed its crew of 1,500 sailors. "
           "Kenya bought 12 patrol boats from Turkey in 2023.")


def evidence(text=ARTICLE, title="Navy visit", date="2024-05"):
    out = []
    for s, e in sentence_spans(text):
        out.append(Evidence("a", title, date, s, e, text[s:e], "a#0", 0.5))
    return out


def check(claim, question, markers=(1,), ev=None):
    return cite.check_sentences([cite.Sentence(claim, markers)], ev or evidence(), question)[0]


@pytest.mark.parametrize("claim,question,markers", [
    ("The Admiral Kuznetsov docked in Mombasa on 4 May 2024.", "Which carrier docked in Mombasa?", (1,)),
    ("Rear Admiral Jimson Mutai welcomed the crew.", "Who welcomed the carrier's crew?", (2,)),
    ("The crew numbered 1,500 sailors.", "How many sailors were in the crew?", (2,)),
    ("Kenya bought twelve patrol boats from Turkey.", "What did Kenya buy from Turkey?", (3,)),  # 12 written as a word
    ("It stayed for three days in Mombasa.", "How long did the carrier visit Mombasa?", (1,)),  # paraphrase
])
def test_supported_claims_pass(claim, question, markers):
    v = check(claim, question, markers)
    assert v.supported, v.reason
    assert v.evidence and v.reason


@pytest.mark.parametrize("claim,question,why", [
    ("Kenya bought 14 patrol boats from Turkey.", "How many patrol boats did Kenya buy?", "number 14"),  # number
    ("Kenya bought 12 patrol boats from Turkey in 2022.", "When did Kenya buy patrol boats?", "number 2022"),  # year
    ("Turkey bought 12 patrol boats from Kenya.", "Who sold patrol boats to Kenya?", "swap roles"),  # roles
    ("The Admiral Kuznetsov docked in Mombasa.", "Did the Admiral Kuznetsov dock in Mombasa?", "restates"),
    ("The carrier docked in Mombasa in June 2024.", "Which carrier docked in Mombasa in June 2024?", "June"),
    ("It docked for a three-day visit.", "Which carrier docked in Dar es Salaam?", "dar"),  # question's place
])
def test_wrong_claims_fail_with_a_reason(claim, question, why):
    v = check(claim, question, (1, 2, 3))
    assert not v.supported
    assert why.lower() in v.reason.lower(), v.reason


def test_a_claim_is_recited_to_the_sentence_that_states_it():
    v = check("Kenya bought 12 patrol boats from Turkey.", "What did Kenya buy?", (1,))
    assert v.supported and v.recited and v.markers == (3,)
    [c] = cite.build_citations([v], evidence())
    assert ARTICLE[c.start:c.end] == c.quote == "Kenya bought 12 patrol boats from Turkey in 2023."


def test_a_claim_split_over_two_sentences_is_checked_per_sentence():
    answer = "The Admiral Kuznetsov docked in Mombasa [1]. Its crew of 1,500 was welcomed by Jimson Mutai [2]."
    sents = cite.split_answer(answer)
    checked = cite.check_sentences(sents, evidence(), "Which ship visited Mombasa and who welcomed it?")
    assert [s.supported for s in checked] == [True, True]
    assert [s.markers for s in checked] == [(1,), (2,)]


@pytest.mark.parametrize("text", [
    "The passages do not specify who commanded the ship.", "The name of the captain is not specified.",
    "No details are given about the cost.", "The articles did not mention a date.", "NOT IN ARTICLES",
    "It is unknown who paid.", "I cannot determine the answer from the passages.",
])
def test_refusals_in_other_words_are_recognised(text):
    assert cite.is_refusal(text) and not cite.has_claim(text)


def test_a_date_of_the_question_must_hold_for_the_evidence():
    ev = evidence("In October 2021 Vice Admiral Ivan Petrov led a visit to Mombasa. A second visit came later.",
                  date="2021-12")
    v = check("Ivan Petrov led the visit.", "Who led the visit to Mombasa in June 2021?", (1,), ev)
    assert not v.supported and "june" in v.reason.lower()


@pytest.mark.parametrize("text,sentences", [
    ("Snr. Gen. Min Aung Hlaing met Lt. Col. Ivanov. They talked.",
     ["Snr. Gen. Min Aung Hlaing met Lt. Col. Ivanov.", "They talked."]),
    ("The U.S. Open ended. Gauff won.", ["The U.S. Open ended.", "Gauff won."]),
    ("Work at No. 2 Steel Mill resumed on Jan. 5 after talks. Output rose.",
     ["Work at No. 2 Steel Mill resumed on Jan. 5 after talks.", "Output rose."]),
    ("Prices rose 2.3 per cent. Dr. Smith said so.", ["Prices rose 2.3 per cent.", "Dr. Smith said so."]),
    ("HEADLINE WITHOUT A STOP\nThe body starts here.", ["HEADLINE WITHOUT A STOP", "The body starts here."]),
])
def test_the_splitter_knows_news_abbreviations_and_keeps_offsets(text, sentences):
    padded = "xx " + text + " yy"  # offsets into a larger text round-trip
    spans = sentence_spans(padded, 3, 3 + len(text))
    assert [padded[s:e] for s, e in spans] == sentences


def test_month_abbreviations_years_in_titles_and_quarters():
    ev = evidence("The game came out on Dec. 10, 2020 for consoles. Sales of Q3 reached 5 million.",
                  title="Launch", date="2020-12")
    assert check("It came out on December 10, 2020.", "When did the game come out?", (1,), ev).supported
    assert cite.time_constraints("Who plays Diana in Wonder Woman 1984?") == []  # a year inside a title
    assert [d.year for d in cite.time_constraints("Who won the U.S. Open in 2019?")] == [2019]
    assert cite.question_names("What were the sales in Q3 2020?") == []  # "Q3" is no name
    assert [d.year for d in cite.time_constraints("Who lost the 2018 Cup final?")] == [2018]  # "the 2018 Cup"


def test_the_articles_date_is_no_answer_to_when():
    """An article of 2020 that says the game is on sale does not say it came out in 2020; one that says "launched on
    March 14" dates the launch, its year from the article's date."""
    on_sale = evidence("The game Skyfarer 2 is on sale right now at half price.", title="Deals", date="2020-06")
    v = check("Skyfarer 2 was released in 2020.", "When was Skyfarer 2 released?", (1,), on_sale)
    assert not v.supported and "2020 is only the article's date" in v.reason
    assert check("Skyfarer 2 was at half price in 2020.", "What did Skyfarer 2 cost?", (1,), on_sale).supported
    launched = evidence("Launched on March 14, Skyfarer 3 sold a million copies.", title="Games", date="2023-03")
    assert check("Skyfarer 3 was released on March 14, 2023.", "When was Skyfarer 3 released?", (1,), launched).supported


def test_a_year_the_question_names_with_the_must_hold():
    ev = evidence("Norway beat Kenya in the final of the 2014 Cup in July.", title="Final", date="2018-07")
    v = check("Kenya was the runner-up of the 2014 Cup.", "Who was the runner-up of the 2018 Cup?", (1,), ev)
    assert not v.supported and "2018 does not hold" in v.reason


LISTING = ("The delegation visited Nairobi in June 2024. During the visit, Kenya and Norway signed 6 accords on "
           "fishing, shipping, solar power and teacher training. The talks ended on Friday.")


@pytest.mark.parametrize("question,draft,added", [
    ("What accords were signed in June?", "Accords were signed in June 2024 [1].", True),  # the list left out
    ("Which accords did Kenya and Norway sign?", "Kenya and Norway signed 6 accords [1].", True),
    ("What accords were signed in June?", "Accords on fishing, shipping, solar power and teacher training [1].",
     False),  # the answer already gives the list
    ("Who visited Nairobi in June?", "The delegation visited Nairobi in June 2024 [1].", False),  # not a list question
    ("What cities did the delegation visit in June?", "The delegation visited Nairobi in June 2024 [1].", False),
])  # the last: the listing is evidence [2], which the answer does not cite
def test_a_list_question_gets_the_cited_list_when_the_answer_leaves_it_out(question, draft, added):
    from rag.pipeline import check_draft

    whole = (Evidence("k", "Kenya visit", "2024-06", 0, len(LISTING), LISTING, "k#0", 0.5),)
    found = whole if "cities" not in question else tuple(Evidence("k", "Kenya visit", "2024-06", s, e, LISTING[s:e],
                                                                  "k#0", 0.5) for s, e in sentence_spans(LISTING))
    checked = check_draft(question, draft, found, None, 0.45)
    listed = "signed 6 accords on fishing, shipping, solar power and teacher training"
    assert (listed in checked.text) is added, checked.text
    assert not checked.refused and all(c.source == "k" for c in checked.citations)
    if added:
        quote = next(c for c in checked.citations if listed in c.quote)
        assert LISTING[quote.start:quote.end] == quote.quote  # the quote is the listing sentence, exact offsets
        assert checked.sentences[-1].reason.startswith("the list of the cited passage, added")


def test_a_name_of_the_question_may_be_in_the_article_the_sentence_comes_from():
    """The sentence calls him "the admiral"; its article names him. Without the article's words the check cannot
    tell, and the claim is withheld; a name in no part of the article still is."""
    ev = evidence("At that meeting, the admiral called the minister a “friend” and promised ships.",
                  title="Talks in Mombasa")
    claim, question = "He called the minister a friend.", "What did Ivan Petrov call the minister?"
    assert "ivan petrov" in check(claim, question, (1,), ev).reason
    words = {"a": {"vice", "admiral", "ivan", "petrov", "arrived", "mombasa"}}
    v = cite.check_sentences([cite.Sentence(claim, (1,))], ev, question, article_words=words)[0]
    assert v.supported, v.reason
    v = cite.check_sentences([cite.Sentence(claim, (1,))], ev, "What did Oleg Sidorov call the minister?",
                             article_words=words)[0]
    assert not v.supported and "oleg sidorov" in v.reason


def test_a_number_after_an_abbreviation_is_the_same_number():
    """"No.1" in the evidence and "No. 1" in the claim: the same 1 (it was one word, "no.1", and the claim failed)."""
    ranking = evidence("Amara Osei finished the season as the world No.1 for the second straight year.",
                       title="Season review")
    assert check("Amara Osei finished the season as world No. 1.", "Who was world number one?", ev=ranking).supported
    assert not check("Amara Osei finished the season as world No. 2.", "Who was world number one?",
                     ev=ranking).supported
