"""What the model would be given at several evidence budgets, without running it: per set, the share of the
answers' facts found in the evidence (the ceiling of fact recall), a source of the answer among the evidence, and
the median size of the question's own message (the tokens evaluated after llama.cpp's cached instructions,
counted as ``estimate_tokens`` counts them).

    PYTHONPATH=. .venv/bin/python scripts/evidence_budget.py 250 200 180
"""
import statistics
import sys
import tempfile
from pathlib import Path

from core.settings import Settings
from rag.eval.questions import load_questions
from rag.eval.scoring import judge
from rag.pipeline import estimate_tokens, find, open_engine
from rag.prompt import build_messages

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
SETS = [("dev", SHARED / "dev.jsonl", None), ("dev_hard", SHARED / "dev_hard.jsonl", None),
        ("rgb_dev", SHARED / "rgb_dev/questions.jsonl", SHARED / "rgb_dev/corpus")]


def measure(engine, questions) -> tuple[float, float, float]:
    facts, sources, tokens = [], [], []
    for q in questions:
        item = q.item
        found = find(engine, item["question"])
        if found.evidence:
            tokens.append(estimate_tokens(build_messages(found.question, found.evidence, [])[-1]["content"]))
        if item.get("answerable", True):  # scored as the benchmark scores the evidence of an answer
            v = judge(item, {"answer": "", "evidence": [ev.to_json() for ev in found.evidence]})
            facts.append(v["evidence_facts"])
            sources.append(float(v["evidence_hit"]))
    return statistics.mean(facts), statistics.mean(sources), statistics.median(tokens)


def main(budgets: list[int]) -> None:
    print("| set | evidence budget | facts in evidence | a source among the evidence | question's message, tokens (median) |")
    print("|---|---|---|---|---|")
    for name, path, corpus in SETS:
        questions = load_questions(path)
        index_dir = Path(tempfile.mkdtemp()) / "index"
        for budget in budgets:
            kw = {"corpus_dirs": (corpus,)} if corpus else {}
            engine, _ = open_engine(Settings.load(index_dir=index_dir, evidence_tokens=budget, **kw))
            f, s, t = measure(engine, questions)
            print(f"| {name} | {budget} | {f:.3f} | {s:.3f} | {t:.0f} |", flush=True)


if __name__ == "__main__":
    main([int(b) for b in sys.argv[1:]] or [250, 200, 180])
