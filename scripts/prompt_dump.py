"""The evidence and prompt the model would get, for every question of the three evaluation sets, as JSON: run
on two checkouts and compare (answers follow from the prompt).

    PYTHONPATH=. .venv/bin/python scripts/prompt_dump.py /tmp/new.json
"""
import json, sys, tempfile
from pathlib import Path
from core.settings import Settings
from rag.pipeline import open_engine, find
from rag.prompt import build_messages
shared = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
out = {}
for name, qs, corpus in [("dev", shared/"dev.jsonl", None), ("hard", shared/"dev_hard.jsonl", None),
                         ("rgb", shared/"rgb_dev/questions.jsonl", shared/"rgb_dev/corpus")]:
    kw = {"corpus_dirs": (corpus,)} if corpus else {}
    s = Settings.load(index_dir=Path(tempfile.mkdtemp()) / "idx", **kw)
    eng, _ = open_engine(s)
    for line in open(qs):
        q = json.loads(line)
        f = find(eng, q["question"])
        r = f.retrieval
        msgs = build_messages(f.question, f.evidence, []) if f.evidence else []
        out[q["id"]] = {"hits": [h.chunk.chunk_id for h in r.hits], "best": round(r.best_dense, 5),
                        "decline": r.decline_reason, "prompt": msgs[-1]["content"] if msgs else ""}
json.dump(out, open(sys.argv[1], "w"), indent=1)
