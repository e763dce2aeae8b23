"""The scoring rules of the evaluation set (../shared/eval/README.md), as plain functions."""
from __future__ import annotations

import re
from statistics import median

from rag.eval.questions import Question

# runs of letters and digits; a decimal point between digits stays: "US$2.3 billion" -> us, 2.3, billion
_TOKEN = re.compile(r"[^\W_]+(?:(?<=\d)\.(?=\d)[^\W_]+)*")


def normalise(text: str) -> list[str]:
    """"US$2.3 Billion" -> ['us', '2.3', 'billion']."""
    return _TOKEN.findall(text.casefold())


def contains_phrase(answer: str, phrase: str) -> bool:
    """Whole-word, case-insensitive: "2.3 billion" is in "US$2.3 billion", "king" is not in "kingdom"."""
    a, p = normalise(answer), normalise(phrase)
    if not p:
        return False
    return any(a[i:i + len(p)] == p for i in range(len(a) - len(p) + 1))


def facts_found(answer: str, facts: list[list[str]]) -> list[bool]:
    """One flag per fact: any of its phrasings is in the answer."""
    return [any(contains_phrase(answer, alt) for alt in fact) for fact in facts]


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile, q in [0, 100]; None for no values."""
    if not values:
        return None
    v = sorted(values)
    pos = (len(v) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def judge(item: dict, result: dict) -> dict:
    """Per-question verdict from a question line and a ``rag ask --json`` object."""
    cited = sorted({c["source"] for c in result.get("citations", [])})
    retrieved = {r["source"] for r in result.get("retrieved", [])}
    expected = set(item.get("sources", []))
    refused = bool(result.get("refused"))
    v = {"id": item["id"], "answerable": item.get("answerable", True), "refused": refused, "cited_sources": cited}
    if v["answerable"]:
        found = [False] * len(item.get("facts", [])) if refused else facts_found(result.get("answer", ""), item.get("facts", []))
        v |= {
            "fact_recall": share(found),
            "all_facts": all(found),
            "facts_missed": [f[0] for f, ok in zip(item.get("facts", []), found) if not ok],
            "citation_precision": (sum(s in expected for s in cited) / len(cited)) if cited else None,
            "citation_hit": bool(set(cited) & expected),
            "retrieval_hit": bool(retrieved & expected),
            "evidence_hit": bool({e["source"] for e in result.get("evidence", [])} & expected)
            if "evidence" in result else None,
            "evidence_facts": share(facts_found(" ".join(e["text"] for e in result["evidence"]),
                                                 item.get("facts", []))) if "evidence" in result else None,
        }
        if refused:
            v["verdict"] = "declined"
        elif v["fact_recall"] == 0:
            v["verdict"] = "wrong"
        elif not v["citation_hit"]:
            v["verdict"] = "wrong source"
        else:
            v["verdict"] = "correct" if v["all_facts"] else "partial"
    else:
        v["verdict"] = "correct refusal" if refused else "answered unanswerable"
    return v


def summarise(verdicts: list[dict], results: list[dict]) -> dict:
    """The README's scores over a run; latency percentiles over every result given (all repeats)."""
    ans = [v for v in verdicts if v["answerable"]]
    unans = [v for v in verdicts if not v["answerable"]]
    with_cites = [v for v in ans if v["citation_precision"] is not None]

    def mean(xs):
        xs = list(xs)
        return sum(xs) / len(xs) if xs else None

    ttft = [r["timings"]["first_token_s"] for r in results if "first_token_s" in r.get("timings", {})]
    total = [r["timings"]["total_s"] for r in results if "total_s" in r.get("timings", {})]
    return {
        "questions": len(verdicts),
        "answerable": len(ans),
        "fact_recall": mean(v["fact_recall"] for v in ans),
        "all_facts": mean(float(v["all_facts"]) for v in ans),
        "citation_precision": mean(v["citation_precision"] for v in with_cites),
        "citation_recall": mean(float(v["citation_hit"]) for v in ans),
        "retrieval_hit": mean(float(v["retrieval_hit"]) for v in ans),
        "correct_refusal": mean(float(v["refused"]) for v in unans),
        "false_refusal": mean(float(v["refused"]) for v in ans),
        "first_token_p50_s": percentile(ttft, 50), "first_token_p95_s": percentile(ttft, 95),
        "total_p50_s": percentile(total, 50), "total_p95_s": percentile(total, 95),
        "evidence_hit": mean(float(v["evidence_hit"]) for v in ans if v.get("evidence_hit") is not None),
        "facts_in_evidence": mean(v["evidence_facts"] for v in ans if v.get("evidence_facts") is not None),
        "median_prompt_tokens": _median([r.get("prompt_tokens") for r in results if r.get("completion_tokens")]),
        "median_evaluated_tokens": _median([r.get("evaluated_tokens") for r in results if r.get("completion_tokens")]),
        "llama_prompt_tokens_per_s": _median([r.get("prompt_tokens_per_s") for r in results]),
        "llama_generation_tokens_per_s": _median([r.get("generation_tokens_per_s") for r in results]),
    }


