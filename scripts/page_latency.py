"""Page figures with the default model:
1. start-up of `rag chat` to a page that answers HTTP, and the server's peak memory after 3 questions;
2. Enter-to-evidence-on-screen (timed inside the page) and Enter-to-first-visible-token in headless Chromium, against the library's own
   first token for the same question, both from a cold llama.cpp cache, in one process (so the difference is what
   the page adds).

    .venv/bin/python scripts/page_latency.py
"""
import shutil
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

from gradio_client import Client
from playwright.sync_api import sync_playwright

from rag.pipeline import ask_stream
from core.settings import Settings
from ui import handlers
from ui.app import serve

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ["Who is Morgan Michaels?", "Which Russian warship visited Yangon in October 2021?",
             "What did Rosatom plan to build in Myanmar?", "Who did Min Aung Hlaing hold talks with in Kazan?",
             "What honour did the Russian Military University give Min Aung Hlaing?"]

# 1. start-up and memory of the real command
t0 = time.perf_counter()
proc = subprocess.Popen([str(ROOT / ".venv/bin/rag"), "chat", "--port", "7870"], cwd=ROOT,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while True:
    try:
        urllib.request.urlopen("http://127.0.0.1:7870/", timeout=1).read()
        break
    except OSError:
        time.sleep(0.2)
startup = time.perf_counter() - t0
client = Client("http://127.0.0.1:7870/", verbose=False)
for q in QUESTIONS[:3]:
    client.predict(q, 3, api_name="/ask")
peak = int(next(l.split()[1] for l in open(f"/proc/{proc.pid}/status") if l.startswith("VmHWM"))) / 1024
proc.terminate()
proc.wait()

# 2. what the page adds to the first token
FIRST = """() => { const b = document.querySelectorAll('#chat .message'); if (b.length < 2) return false;
  const t = b[b.length - 1].innerText.trim(); return t.length > 0 && t !== '…' && t !== 'Loading content'; }"""
DONE = """() => { const b = document.querySelectorAll('#chat .message'); const t = b.length ? b[b.length - 1].innerText : '';
  return !t.includes('▌') && t.length > 3 && t !== '…'; }"""
# measured in the page: from the Enter keydown to the evidence note in the DOM (a MutationObserver), so the
# figure holds no Playwright round trips (those add ~300 ms measured from Python)
ENTER_TO_EVIDENCE = """() => { window.__enter = 0; window.__ev = 0;
  document.querySelector('#question textarea').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !window.__enter) window.__enter = performance.now(); });
  new MutationObserver(() => { if (window.__enter && !window.__ev && document.querySelector('#sources details.source'))
    window.__ev = performance.now(); }).observe(document.body, {subtree: true, childList: true}); }"""
svc = handlers.ChatService(Settings.load(), upload_dir=Path("/tmp/page-latency-uploads"))
svc.start()
llama = svc.engine.llm._llm
svc.warm_evidence()  # as `rag chat` does (ui.app.launch)
demo = serve(svc, "127.0.0.1", 7871, block=False)
page_first, lib_first, evidence_seen = [], [], []
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
    page = browser.new_page()
    page.goto("http://127.0.0.1:7871/")
    page.wait_for_selector("#question textarea")
    for q in QUESTIONS:
        page.locator("button", has_text="New conversation").click()
        page.wait_for_timeout(300)
        llama.reset()
        page.locator("#question textarea").fill(q)
        page.evaluate(ENTER_TO_EVIDENCE)
        t = time.perf_counter()
        page.locator("#question textarea").press("Enter")
        page.wait_for_selector("#sources details.source", timeout=60_000)
        page.wait_for_function("() => window.__ev > 0", timeout=10_000)
        evidence_seen.append(page.evaluate("() => (window.__ev - window.__enter) / 1000"))
        page.wait_for_function(FIRST, polling=10, timeout=60_000)
        page_first.append(time.perf_counter() - t)
        page.wait_for_function(DONE, polling=100, timeout=120_000)
        llama.reset()
        t = time.perf_counter()
        stream = ask_stream(svc.engine, q)
        next(x for x in stream if isinstance(x, str))
        lib_first.append(time.perf_counter() - t)
        stream.close()
    browser.close()
demo.close()
adds = [1000 * (a - b) for a, b in zip(page_first, lib_first)]
print(f"start-up of `rag chat` to a usable page: {startup:.1f} s; server peak memory {peak:.0f} MB")
print(f"evidence on screen after Enter: p50 {1000 * statistics.median(evidence_seen):.0f} ms "
      f"(each: {[round(1000 * x) for x in evidence_seen]})")
print(f"first token in the browser p50 {statistics.median(page_first):.2f} s, library {statistics.median(lib_first):.2f} s "
      f"(cold cache); the page adds p50 {statistics.median(adds):.0f} ms (each: {[round(a) for a in adds]})")
