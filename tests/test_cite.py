"""Citation parsing and checking: many small string cases, with evidence built by hand (no model)."""
import pytest

from core.records import Evidence
from rag import cite


def ev(text, source="s1", start=100, title="Title", date="2025-03"):
    return Evidence(source, title, date, start, start + len(text), text, f"{source}#0", 0.5)


EVIDENCE = [
    ev("Myanmar and Russia signed 10 agreements on trade and nuclear energy in March."),
    ev("Six elephants were sent to the Moscow Circus in January.", "s2", 0),
    ev("Russia sold US$2.3 billion of weapons at the Army 2021 forum.", "s3", 50),
]
HITS = EVIDENCE  # the claims below are checked against evidence sentences


@pytest.mark.parametrize("fragment,expected", [
    ("[1]", [1]), ("[1, 3]", [1, 3]), ("[1][2]", [1, 2]), ("[2-4]", [2, 3, 4]), ("[Passage 2]", [2]),
    ("[passages 1 and 3]", [1, 3]), ("[ 3 ]", [3]), ("[x]", []), ("no markers", []), ("[1; 2]", [1, 2]),
    ("[1] and again [1]", [1]), ("[12]", [12]), ("[source 2]", [2]),
])
def test_parse_markers(fragment, expected):
    assert cite.parse_markers(fragment) == expected


@pytest.mark.parametrize("answer,expected", [
    ("Ten deals were signed [1].", [("Ten deals were signed.", (1,))]),
    ("Ten deals were signed. [1]", [("Ten deals were signed.", (1,))]),
    ("Ten deals [1]. Six elephants [2].", [("Ten deals.", (1,)), ("Six elephants.", (2,))]),
    ("Ten deals. [1] Six elephants. [2]", [("Ten deals.", (1,)), ("Six elephants.", (2,))]),
    ("Ten deals [1][3].", [("Ten deals.", (1, 3))]),
    ("No markers here.", [("No markers here.", ())]),
    ("It cost US$2.3 billion [3].", [("It cost US$2.3 billion.", (3,))]),
    ("", []),
    ("[1]", []),
    ("1. Ten deals [1].\n2. Six elephants [2].", [("Ten deals.", (1,)), ("Six elephants.", (2,))]),
    ("- Ten deals [1]\n- Six elephants [2]", [("Ten deals", (1,)), ("Six elephants", (2,))]),
    ("Line one [1]\nLine two [2]", [("Line one", (1,)), ("Line two", (2,))]),
    # a marker opening a line is that line's: the list style "[1] item" (it shifted every item's marker by one)
    ("Ships that called:\n[1] The Varyag.\n[2] The Admiral Tributs.",
     [("Ships that called:", ()), ("The Varyag.", (1,)), ("The Admiral Tributs.", (2,))]),
    ("Ten deals.\n[1]\nSix elephants [2].", [("Ten deals.", (1,)), ("Six elephants.", (2,))]),
    ("Ten deals.\n[1] Six elephants [2].", [("Ten deals.", (1,)), ("Six elephants.", (2,))]),  # no list: as before
    ("- [1] Ten deals\n- [2] Six elephants", [("Ten deals", (1,)), ("Six elephants", (2,))]),
])
def test_split_answer(answer, expected):
    assert [(s.text, s.markers) for s in cite.split_answer(answer)] == expected


@pytest.mark.parametrize("text,refusal", [
    ("NOT IN ARTICLES", True), ("not in articles.", True), ("The passages do not mention India.", True),
    ("The articles do not contain this information.", True), ("I cannot find that.", True),
    ("Ten agreements were signed.", False), ("Russia did not mention India.", False),
])
def test_is_refusal(text, refusal):
    assert cite.is_refusal(text) is refusal


@pytest.mark.parametrize("answer,lead_ins", [
    ("Ships that called at Yangon:\n- The Varyag [1]", [True, False]),
    ("The agreements signed in March were:\n[1] Ten deals.", [True, False]),
    ("Russia sent 10 warships to Myanmar in 2023:\n- The Varyag [1]", [False, False]),  # it states a number
    ("Ten agreements were signed. The deals were:", [False, False]),  # cut short: nothing follows it
    ("Russia said: we will help [1].", [False]),
])
def test_a_lead_in_to_a_list_makes_no_claim(answer, lead_ins):
    sentences = cite.split_answer(answer)
    assert [cite.is_lead_in(sentences, i) for i in range(len(sentences))] == lead_ins


def test_lexical_support_counts_inflections():
    p = HITS[0].text
    assert cite.lexical_support("They signed 10 agreements.", p) == 1.0
    assert cite.lexical_support("Russia sold 2.3 billion dollars of arms", HITS[2].text) > 0.5
    assert cite.lexical_support("", p) == 0.0


