"""The chat page: handlers as functions, a real Gradio server via gradio_client, a real headless Chromium."""
import shutil

import pytest

from core.settings import Settings
from tests.conftest import ROOT, SEEDS, free_port
from ui import handlers, render

QUESTION = "Which Russian warship visited Yangon in October 2021?"


@pytest.fixture(scope="module")
def service(tmp_path_factory, tiny_model):
    base = tmp_path_factory.mktemp("ui")
    s = Settings.load(corpus_dirs=(SEEDS,), index_dir=base / "index", model_path=tiny_model, max_tokens=48)
    svc = handlers.ChatService(s, upload_dir=base / "uploads")
    svc.start()
    return svc


def final(gen):
    last = None
    updates = 0
    for last in gen:
        updates += 1
    return last, updates


def test_chat_streams_and_renders_sources(service):
    (messages, sources, turns), updates = final(handlers.chat(service, QUESTION, [], []))
    assert updates >= 3  # placeholder, streamed pieces, final
    assert messages[0] == {"role": "user", "content": render.esc(QUESTION)}
    assert len(turns) == 1 and turns[0][0] == QUESTION
    answer = messages[-1]["content"]
    if "could not find" in answer:
        assert "Closest" in sources and "<details" in sources
    else:
        assert 'class="cite"' in answer and 'href="#src-1-' in answer
        assert "<mark>" in sources and 'id="src-1-' in sources


def test_follow_up_keeps_the_conversation(service):
    (m1, _, turns), _ = final(handlers.chat(service, "Who is Morgan Michaels?", [], []))
    (m2, _, turns2), _ = final(handlers.chat(service, "What did he say about Russia's role?", m1, turns))
    assert len(m2) == 4 and len(turns2) == 2


@pytest.mark.parametrize("question,text", [("", "question is empty"), ("x" * 5000, "limit is 2,000")])
def test_bad_questions_become_friendly_messages(service, question, text):
    (messages, _, _), _ = final(handlers.chat(service, question, [], []))
    assert messages[-1]["content"].startswith("⚠️") and text in messages[-1]["content"]


def test_bad_date_filter_is_explained(service):
    (messages, _, _), _ = final(handlers.chat(service, QUESTION, [], [], 4, "March", ""))
    assert "is not a date" in messages[-1]["content"]


def test_api_json_matches_cli_shape(service):
    data = handlers.ask_json(service, QUESTION, 3)
    assert len(data["retrieved"]) == 3 and "citations" in data and "timings" in data
    assert handlers.ask_json(service, "")["error"].startswith("The question is empty")


def test_upload_good_and_bad_files(service, tmp_path):
    good = tmp_path / "rice_deal.txt"
    good.write_text("Myanmar and Laos signed a rice export deal in Vientiane in April 2025.", encoding="utf-8")
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\x00\x00" * 50)
    wrong = tmp_path / "table.csv"
    wrong.write_text("a,b\n1,2")
    big = tmp_path / "big.txt"
    big.write_text("word " * 600_000)
    before = len(service.engine.index.chunks)
    msg = handlers.add_files(service, [str(good), str(binary), str(wrong), str(big)])
    assert "✅ Added rice\\_deal.txt" in msg
    assert "photo.txt" in msg and "binary" in msg and "table.csv" in msg and "big.txt" in msg
    assert "rice_deal" in service.engine.index.documents
    assert len(service.engine.index.chunks) == before + 1
    data = handlers.ask_json(service, "What did Myanmar and Laos sign in Vientiane?")
    assert data["retrieved"][0]["source"] == "rice_deal"


def test_paste_article_with_title_and_date(service):
    msg = handlers.add_pasted(service, "Ferry news", "2024-06", "A ferry linked Sittwe and Kyaukphyu in June 2024.")
    assert msg.startswith("✅")
    doc = service.engine.index.documents["ferry_news"]
    assert doc.title == "Ferry news" and doc.date == "2024-06"
    assert handlers.add_pasted(service, "", "", "text").startswith("⚠️")
    assert "not a date" in handlers.add_pasted(service, "T", "June", "text")


def test_non_loopback_needs_a_password():
    from core.errors import RagError
    from ui.app import _check_exposure

    with pytest.raises(RagError, match="--auth"):
        _check_exposure("0.0.0.0", None)
    assert _check_exposure("0.0.0.0", "ann:secret") == ("ann", "secret")
    assert _check_exposure("127.0.0.1", None) is None


