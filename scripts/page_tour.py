"""A new user's tour of the page with the default model, as screenshots: example question, citation opened,
follow-up, an uploaded article asked about. Needs Debian's chromium.

    .venv/bin/python scripts/page_tour.py OUT_DIR
"""
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/tour")
out.mkdir(parents=True, exist_ok=True)
data = Path(tempfile.mkdtemp())
port = 7871
env = dict(__import__("os").environ, RAG_DATA_DIR=str(data))
proc = subprocess.Popen([str(ROOT / ".venv/bin/rag"), "chat", "--port", str(port)], cwd=ROOT, env=env,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
url = f"http://127.0.0.1:{port}/"
t0 = time.time()
while True:
    try:
        urllib.request.urlopen(url, timeout=1)
        break
    except OSError:
        time.sleep(0.3)
print(f"page up after {time.time() - t0:.1f} s")
ANSWERED = """() => { const b = document.querySelectorAll('#chat .message');
  const t = b.length ? b[b.length - 1].innerText : ''; return t.length > 5 && !t.includes('▌') && t !== '…'; }"""


def ask(page, text, shot):
    page.locator("#question textarea").fill(text)
    page.locator("#question textarea").press("Enter")
    page.wait_for_timeout(500)
    page.wait_for_function(ANSWERED, timeout=120_000)
    page.wait_for_timeout(300)
    page.screenshot(path=str(out / shot), full_page=True)
    return page.locator("#chat .message").last.inner_text()


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"])
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.get_by_text("What agreements were signed in March?").first.click()  # an example is asked on click
    page.wait_for_timeout(500)
    page.wait_for_function(ANSWERED, timeout=120_000)
    print("1:", page.locator("#chat .message").last.inner_text())
    link = page.locator("#chat a.cite").first
    if link.count():
        link.hover()
        link.click()
    page.screenshot(path=str(out / "1_example_and_citation.png"), full_page=True)
    page.locator("button", has_text="New conversation").click()
    print("2:", ask(page, "Who is Morgan Michaels?", "2_who.png"))
    print("3:", ask(page, "What did he say about Russia's role?", "3_follow_up.png"))
    article = data / "upload" / "ferry.txt"
    article.parent.mkdir(parents=True)
    article.write_text("A new ferry service between Sittwe and Kyaukphyu began in June 2025. It carries 400 "
                       "passengers a day, the transport ministry said.", encoding="utf-8")
    page.get_by_text("Add articles").click()
    page.locator("input[type=file]").set_input_files(str(article))
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Add files to the collection").click()
    page.get_by_text("Added ferry").wait_for(timeout=60_000)
    print("4:", ask(page, "How many passengers does the ferry between Sittwe and Kyaukphyu carry?", "4_uploaded.png"))
    browser.close()
proc.terminate()
proc.wait()
