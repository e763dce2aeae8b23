"""Stop in the page, with the default model: time from the click to an idle server (its CPU time stops
growing) and to the "Stopped" label, for a Stop while the prompt is processed and one while tokens stream.

    .venv/bin/python scripts/stop_latency.py [--root OTHER_CHECKOUT]   # e.g. a worktree of an older commit
"""
import argparse
import os
import shutil
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ["Who is Morgan Michaels?", "Which Russian warship visited Yangon in October 2021?",
             "What did Rosatom plan to build in Myanmar?", "Who did Min Aung Hlaing hold talks with in Kazan?",
             "What honour did the Russian Military University give Min Aung Hlaing?"]
TICK = os.sysconf("SC_CLK_TCK")
TOKEN = """() => { const b = document.querySelectorAll('#chat .message.bot'); const t = b.length ? b[b.length - 1].innerText.trim() : '';
  return t.length > 0 && t !== '…' && !t.startsWith('Loading'); }"""


def cpu_s(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def until_idle(pid: int, quiet_s: float = 0.5) -> float:
    """Seconds from now to the last CPU use before ``quiet_s`` without any (10 ms ticks)."""
    t0 = time.perf_counter()
    last_busy, last_cpu = t0, cpu_s(pid)
    while time.perf_counter() - last_busy < quiet_s:
        time.sleep(0.02)
        now = cpu_s(pid)
        if now - last_cpu > 0.015:  # more than one tick in 20 ms: still computing
            last_busy = time.perf_counter()
        last_cpu = now
    return last_busy - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose `rag chat` is measured")
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(args.root))
    proc = subprocess.Popen([str(ROOT / ".venv/bin/python"), "-m", "rag", "chat", "--port", "7872"], cwd=args.root,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            urllib.request.urlopen("http://127.0.0.1:7872/", timeout=1).read()
            break
        except OSError:
            time.sleep(0.3)
    rows = {"prompt": [], "tokens": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto("http://127.0.0.1:7872/")
        page.wait_for_selector("#question textarea")
        for when in rows:
            for q in QUESTIONS:
                page.locator("button", has_text="New conversation").click()
                page.wait_for_timeout(300)
                until_idle(proc.pid)
                page.locator("#question textarea").fill(f"{q} ({when})")
                page.locator("#question textarea").press("Enter")
                if when == "prompt":
                    page.wait_for_selector("#sources details.source", timeout=60_000)
                    page.wait_for_timeout(500)
                else:
                    page.wait_for_function(TOKEN, polling=20, timeout=120_000)
                page.locator("#stop").click()
                t = time.perf_counter()
                idle = until_idle(proc.pid)
                page.wait_for_timeout(1000)
                labelled = page.locator("#chat .message.bot").last.inner_text()
                rows[when].append((idle, "Stopped" in labelled and "▌" not in labelled, time.perf_counter() - t))
        browser.close()
    proc.terminate()
    proc.wait()
    for when, r in rows.items():
        idle = [x[0] for x in r]
        print(f"Stop while {'the prompt is processed' if when == 'prompt' else 'tokens stream'}: server idle after "
              f"p50 {1000 * statistics.median(idle):.0f} ms, max {1000 * max(idle):.0f} ms "
              f"(each: {[round(1000 * x) for x in idle]}); labelled Stopped {sum(x[1] for x in r)}/{len(r)}")


if __name__ == "__main__":
    main()
