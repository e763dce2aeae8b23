"""Page figures: start-up to a usable page, Enter-to-first-token through a real server (gradio_client on the
streaming chat endpoint) against the library's first-token time from a `rag bench` run of the same questions in
the same order, and the server's peak memory. Starts `rag chat` (default model) on port 7870.

    .venv/bin/python scripts/page_latency.py ../shared/eval/dev.jsonl runs/dev/results.jsonl
"""
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from gradio_client import Client

ROOT = Path(__file__).resolve().parents[1]
questions = [json.loads(line)["question"] for line in Path(sys.argv[1]).read_text().splitlines() if line.strip()]
library = {r["question"]: r for r in map(json.loads, Path(sys.argv[2]).read_text().splitlines())}
port = 7870
t0 = time.perf_counter()
proc = subprocess.Popen([str(ROOT / ".venv/bin/rag"), "chat", "--port", str(port)], cwd=ROOT,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
url = f"http://127.0.0.1:{port}/"
while True:
    try:
        urllib.request.urlopen(url, timeout=1).read()
        break
    except OSError:
        if proc.poll() is not None:
            sys.exit("rag chat exited")
        time.sleep(0.2)
startup = time.perf_counter() - t0
client = Client(url, verbose=False)
page_first, lib_first = [], []
for q in questions:
    t = time.perf_counter()
    job = client.submit(q, [], 3, "", "", api_name="/chat")
    first = None
    for update in job:
        text = update[0][-1]["content"] if update[0] else ""
        text = text if isinstance(text, str) else " ".join(c.get("text", "") for c in text)
        if first is None and text.strip() not in ("", "…"):
            first = time.perf_counter() - t
    lib = library.get(q, {}).get("timings", {})
    if first is not None and lib.get("generate_s"):  # questions that reached the model in both runs
        page_first.append(first)
        lib_first.append(lib["first_token_s"])
rss = int(next(l.split()[1] for l in open(f"/proc/{proc.pid}/status") if l.startswith("VmHWM"))) / 1024
proc.terminate()
proc.wait()
deltas = [p - l for p, l in zip(page_first, lib_first)]
print(f"start-up to a usable page: {startup:.1f} s")
print(f"first streamed token in the page: p50 {statistics.median(page_first):.2f} s over {len(page_first)} questions")
print(f"library first token, same questions: p50 {statistics.median(lib_first):.2f} s")
print(f"page overhead: p50 {1000 * statistics.median(deltas):.0f} ms")
print(f"server peak memory: {rss:.0f} MB")
