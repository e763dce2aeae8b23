"""Question -> retrieval -> prompt -> streamed generation -> checked, cited ``Answer``."""
from __future__ import annotations

import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

from core.errors import QuestionError
from core.records import Answer, Citation, Evidence, SentenceVerdict, TimelineItem, Timings
from core.settings import Settings
from core.text import estimate_tokens, tokenize
from embeddings.backends import open_store
from embeddings.store import Index
from embeddings.embedder import LazyEmbedder, embed_texts
from embeddings.ingest import IngestReport
from rag import cite, claimrules, evidence, lists, timeline, verdict
from rag.forms import PLANS, Plan, plan_for
from rag.judge import Ask, apply as judge_claims, judge_messages
from rag.llm import LLM, Usage, load_llm
from rag.prompt import build_messages
from rag.retrieve import Retrieval, retrieve

_UNFINISHED = re.compile(r"(?<=[.!?\]])\s+(?=[^.!?]*$)")  # "Ten were signed [1]. Russia wi" -> the last piece
_FOLLOW_UP = re.compile(r"\b(he|she|it|they|him|her|his|hers|its|their|them|this|that|these|those|there|then)\b", re.I)


@dataclass
class Engine:
    """The loaded index, embedder and (lazily) LLM for one set of settings. Load once, ask many times."""

    settings: Settings
    index: Index
    embedder: object
    _llm: LLM | None = field(default=None, repr=False)

    @property
    def llm(self) -> LLM:
        """The model, loaded on first use (once per process per settings)."""
        if self._llm is None:
            self._llm = load_llm(self.settings)
        return self._llm


@dataclass(frozen=True)
class Found:
    """What ``find`` returns and ``ask_stream`` yields before the model runs: the question as cleaned, its
    retrieval and the evidence the model will be given (none when the retrieval already declines)."""

    evidence: tuple[Evidence, ...]
    question: str = ""
    retrieval: Retrieval | None = None
    history: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0  # question in -> evidence chosen
    plan: Plan = PLANS["fact"]  # the question's form and what the stages do for it


@dataclass(frozen=True)
class Checked:
    """The model's draft after the citation check: what the answer says, or why it is declined."""

    text: str
    refused: bool
    reason: str = ""  # a sentence for the reader: "The articles don't mention India."
    detail: str = ""  # the figures behind it, for experts
    citations: tuple[Citation, ...] = ()
    sentences: tuple[SentenceVerdict, ...] = ()
    timeline: tuple[TimelineItem, ...] = ()


def open_engine(settings: Settings, update: bool = True,
                progress: Callable[[str, int, int], None] | None = None) -> tuple[Engine, IngestReport | None]:
    """Index the article folders if needed (``update``), then load the index (the embedder loads on first use)."""
    store = open_store(settings)
    report = store.sync(settings, progress=progress) if update else None
    return Engine(settings, store.load(settings), LazyEmbedder()), report