# ---------- a real server ----------

@pytest.fixture(scope="module")
def server(service):
    from ui.app import serve

    port = free_port()
    demo = serve(service, "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_server_streams_and_named_endpoint(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    job = client.submit(QUESTION, [], 4, "", "", api_name="/chat")
    outputs = list(job)
    assert len(outputs) >= 2  # streamed updates arrived before the end
    messages = job.result()[0]
    assert messages[-1]["role"] == "assistant" and messages[-1]["content"]
    data = client.predict(QUESTION, 4, api_name="/ask")
    assert data["question"] == QUESTION and len(data["retrieved"]) == 4
    for c in data["citations"]:
        assert {"marker", "source", "start", "end", "quote", "supported"} <= set(c)


def test_two_concurrent_questions_both_complete(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    jobs = [client.submit(q, 3, api_name="/ask") for q in (QUESTION, "Who is Morgan Michaels?")]
    results = [j.result(timeout=300) for j in jobs]
    assert [r["question"] for r in results] == [QUESTION, "Who is Morgan Michaels?"]
    assert all("error" not in r for r in results)


# ---------- a real browser ----------

def browser_or_skip():
    """(Chromium's path, playwright.sync_api), or skip the test saying what to install."""
    exe = chromium_path()
    if not exe:
        pytest.skip("no Chromium found: install Debian's chromium (scripts/setup.sh --test does it as root)")
    return exe, pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.browser
def test_browser_asks_and_opens_a_citation(server):
    exe, sync_api = browser_or_skip()
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server)
        page.get_by_text("Ask the articles").first.wait_for()
        page.get_by_text(QUESTION).first.click()  # an example question fills the box
        page.locator("#question textarea").press("Enter")
        # the final answer replaces the streaming cursor
        page.wait_for_function("""() => { const b = document.querySelectorAll('#chat .message');
            const t = b.length ? b[b.length - 1].innerText : ''; return t.length > 5 && !t.includes('▌') && t !== '…'; }""",
                               timeout=180_000)
        page.locator("#sources details.source summary").first.wait_for(timeout=30_000)
        answer = page.locator("#chat .message").last.inner_text()
        if "could not find" in answer:
            first = page.locator("#sources details.source").first
            first.locator("summary").click()  # closest passages start collapsed
            assert first.locator(".passage").is_visible()
        else:
            link = page.locator("#chat a.cite").first
            quote = link.get_attribute("title")  # hovering a marker shows the quote
            assert quote
            target = link.get_attribute("href")
            link.click()  # jumps to the cited passage in the sources panel
            page.wait_for_timeout(300)
            mark = page.locator(f"#sources {target} mark")
            assert mark.is_visible() and mark.inner_text().strip() == quote.strip()
            assert len(browser.contexts[0].pages) == 1  # no new tab, no navigation away
        page.screenshot(path=str(out / "chat_page.png"), full_page=True)
        browser.close()
    assert (out / "chat_page.png").stat().st_size > 10_000


# the page records when the evidence and the answer's first text appear (performance.now(), ms)
TIMELINE = """() => { window.__t = {}; const t0 = performance.now();
  new MutationObserver(() => {
    if (!window.__t.evidence && document.querySelector('#sources .evidence-note')) window.__t.evidence = performance.now() - t0;
    const b = document.querySelectorAll('#chat .message'); const last = b.length ? b[b.length - 1].innerText.trim() : '';
    if (!window.__t.text && b.length >= 2 && last && !['…', 'Loading content'].includes(last) && !last.startsWith('Which')) { window.__t.text = performance.now() - t0; window.__t.val = last; }
  }).observe(document.body, {subtree: true, childList: true, characterData: true}); }"""


@pytest.mark.browser
def test_browser_shows_the_evidence_before_the_first_token(server):
    exe, sync_api = browser_or_skip()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server)
        page.locator("#question textarea").wait_for()
        page.locator("#question textarea").fill(QUESTION)
        page.evaluate(TIMELINE)
        page.locator("#question textarea").press("Enter")
        page.wait_for_function("() => window.__t.evidence && window.__t.text", timeout=180_000)
        t = page.evaluate("() => window.__t")
        assert t["evidence"] < t["text"], t  # the evidence was on screen before any of the answer
        page.wait_for_function("() => !document.querySelector('#chat').innerText.includes('▌')", timeout=180_000)
        browser.close()
