"""Start-up wall times of the commands a newcomer runs first, for one or more checkouts side by side.

    .venv/bin/python scripts/startup_figures.py [--root DIR ...] [--model tiny] [--out FILE.json]

For each ``--root`` (default: this checkout), run as ``PYTHONPATH=ROOT python -m rag ...`` over that checkout's
``seeds/`` with a fresh index (built first, not timed) and an empty data folder: ``rag --help`` and ``rag list``
(median of 3), ``rag ask --json`` to its answer (process exit), and ``rag chat`` to its first HTTP 200, to the
Gradio page (the first 200 without ``ui.early``'s placeholder header) and to its first answer (``/ask`` through
gradio_client, asked as soon as the Gradio page answers).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
QUESTION = "Which Russian warship visited Yangon in October 2021?"


def env_for(root: Path, base: Path) -> dict:
    return dict(os.environ, PYTHONPATH=str(root), RAG_CACHE_DIR=str(base / "cache"), RAG_DATA_DIR=str(base / "data"))


def rag(root: Path, env: dict, *args: str, timeout: float = 600) -> float:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "rag", *args], cwd=root, env=env, capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise SystemExit(f"rag {' '.join(args)} failed in {root}: {r.stderr[-2000:]}")
    return time.perf_counter() - t0


def chat(root: Path, env: dict, model: list[str], port: int) -> tuple[float, float, float]:
    """Seconds from ``rag chat`` to the first HTTP 200, to the Gradio page, and to the answer of a question
    asked then."""
    from gradio_client import Client

    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "rag", "chat", "--port", str(port), *model], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    first = None
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"rag chat exited ({proc.returncode}) in {root}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        first = first or time.perf_counter() - t0
                        if not resp.headers.get("X-Early-Page"):
                            break
            except OSError:
                pass
            time.sleep(0.05)
        page = time.perf_counter() - t0
        data = Client(url, verbose=False).predict(QUESTION, 0, api_name="/ask")
        if not data.get("answer"):
            raise SystemExit(f"no answer from {root}: {data}")
        return first, page, time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(30)


def measure(root: Path, model: list[str], port: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        env = env_for(root, base)
        rag(root, env, "index")  # the index exists, as after the first run; not timed
        out = {"root": str(root), "commit": _commit(root)}
        out["help_s"] = statistics.median(rag(root, env, "--help") for _ in range(3))
        out["list_s"] = statistics.median(rag(root, env, "list") for _ in range(3))
        out["ask_json_s"] = rag(root, env, "ask", QUESTION, "--json", *model)
        out["chat_http_200_s"], out["chat_page_s"], out["chat_first_answer_s"] = chat(root, env, model, port)
        out["load_average"] = os.getloadavg()[0]
        return out


def _commit(root: Path) -> str:
    r = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return r.stdout.strip() + ("+changes" if dirty else "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", action="append", type=Path, help="a checkout to measure (repeatable)")
    p.add_argument("--model", help="--model for ask and chat (default: the default model)")
    p.add_argument("--port", type=int, default=7893)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    model = ["--model", args.model] if args.model else []
    rows = [measure(root.resolve(), model, args.port) for root in args.root or [HERE]]
    print("| code | rag --help | rag list | rag ask --json (answer) | rag chat: first HTTP 200 | rag chat: the page "
          "| rag chat: first answer | load average |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['commit']} | {r['help_s']:.2f} s | {r['list_s']:.2f} s | {r['ask_json_s']:.1f} s | "
              f"{r['chat_http_200_s']:.1f} s | {r['chat_page_s']:.1f} s | {r['chat_first_answer_s']:.1f} s | "
              f"{r['load_average']:.1f} |")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