def clean_question(question: str, settings: Settings) -> str:
    """Trim, drop control characters, and refuse empty or over-long questions with a message saying what to do."""
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    text = "".join(ch for ch in question if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = " ".join(text.split())
    if not text:
        raise QuestionError("The question is empty. Type a question about the articles, e.g. "
                            "\"What agreements were signed in March?\"")
    if len(text) > settings.max_question_chars:
        raise QuestionError(f"The question is {len(text):,} characters long; the limit is "
                            f"{settings.max_question_chars:,}. Shorten it to the question itself.")
    return text


MAX_K = 20


def checked_k(k, settings: Settings) -> int:
    """The number of passages to search: ``settings.top_k`` when not given, else a whole number 1..20."""
    if k is None:
        return settings.top_k
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise QuestionError(f"k, the number of passages searched, must be a whole number from 1 to {MAX_K} "
                            f"(got {k!r}); leave it out for the default {settings.top_k}.")
    return k


def retrieval_query(question: str, history: list[tuple[str, str]]) -> str:
    """A follow-up ("What did he say?") is searched together with the previous question; others alone."""
    if history and (_FOLLOW_UP.search(question) or len(question.split()) <= 4):
        return f"{history[-1][0]} {question}"
    return question


NO_ANSWER = "The articles don't answer this question."


def _declined(reason: str, closest: bool, sentences: tuple[SentenceVerdict, ...] = (), detail: str = "") -> Checked:
    """A refusal that still shows the closest passages and, when the model wrote one, its checked draft."""
    text = reason + (" The closest passages are shown with it." if closest else "")
    return Checked(text, True, reason, detail, (), sentences)


def _answer(question: str, checked: Checked, retrieval: Retrieval, found: tuple[Evidence, ...], timings: Timings,
            usage: Usage = Usage(), model: str = "", limit_s: float = 0.0, draft: str = "",
            unfinished: str = "", form: str = "fact") -> Answer:
    text = checked.text
    if usage.timed_out:
        text += f" (Stopped: the {limit_s:.0f} s generation limit was reached.)"
    if usage.stopped:
        text = " ".join(filter(None, ["" if checked.refused else checked.text,
                                      unfinished and unfinished + "…", "(Stopped.)"]))
    return Answer(question, text, checked.refused and not usage.stopped, checked.citations, retrieval.hits,
                  checked.sentences, found, checked.reason, timings, usage.prompt_tokens, usage.completion_tokens,
                  model, draft, usage.evaluated_tokens, usage.prompt_rate, usage.generation_rate, usage.stopped,
                  unfinished, checked.detail, form, checked.timeline)


def split_unfinished(draft: str) -> tuple[str, str]:
    """A stopped draft -> (its finished sentences, the sentence cut off): "A [1]. B wa" -> ("A [1].", "B wa")."""
    draft = draft.strip()
    if not draft or draft[-1] in ".!?]":
        return draft, ""
    parts = _UNFINISHED.split(draft)
    return (" ".join(parts[:-1]), parts[-1]) if len(parts) > 1 else ("", draft)


def find(engine: Engine, question: str, history: list[tuple[str, str]] = (), k: int | None = None,
         mode: str | None = None, date_range: tuple[str | None, str | None] | None = None) -> Found:
    """The question's retrieval and evidence, without the model (the page shows them before the model runs).

    Raises ``QuestionError`` for an unusable question."""
    s = engine.settings
    t0 = time.perf_counter()
    question = clean_question(question, s)
    plan = plan_for(question)
    k = checked_k(k, s) if k is not None else max(s.top_k, plan.search_k)
    history = tuple(history or ())
    retrieval = retrieve(question, engine.index, engine.embedder, s, k=k, query=retrieval_query(question, history),
                         mode=mode, date_range=date_range)
    found: tuple[Evidence, ...] = ()
    if not retrieval.decline_reason:
        found = evidence.select(question, retrieval.query_vector, retrieval.hits, engine.index, engine.embedder,
                                retrieval.dates, plan.evidence_tokens(s.evidence_tokens), estimate_tokens, plan)
    return Found(found, question, retrieval, history, time.perf_counter() - t0, plan)


def ask_stream(engine: Engine, question: str, history: list[tuple[str, str]] = (), k: int | None = None,
               mode: str | None = None, date_range: tuple[str | None, str | None] | None = None,
               check_citations: bool | None = None, stop: threading.Event | None = None,
               found: Found | None = None) -> Iterator[Found | str | Answer]:
    """Yield the evidence (``Found``), then the answer's text pieces as the model writes them, then the final
    checked ``Answer``. ``found``: the result of ``find`` for this question, when already computed. Setting
    ``stop`` ends the generation (prompt processing included); the answer keeps what was written, checked.

    Raises ``QuestionError`` for an unusable question and ``ModelError``/``GenerationError`` for model trouble.
    """
    s = engine.settings
    found = found or find(engine, question, history, k, mode, date_range)
    t0 = time.perf_counter() - found.seconds
    question, retrieval = found.question, found.retrieval
    if retrieval.decline_reason:
        yield _answer(question, _declined(retrieval.decline_reason, bool(retrieval.hits), (),
                                          retrieval.decline_detail), retrieval, (),
                      Timings(retrieval.seconds, found.seconds, total_s=found.seconds), form=found.plan.form)
        return
    yield found
    plan = found.plan
    if plan.dated:  # a timeline is quoted from the evidence: no model
        checked = dated_answer(question, found)
        first = time.perf_counter() - t0
        if not checked.refused:
            yield checked.text
        yield _answer(question, checked, retrieval, found.evidence,
                      Timings(retrieval.seconds, first, 0.0, 0.0, time.perf_counter() - t0), form=plan.form)
        return
    llm = engine.llm
    pieces: list[str] = []
    usage, first = Usage(stopped=stop is not None and stop.is_set()), None  # stopped while searching
    t_gen = time.perf_counter()
    messages = build_messages(question, found.evidence, list(found.history), plan.instruction)
    for piece in () if usage.stopped else llm.stream(messages, plan.max_tokens(s.max_tokens), s.temperature,
                                                     s.gen_timeout_s, stop):
        if isinstance(piece, Usage):
            usage = piece
            continue
        first = first or time.perf_counter() - t0
        pieces.append(piece)
        yield piece
    generate_s = time.perf_counter() - t_gen
    first = first or time.perf_counter() - t0
    t_check = time.perf_counter()
    draft = "".join(pieces)
    finished, unfinished = split_unfinished(draft) if usage.stopped else (draft.strip(), "")
    checked = finish(engine, question, finished, retrieval, found.evidence,
                     check_citations if check_citations is not None else s.check_citations,
                     None if usage.stopped else (messages, draft), plan)
    timings = Timings(retrieval.seconds, first, generate_s, time.perf_counter() - t_check, time.perf_counter() - t0)
    yield _answer(question, checked, retrieval, found.evidence, timings, usage, llm.name, s.gen_timeout_s, draft,
                  unfinished, plan.form)


def dated_answer(question: str, found: Found) -> Checked:
    """A timeline from the dated evidence (``rag.timeline``), or a decline when it holds no relevant dated event."""
    entries = timeline.items(question, found.evidence)
    if not entries:
        return _declined(timeline.NO_EVENTS, bool(found.retrieval.hits), (), "no relevant dated sentence")
    shown = timeline.verdicts(entries, found.evidence)
    return Checked(timeline.render(entries), False, citations=tuple(cite.build_citations(shown, found.evidence)),
                   sentences=tuple(shown), timeline=tuple(entries))


def finish(engine: Engine, question: str, raw: str, retrieval: Retrieval, found: tuple[Evidence, ...],
           check: bool = True, chat: tuple[list[dict], str] | None = None, plan: Plan = PLANS["fact"]) -> Checked:
    """The model's raw text -> ``Checked``, with the engine's embedder for the similarity part of the check and,
    with ``settings.judge``, the model as judge of each claim (``chat``: the messages and the draft as written,
    whose prompt llama.cpp still has cached)."""
    s = engine.settings
    similarity = evidence_similarity(engine.embedder, found) if check else None
    ask_judge = None
    if check and s.judge and chat:
        llm, (messages, draft) = engine.llm, chat

        def ask_judge(claim: str, marker: int):
            return llm.yes_probability(judge_messages(messages, draft, question, claim, marker), s.gen_timeout_s)

    return check_draft(question, raw, found, similarity, s.support_threshold, check, closest=bool(retrieval.hits),
                       judge=ask_judge, article_words=article_words(engine.index, found), plan=plan)


def article_words(index: Index, found: tuple[Evidence, ...]) -> dict[str, set[str]]:
    """The words of each article the evidence comes from, title and text (~1 ms for a 6,000-character article)."""
    docs = index.documents
    return {src: set(tokenize(f"{docs[src].title}\n{docs[src].text}")) for src in {ev.source for ev in found}}


def check_draft(question: str, raw: str, found: tuple[Evidence, ...], similarity: cite.Similarity | None,
                threshold: float, check: bool = True, skip: frozenset[str] = frozenset(),
                closest: bool = True, judge: Ask | None = None,
                article_words: dict[str, set[str]] | None = None, plan: Plan = PLANS["fact"]) -> Checked:
    """The model's raw text -> ``Checked``: markers resolved, claims checked against the evidence they cite
    (and put to ``judge``), refusals recognised. Claims no evidence states are left out of the answer, which
    then says so (where the plan says it matters). A yes/no question's leading "Yes"/"No" is kept only when a
    supported claim about the question follows it (``rag.verdict``)."""
    said = verdict.split(raw) if plan.verdict else verdict.Verdict("", raw)
    sentences = [replace(x, text=cite.unlabelled(x.text)) for x in cite.split_answer(said.rest)
                 if not cite.is_meta(x.text)]
    if not sentences or raw.strip(" .").upper() == cite.NOT_FOUND:
        return _declined(NO_ANSWER, closest, (), "the model found no answer in the passages")
    checked = cite.check_sentences(sentences, found, question, similarity, threshold, recite=check, skip=skip,
                                   article_words=article_words, verdict=plan.verdict)
    if not check:  # trust the model's markers, still dropping ones that name no evidence
        checked = [replace(c, supported=True, support=0.0, recited=False, reason="not checked") for c in checked]
    elif judge is not None:
        checked = judge_claims(checked, judge)
    if check and plan.counted:
        checked = claimrules.counted_claims(question, checked)
    claims = [c for c in checked if c.claim]
    if not claims or not any(c.supported for c in claims):
        detail = ("the model found no answer in the passages" if not claims or cite.is_refusal(raw)
                  else "no sentence of the draft answer is stated in the passages, so it was withheld")
        return _declined(NO_ANSWER, closest, tuple(checked), detail)
    if said.word and check and verdict.contradicted(question, said, checked):  # "Yes, China balked at it"
        said = verdict.Verdict("", said.rest)  # the fact stands without the yes/no it contradicts
    if said.word and check and not verdict.proven(question, checked):
        return _declined(NO_ANSWER, closest, tuple(checked),
                         f"no supported sentence about the question shows the '{said.word}'")
    shown = [c for c in checked if c.supported if c.claim or cite.NOT_FOUND.lower() not in c.text.lower()]
    withheld = len(shown) < len(checked)
    listed = _listed(question, shown, found, similarity, threshold, skip, article_words) if check else []
    text = cite.render_answer(shown + listed)
    if not said.word and not re.match(r"[a-z]+[A-Z]", text):  # "the parliament may veto it" once its "Yes," was
        text = text[:1].upper() + text[1:]  # dropped; "iPhone" stays
    if said.word:  # the verdict leads, as a sentence with nothing to cite: the page shows it too
        text = verdict.render(said, text)
        checked.insert(0, SentenceVerdict(said.word + said.joiner.strip(), (), True, False,
                                          reason="the yes/no, shown by the supported sentence after it"))
    if withheld and plan.note_withheld:
        text += " The articles do not state the rest of the draft answer."
    return Checked(text, False, "", "", tuple(cite.build_citations(shown + listed, found)),
                   tuple(checked) + tuple(listed))


def _listed(question: str, shown: list[SentenceVerdict], found: tuple[Evidence, ...],
            similarity: cite.Similarity | None, threshold: float, skip: frozenset[str],
            article_words: dict[str, set[str]] | None = None) -> list[SentenceVerdict]:
    """The cited sentence listing what a list question asks for, when the answer leaves most of it out
    (``cite.list_sentence``), checked like any claim: the model tends to say "10 agreements were signed" only."""
    extra = lists.list_sentence(question, " ".join(c.text for c in shown), [m for c in shown for m in c.markers],
                               found)
    if extra is None:
        return []
    listed = cite.check_sentences([extra], found, question, similarity, threshold, recite=False, skip=skip,
                                  article_words=article_words)
    return [replace(c, reason=f"the list of the cited passage, added: {c.reason}") for c in listed if c.supported]


def evidence_similarity(embedder, found: tuple[Evidence, ...]) -> cite.Similarity:
    """Cosine of answer sentences and evidence texts, embedded on demand."""
    def sim(sentences: list[str], rows: list[int]) -> list[list[float]]:
        sv = embed_texts(embedder, sentences)
        ev = embed_texts(embedder, [found[r].text for r in rows])
        return (sv @ ev.T).tolist()

    return sim


def ask(engine: Engine, question: str, **kwargs) -> Answer:
    """Like ``ask_stream`` but returns only the final ``Answer``."""
    for item in ask_stream(engine, question, **kwargs):
        if isinstance(item, Answer):
            return item
    raise AssertionError("ask_stream ended without an answer")
