"""The scoring rules of the evaluation set (../shared/eval/README.md), as plain functions."""
from __future__ import annotations

import re
from statistics import median

# runs of letters and digits; a decimal point between digits stays: "US$2.3 billion" -> us, 2.3, billion
_TOKEN = re.compile(r"[^\W_]+(?:(?<=\d)\.(?=\d)[^\W_]+)*")


def normalise(text: str) -> list[str]:
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
            "fact_recall": sum(found) / len(found) if found else 1.0,
            "all_facts": all(found),
            "facts_missed": [f[0] for f, ok in zip(item.get("facts", []), found) if not ok],
            "citation_precision": (sum(s in expected for s in cited) / len(cited)) if cited else None,
            "citation_hit": bool(set(cited) & expected),
            "retrieval_hit": bool(retrieved & expected),
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
    """The README's scores over a run, plus latency percentiles."""
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
        "median_prompt_tokens": median([r.get("prompt_tokens", 0) for r in results]) if results else None,
    }
