"""The README's picture: the real page answering a question, its first citation opened in the Sources panel with
the quoted sentence highlighted. Headless Debian chromium through Playwright.

    .venv/bin/python scripts/screenshot.py [--out docs/img/cited-answer.png] [--model tiny] [--question Q ...]

The model is the default one when it is installed, else the tiny test model (or the one ``--model`` names).
The page is served as ``rag chat`` serves it, over the shipped articles with a fresh index in a temporary folder.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QUESTIONS = ["What agreements were signed in March?", "Which Russian warship visited Yangon in October 2021?"]
FINAL = """() => { const b = document.querySelectorAll('#chat .message');
  const t = b.length ? b[b.length - 1].innerText.trim() : '';
  return b.length >= 2 && t.length > 5 && !t.includes('▌') && t !== '…' && !t.startsWith('⏳')
  && !t.startsWith('Loading'); }"""


def model_choice(given: str | None) -> str:
    """``given``, else the default model when its parts are installed, else "tiny"."""
    if given:
        return given
    from rag.models import part_files

    try:
        part_files()
        return ""
    except Exception:  # noqa: BLE001 - any missing part: fall back to the test model
        return "tiny"


def shoot(out: Path, model: str, port: int = 7897, questions: list[str] = QUESTIONS) -> str:
    """Serve the page, ask until an answer cites, open its first citation, save the PNG; returns the answer."""
    from playwright.sync_api import sync_playwright

    from core.settings import Settings
    from ui import handlers
    from ui.app import launch

    tmp = Path(tempfile.mkdtemp())
    settings = Settings.load(corpus_dirs=(ROOT / "seeds",), index_dir=tmp / "index", model_path=model or None)
    service = handlers.ChatService(settings, tmp / "articles")
    demo = launch(service, port=port, block=False)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            # the page's first request has come back: its events are wired (a question typed sooner can be lost)
            page.get_by_text("Answers come only from the collection").first.wait_for(timeout=240_000)
            answer = ""
            for question in questions:
                _ask(page, question)
                _wait_answer(page)
                page.wait_for_timeout(500)
                last = page.locator("#chat .message").last
                answer = last.inner_text()
                if last.locator("a.cite").count():
                    last.locator("a.cite").first.click()
                    break
                page.locator("button", has_text="New conversation").click()
                page.wait_for_function("() => !document.querySelector('#chat .message')")
            page.wait_for_timeout(1700)  # the opened source's flash fades; its highlighted quote stays
            page.evaluate("window.scrollTo(0, 0)")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
            browser.close()
        return answer
    finally:
        service.stop_warming()
        demo.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _ask(page, question: str) -> None:
    """Type and send a conversation's first question; sent again if the page has neither taken nor shown it in
    60 s (on a loaded machine an Enter before the page's events are wired is lost)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    shown = "() => document.querySelectorAll('#chat .message.user').length > 0"
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    for attempt in range(2):
        try:
            page.wait_for_function(shown, timeout=60_000)
            return
        except PlaywrightTimeout:
            if attempt == 0 and box.input_value():  # still in the box: the Enter was lost, press it again
                box.press("Enter")  # (a taken question empties the box: then only wait once more)
    raise SystemExit(f"The page did not take the question {question!r} in 120 s.")


def _wait_answer(page) -> None:
    """Until the last chat message is a finished answer; on a timeout, say what the page showed instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(FINAL, timeout=240_000)
    except PlaywrightTimeout:
        shown = page.evaluate("() => [...document.querySelectorAll('#chat .message, #status')]"
                              ".map(e => e.className + ': ' + e.innerText.slice(0, 300))")
        raise SystemExit("No finished answer within 240 s; the page showed:\n" + "\n".join(shown)) from None


def main() -> None:
    p = argparse.ArgumentParser(description="The README's screenshot of a cited answer.")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "cited-answer.png")
    p.add_argument("--model", help="a GGUF file or 'tiny' (default: the default model if installed, else tiny)")
    p.add_argument("--port", type=int, default=7897)
    p.add_argument("--question", action="append", help="ask this instead (repeat for more; the first cited is shown)")
    args = p.parse_args()
    os.environ.setdefault("RAG_DATA_DIR", tempfile.mkdtemp())
    model = model_choice(args.model)
    answer = shoot(args.out, model, args.port, args.question or QUESTIONS)
    print(f"{args.out} ({model or 'default model'}): {answer[:200]}")


if __name__ == "__main__":
    main()