def share(found: list[bool]) -> float:
    """The share of facts found (1.0 for a question with none listed)."""
    return sum(found) / len(found) if found else 1.0


def _median(values: list) -> float | None:
    """The median of the values given (None and missing ones left out)."""
    values = [v for v in values if v is not None]
    return median(values) if values else None


def retrieval_ranks(item: dict, result: dict) -> int | None:
    """1-based rank of the first retrieved passage from an expected source; None if none was retrieved."""
    for i, r in enumerate(result.get("retrieved", []), 1):
        if r["source"] in item.get("sources", []):
            return i
    return None


def time_split(result: dict) -> dict:
    """Where a question's time went: retrieval, prompt processing, generation, citation check."""
    t = result.get("timings", {})
    retrieve = t.get("retrieve_s", 0.0)
    first = t.get("first_token_s", retrieve)
    check = t.get("check_s", 0.0)
    total = t.get("total_s", first)
    return {"retrieval": retrieve, "prompt": max(0.0, first - retrieve),
            "generation": max(0.0, total - first - check), "check": check}


def scorable(questions: list[Question]) -> bool:
    """The file carries what scoring needs (facts or answerable flags)."""
    return any("facts" in q.item or "answerable" in q.item for q in questions)


def score_run(questions: list[Question], results: list[dict]) -> dict:
    """The README scores (first repeat), retrieval hit@k and MRR, latency over all repeats, tokens/s."""
    items = {q.item["id"]: q.item for q in questions}
    first = {r["id"]: r for r in results if r.get("repeat", 0) == 0 and r["id"] in items}
    pairs = [(items[i], first[i]) for i in items if i in first]
    s = summarise([judge(i, r) for i, r in pairs], results)
    answerable = [(i, r) for i, r in pairs if i.get("answerable", True) and i.get("sources")]
    ranks = [retrieval_ranks(i, r) for i, r in answerable]
    s["mrr"] = sum(1 / r for r in ranks if r) / len(ranks) if ranks else None
    s["hit_at_k"] = sum(r is not None for r in ranks) / len(ranks) if ranks else None
    gen = [(r.get("completion_tokens", 0), time_split(r)["generation"]) for r in results]
    pp = [(r.get("prompt_tokens", 0), time_split(r)["prompt"]) for r in results]
    s["generation_tokens_per_s"] = (sum(n for n, _ in gen) / sum(t for _, t in gen)) if sum(t for _, t in gen) else None
    s["prompt_tokens_per_s"] = (sum(n for n, _ in pp) / sum(t for _, t in pp)) if sum(t for _, t in pp) else None
    split = [time_split(r) for r in results]
    s["time_split_s"] = {k: sum(x[k] for x in split) for k in ("retrieval", "prompt", "generation", "check")}
    s["runs"] = len(results)
    s["by_type"] = by_type(pairs, results)
    return s


TYPE_KEYS = ["fact_recall", "all_facts", "citation_precision", "citation_recall", "retrieval_hit", "evidence_hit",
             "facts_in_evidence", "correct_refusal", "false_refusal", "median_prompt_tokens",
             "median_evaluated_tokens", "llama_prompt_tokens_per_s", "first_token_p50_s", "total_p50_s"]


def by_type(pairs: list[tuple[dict, dict]], results: list[dict]) -> dict[str, dict]:
    """The scores of each question ``type`` (a file without types: {}); questions without one count as "fact"."""
    types = {i.get("type") for i, _ in pairs}
    if types <= {None}:
        return {}
    out = {}
    for t in sorted(types, key=lambda x: x or "fact"):
        ids = {i["id"] for i, _ in pairs if i.get("type") == t}
        scores = summarise([judge(i, r) for i, r in pairs if i["id"] in ids], [r for r in results if r["id"] in ids])
        out[t or "fact"] = {"questions": scores["questions"]} | {k: scores[k] for k in TYPE_KEYS}
    return out
