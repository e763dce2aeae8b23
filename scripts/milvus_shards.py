"""Two processes indexing the two shards of one folder into one Milvus Lite file at once, then the collection
compared with a one-process build (the same articles, passage count and passage keys).

    PYTHONPATH=. .venv/bin/python scripts/milvus_shards.py [FOLDER]   (default ../shared/eval/rgb_dev/corpus)

Milvus Lite lets one process open a file at a time, so the second process is refused with a message saying so;
it is then run again after the first, as two machines would run on a Milvus server at once.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def index(corpus: Path, work: Path, db: str, shard: str | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "rag", "index", str(corpus), "--index-dir", str(work / db / "index"),
           "--store", f"milvus:{work / db / 'milvus.db'}"] + (["--shard", shard] if shard else [])
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(p: subprocess.Popen) -> dict:
    out, err = p.communicate()
    return {"rc": p.returncode, "said": (out.strip().splitlines() or [""])[-1],
            "error": [x for x in err.splitlines() if x.startswith("error")][-1:]}


def collection(corpus: Path, work: Path, db: str) -> dict:
    from core.settings import Settings
    from embeddings.backends import open_store

    s = Settings.load(corpus_dirs=(corpus,), index_dir=work / db / "index", store=f"milvus:{work / db / 'milvus.db'}")
    store = open_store(s)
    idx = store.load(s)
    out = {"articles": sorted(idx.documents), "passages": len(idx.chunks), "keys": sorted(idx.pks)}
    store.close()
    return out


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "eval" / "rgb_dev" / "corpus"
    work = Path(tempfile.mkdtemp(prefix="shards-"))
    corpus = work / "corpus"
    shutil.copytree(source, corpus)
    t = time.perf_counter()
    a, b = index(corpus, work, "shards", "1/2"), index(corpus, work, "shards", "2/2")
    at_once = [finished(a), finished(b)]
    again = [finished(index(corpus, work, "shards", f"{i + 1}/2")) for i, r in enumerate(at_once) if r["rc"]]
    shards_s = time.perf_counter() - t
    t = time.perf_counter()
    one = finished(index(corpus, work, "one"))
    one_s = time.perf_counter() - t
    x, y = collection(corpus, work, "shards"), collection(corpus, work, "one")
    print(json.dumps({"at_once": at_once, "run_again": again, "one_process": one, "shards_s": round(shards_s, 1),
                      "one_process_s": round(one_s, 1), "articles": len(x["articles"]), "passages": x["passages"],
                      "same_articles": x["articles"] == y["articles"], "same_passages": x["passages"] == y["passages"],
                      "same_keys": x["keys"] == y["keys"]}, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
