"""The fault suite of two processes on one collection (issue 24); prints the figures of docs/figures.md, Reliability.

    PYTHONPATH=$PWD .venv/bin/python scripts/fault_suite.py [--runs 10] [--kills 20] [--out runs/fault_suite.json]

1. Two `rag add` processes of 100 files each, 20 of the names in both folders, started together (``--runs``).
2. `rag add` of 10 files while the page (a real Gradio server in this process) takes an upload of 10 files, 5 names
   shared; half the runs start the upload with the CLI, half once the CLI holds the collection's lock.
3. `rag add` killed with SIGKILL while it holds the lock (``--kills``); then the next writer adds the same files.
After each: articles kept = articles given (each text once, none overwritten), every article has its catalog entry
and is indexed, and a question about an article of each side retrieves it.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def article(tag: str) -> str:
    """One short article that only a question naming ``tag`` ("a017") finds."""
    return (f"The harbour office reported that the {tag}ship ferry carried {len(tag) * 37} passengers in one week. "
            f"Officials said the {tag}ship line would run again next summer.\n")


def question(tag: str) -> str:
    return f"How many passengers did the {tag}ship ferry carry?"


def rag_add(folder: Path, data: Path) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "rag", "add", str(folder), "--data-dir", str(data)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def write_folder(folder: Path, names: list[str], tags: list[str]) -> dict[str, str]:
    folder.mkdir(parents=True)
    for name, tag in zip(names, tags):
        (folder / f"{name}.txt").write_text(article(tag), encoding="utf-8")
    return {tag: article(tag) for tag in tags}


def check(folder: Path, given: dict[str, str], service, ask=None) -> dict:
    """Kept = given, every catalog entry, every article indexed; ``ask``: a question per side retrieves its article."""
    kept = Counter(p.read_text(encoding="utf-8") for p in folder.glob("*.txt"))
    catalog = {a["file"]: a for a in json.loads((folder / "catalog.json").read_text())["articles"]}
    service.refresh()
    docs = service.documents()
    texts = set(given.values())
    out = {"given": len(given), "kept": sum(kept[t] for t in texts), "twice": sum(n - 1 for n in kept.values() if n > 1),
           "other": sum(n for t, n in kept.items() if t not in texts),
           "without_entry": sum(1 for p in folder.glob("*.txt") if not catalog.get(p.name, {}).get("title")),
           "not_indexed": sum(1 for p in folder.glob("*.txt") if p.stem not in docs)}
    if ask:
        out["questions"], out["seen"] = len(ask), sum(1 for tag, source in ask if source(tag))
    out["ok"] = (out["kept"] == out["given"] and not (out["twice"] or out["other"] or out["without_entry"]
                                                      or out["not_indexed"]) and out.get("seen") == out.get("questions"))
    return out


def seen_by(service):
    def source(tag: str) -> bool:
        hits = service.find(question(tag), k=3).retrieval.hits
        return bool(hits) and f"{tag}ship" in hits[0].chunk.text
    return source


def two_adds(base: Path, runs: int, files: int = 100, clashes: int = 20) -> list[dict]:
    from core.settings import Settings
    from rag.service import Service

    out = []
    for r in range(runs):
        work = base / f"two-{r}"
        given = write_folder(work / "a", [f"n{i}" for i in range(files)], [f"a{r}x{i}" for i in range(files)])
        b_names = [f"n{i}" for i in range(clashes)] + [f"m{i}" for i in range(clashes, files)]
        given |= write_folder(work / "b", b_names, [f"b{r}x{i}" for i in range(files)])
        t = time.perf_counter()
        procs = [rag_add(work / side, work / "data") for side in ("a", "b")]
        codes = [p.wait(timeout=900) for p in procs]
        seconds = time.perf_counter() - t
        svc = Service(Settings.load(), work / "data" / "articles")
        svc.start(update=False)
        res = check(work / "data" / "articles", given, svc, [(f"a{r}x{r}", seen_by(svc)), (f"b{r}x0", seen_by(svc))])
        out.append(res | {"exit_codes": codes, "seconds": round(seconds, 1)})
        print("two adds", r, out[-1], flush=True)
    return out


def page_and_cli(base: Path, runs: int, model: Path) -> list[dict]:
    from gradio_client import Client

    from core.lock import is_held
    from core.settings import Settings
    from ui import handlers
    from ui.app import serve

    folder = base / "page" / "data" / "articles"
    svc = handlers.ChatService(Settings.load(model_path=model, max_tokens=8), upload_dir=folder)
    svc.start()
    port = 7950 + os.getpid() % 40
    demo = serve(svc, "127.0.0.1", port, block=False)
    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    given, out = {}, []
    try:
        for r in range(runs):
            work = base / f"page-{r}"
            cli = write_folder(work / "cli", [f"p{i}" for i in range(5)] + [f"c{r}_{i}" for i in range(5, 10)],
                               [f"c{r}y{i}" for i in range(10)])
            up = write_folder(work / "up", [f"p{i}" for i in range(10)], [f"u{r}y{i}" for i in range(10)])
            given |= cli | up
            proc = rag_add(work / "cli", base / "page" / "data")
            while r % 2 and proc.poll() is None and not is_held(folder / ".lock"):
                time.sleep(0.01)  # odd runs: the upload comes while the CLI holds the collection
            message = handlers.add_files(svc, sorted(map(str, (work / "up").glob("*.txt"))))
            code = proc.wait(timeout=600)

            def answered(tag: str) -> bool:
                data = client.predict(question(tag), 3, api_name="/ask")
                holder = next((s for s, d in svc.documents().items() if f"{tag}ship" in d.text), None)
                return bool(data["retrieved"]) and data["retrieved"][0]["source"] == holder

            res = check(folder, given, svc, [(f"c{r}y{r}", answered), (f"u{r}y{9 - r}", answered)])
            out.append(res | {"exit_code": code, "upload_refused": message.count("Not added"),
                              "cli_held_first": bool(r % 2)})
            print("page and cli", r, out[-1], flush=True)
    finally:
        demo.close()
    return out


def kills(base: Path, n: int, seed: int = 0) -> dict:
    from core.lock import is_held
    from core.settings import Settings
    from rag.service import MAX_ADD_FILES, Service

    rng = random.Random(seed)
    data = base / "kills" / "data"
    folder = data / "articles"
    svc = Service(Settings.load(), folder)
    svc.start()
    given, lock_outlived, killed_holding, rerun_failed, waits = {}, 0, 0, 0, []
    for k in range(n):
        src = base / "kills" / f"in-{k}"
        given |= write_folder(src, [f"k{i}" for i in range(30)], [f"k{k}z{i}" for i in range(30)])
        proc = rag_add(src, data)
        while proc.poll() is None and not is_held(folder / ".lock"):
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 1.2))
        killed_holding += is_held(folder / ".lock") and proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        lock_outlived += is_held(folder / ".lock")
        t = time.perf_counter()
        paths = sorted(src.glob("*.txt"))
        try:  # the next writer: the same files again, in this process
            for i in range(0, len(paths), MAX_ADD_FILES):
                svc.add_files(paths[i:i + MAX_ADD_FILES])
        except Exception as exc:  # noqa: BLE001 - counted and reported
            rerun_failed += 1
            print("rerun failed:", exc, flush=True)
        waits.append(time.perf_counter() - t)
    res = check(folder, given, svc)
    return res | {"kills": n, "killed_while_holding": killed_holding, "lock_outlived_process": lock_outlived,
                  "next_run_failed": rerun_failed, "next_run_s_max": round(max(waits), 2)}


def summary(two: list[dict], page: list[dict], killed: dict) -> dict:
    def total(rows, key):
        return sum(r[key] for r in rows)

    return {"two_adds": {"runs": len(two), "runs_ok": sum(r["ok"] for r in two), "given": total(two, "given"),
                         "kept": total(two, "kept"), "overwritten_or_twice": total(two, "twice") + total(two, "other"),
                         "without_entry": total(two, "without_entry"), "not_indexed": total(two, "not_indexed"),
                         "questions": total(two, "questions"), "seen": total(two, "seen"),
                         "seconds_per_run": round(total(two, "seconds") / max(1, len(two)), 1)},
            "page_and_cli": {"runs": len(page), "runs_ok": sum(r["ok"] for r in page),
                             "given": page[-1]["given"] if page else 0, "kept": page[-1]["kept"] if page else 0,
                             "without_entry": page[-1]["without_entry"] if page else 0,
                             "questions": total(page, "questions"), "seen": total(page, "seen")},
            "kills": killed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "fault_suite.json")
    args = ap.parse_args()
    from rag.models import tiny_model_path

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        os.environ["RAG_CACHE_DIR"] = str(base / "cache")  # indexes of this run only; the CLI children inherit it
        os.environ["RAG_INDEX_DIR"] = str(base / "index")  # one index: the seeds are embedded once, not per run
        t = time.perf_counter()
        two = two_adds(base, args.runs)
        page = page_and_cli(base, args.runs, tiny_model_path())
        killed = kills(base, args.kills)
        figures = summary(two, page, killed) | {"seconds": round(time.perf_counter() - t), "cores": os.cpu_count()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": figures, "two_adds": two, "page_and_cli": page}, indent=1))
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