def test_markers_naming_no_passage_are_dropped():
    checked = cite.check_sentences([cite.Sentence("Myanmar and Russia signed 10 agreements.", (1, 7))], HITS)
    assert checked[0].markers == (1,)
    assert checked[0].dropped_markers == (7,)
    assert checked[0].supported


def test_wrong_citation_is_recited_to_the_supporting_passage():
    checked = cite.check_sentences([cite.Sentence("Six elephants went to the Moscow Circus.", (1,))], HITS)
    assert checked[0].markers == (2,)
    assert checked[0].recited and checked[0].supported


def test_unsupported_claim_is_marked():
    checked = cite.check_sentences([cite.Sentence("Moscow has 13 million inhabitants.", (1,))], HITS)
    assert not checked[0].supported
    assert checked[0].markers == (1,)


def test_unsupported_claim_without_recite_keeps_marker():
    checked = cite.check_sentences([cite.Sentence("Six elephants went to the Moscow Circus.", (1,))], HITS,
                                   recite=False)
    assert not checked[0].supported and checked[0].markers == (1,)


def test_uncited_supported_sentence_gets_a_citation():
    checked = cite.check_sentences([cite.Sentence("Russia sold US$2.3 billion of weapons.", ())], HITS)
    assert checked[0].markers == (3,) and checked[0].supported


def test_sentence_without_claim_needs_no_source():
    checked = cite.check_sentences([cite.Sentence("Yes.", ())], HITS)
    assert checked[0].supported and not checked[0].claim


def test_similarity_counts_in_the_score():
    low = lambda sents, rows: [[0.0] * len(rows) for _ in sents]
    high = lambda sents, rows: [[1.0] * len(rows) for _ in sents]
    s = [cite.Sentence("Agreements on trade and nuclear energy were signed.", (1,))]
    assert cite.check_sentences(s, HITS, "", high)[0].support > cite.check_sentences(s, HITS, "", low)[0].support


def test_citations_carry_offsets_into_the_source():
    checked = cite.check_sentences([cite.Sentence("They signed 10 agreements on trade.", (1,))], HITS)
    [c] = cite.build_citations(checked, HITS)
    full = " " * 100 + HITS[0].text  # the evidence starts at offset 100 of its file
    assert full[c.start:c.end] == c.quote
    assert c.quote.startswith("Myanmar and Russia signed 10 agreements")
    assert c.source == "s1" and c.chunk_id == "s1#0" and c.supported


def test_render_answer_puts_markers_before_the_full_stop():
    checked = cite.check_sentences([cite.Sentence("They signed 10 agreements.", (1,)),
                                    cite.Sentence("Six elephants went to the circus.", (2,))], HITS)
    assert cite.render_answer(checked) == "They signed 10 agreements [1]. Six elephants went to the circus [2]."


def test_names_not_in_the_evidence_make_a_claim_unsupported():
    e = [ev("Min Aung Hlaing held talks with Tatarstan President Rustam Minnikhanov in Kazan.")]
    ok = cite.check_sentences([cite.Sentence("He held talks with Minnikhanov in Kazan.", (1,))], e, "Who did he meet?")
    bad = cite.check_sentences([cite.Sentence("He held talks with Kazakhstan President Takayev in Kazan.", (1,))], e,
                               "Who did he meet?")
    assert ok[0].supported and not bad[0].supported and "kazakhstan" in bad[0].reason


def test_the_evidence_date_counts_as_evidence_text():
    e = [ev("The warship Gremyashiy visited Yangon.", "t", 0, "Timeline", "2021-10")]
    checked = cite.check_sentences([cite.Sentence("The warship Gremyashiy visited Yangon in October 2021.", ())], e,
                                   "Which warship visited Yangon?")
    assert checked[0].supported and checked[0].markers == (1,)


def test_list_items_without_a_full_stop_read_as_sentences():
    from core.records import SentenceVerdict

    items = [SentenceVerdict(t, m, True, True, False, (), 1.0) for t, m in
             [("Ships that called:", ()), ("The Varyag", (1,)), ("The Admiral Tributs", (2,)), ("It left.", (2,))]]
    assert cite.render_answer(items) == "Ships that called: The Varyag [1]. The Admiral Tributs [2]. It left [2]."
    said = [SentenceVerdict(t, (1,), True, True, False, (), 1.0) for t in ('He said "we will win"', "The Varyag,",
                                                                             'He said "we will win."')]
    assert cite.render_answer(said) == 'He said "we will win" [1]. The Varyag [1]. He said "we will win." [1]'
