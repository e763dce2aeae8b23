"""``rag bench ablate RUN QUESTIONS [RUN QUESTIONS ...]``: the citation check with each ingredient left out.

The drafts and the evidence of a finished run are in its results.jsonl, and the check needs no LLM, so every
variant re-checks the same drafts: the differences are the check's alone. Variants: ``full``; ``-numbers``,
``-names``, ``-question_names``, ``-dates``, ``-roles``, ``-novelty`` (one rule left out); ``-similarity``
(lexical support only); ``no check`` (the model's markers trusted, as ``--no-check``).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from core.errors import RagError
from core.records import Evidence
from core.text import tokenize
from embeddings.reader import read_corpus
from rag import cite
from rag.eval.questions import load_questions
from rag.eval.scoring import judge, summarise
from rag.pipeline import check_draft, evidence_similarity

VARIANTS = {"full": frozenset(), **{f"-{r}": frozenset({r}) for r in cite.RULES}, "-similarity": frozenset(),
            "no check": frozenset()}
KEYS = ("correct_refusal", "false_refusal", "fact_recall", "citation_precision", "citation_recall")


def recheck(result: dict, variant: str, embedder, threshold: float = 0.45,
            articles: dict[str, set[str]] | None = None) -> dict:
    """``result`` as the check ``variant`` would have left it (answers declined before the LLM stay as they are).
    ``articles``: the words of the run's articles (``run_articles``), as the pipeline gives them to the check."""
    if not result.get("evidence") or "draft" not in result:
        return result
    found = tuple(Evidence(e["source"], e["title"], e["date"], e["start"], e["end"], e["text"], e["chunk_id"],
                           e["score"]) for e in result["evidence"])
    similarity = None if variant in ("-similarity", "no check") else evidence_similarity(embedder, found)
    checked = check_draft(result["question"], result["draft"], found, similarity, threshold,
                          check=variant != "no check", skip=VARIANTS[variant], article_words=articles)
    return result | {"answer": checked.text, "refused": checked.refused,
                     "citations": [c.to_json() for c in checked.citations]}


def run_articles(run_dir: Path) -> dict[str, set[str]] | None:
    """The words of every article the run searched, read again from the folders its summary names; None when
    they are gone (the check then has each article's evidence only)."""
    try:
        named = json.loads((Path(run_dir) / "summary.json").read_text())["environment"]["settings"]["corpus_dirs"]
        docs, _ = read_corpus([Path(p) for p in re.findall(r"Path\('([^']*)'\)", named) if Path(p).is_dir()])
    except (OSError, ValueError, KeyError, RagError):
        return None
    return {d.source: set(tokenize(f"{d.title}\n{d.text}")) for d in docs}


def ablate(runs: list[tuple[Path, Path]]) -> str:
    """A markdown table: one row per variant, the scores of each run side by side."""
    from embeddings.embedder import load_embedder

    embedder = load_embedder()
    head = ["variant"] + [f"{Path(r).name} {k}" for r, _ in runs for k in KEYS]
    rows = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    loaded = [({q.item["id"]: q.item for q in load_questions(questions)},
               [json.loads(line) for line in (Path(run_dir) / "results.jsonl").read_text().splitlines()],
               run_articles(run_dir)) for run_dir, questions in runs]
    for variant in VARIANTS:
        cells = [variant]
        for items, results, articles in loaded:
            results = [recheck(r, variant, embedder, articles=articles) for r in results if r.get("repeat", 0) == 0]
            s = summarise([judge(items[r["id"]], r) for r in results if r["id"] in items], results)
            cells += [f"{s[k]:.3f}" if s.get(k) is not None else "–" for k in KEYS]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
