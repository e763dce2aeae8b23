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
    conv = handlers.Conversation()
    (messages, sources, box), updates = final(handlers.chat(service, conv, QUESTION))
    assert updates >= 3  # placeholder, evidence, streamed pieces, final
    assert messages[0] == {"role": "user", "content": render.esc(QUESTION)}
    assert len(conv.turns) == 1 and conv.turns[0].answer.question == QUESTION and box is None
    answer = messages[-1]["content"]
    if conv.turns[0].answer.refused:
        assert "Closest" in sources and "<details" in sources
    else:
        assert 'class="cite"' in answer and 'href="#src-1-' in answer
        assert "<mark>" in sources and 'id="src-1-' in sources


def test_every_answer_keeps_its_sources(service):
    conv = handlers.Conversation()
    final(handlers.chat(service, conv, QUESTION))
    (messages, sources, _), _ = final(handlers.chat(service, conv, "Who is Morgan Michaels?"))
    assert len(messages) == 4 and len(conv.turns) == 2
    # both answers' passages are in the panel, newest first and open, the older one folded
    assert sources.index('id="turn-2" open') < sources.index('id="turn-1"') and 'id="turn-1" open' not in sources
    assert 'id="src-1-1"' in sources and 'id="src-2-1"' in sources


def test_stop_keeps_the_written_part_and_the_next_question_goes_on(service):
    conv = handlers.Conversation()
    gen = handlers.chat(service, conv, QUESTION)
    for messages, sources, _ in gen:
        if "id=\"src-" in sources:  # the evidence is shown: stop before or while the model writes
            conv.stop()
    answer = conv.turns[0].answer
    assert answer.stopped and "(Stopped.)" in answer.answer and not answer.refused
    assert "Stopped" in messages[-1]["content"]
    assert 'id="src-1-1"' in sources  # the evidence stays as the stopped answer's sources
    (messages, _, _), _ = final(handlers.chat(service, conv, "Who is Morgan Michaels?"))
    assert len(messages) == 4 and not conv.turns[1].answer.stopped  # a Stop before it does not end it


def test_stop_while_the_evidence_is_found_stops_that_question_before_the_model(service):
    conv = handlers.Conversation()
    handlers.enqueue(conv, QUESTION)
    handlers.find_next(service, conv)
    conv.stop()  # pressed while the page still shows "Looking for evidence": the answer has not started
    handlers.enqueue(conv, "Who is Morgan Michaels?")  # asked right after Stop
    (messages, sources, _), _ = final(handlers.answer_next(service, conv))
    first = conv.turns[0].answer
    assert first.stopped and first.draft == "" and "before any answer was written" in messages[1]["content"]
    assert 'id="src-1-1"' in sources  # its evidence is kept
    final(handlers.answer_next(service, conv))
    assert not conv.turns[1].answer.stopped and conv.turns[1].answer.draft  # the next one is answered


def test_evidence_started_with_the_question_is_waited_for_by_the_page_request(service):
    conv = handlers.Conversation()
    handlers.enqueue(conv, QUESTION)
    handlers.start_finding(service, conv)  # as the page's first request does, in a thread
    sources = handlers.find_next(service, conv)  # the page's second request finds it claimed and waits
    assert conv.turns[0].found_done.is_set() and conv.turns[0].found.evidence
    assert 'id="src-1-1"' in sources
    assert handlers.find_next(service, handlers.Conversation()) == handlers.Conversation().sources()  # no question


def test_follow_up_keeps_the_conversation(service):
    conv = handlers.Conversation()
    final(handlers.chat(service, conv, "Who is Morgan Michaels?"))
    (m2, _, _), _ = final(handlers.chat(service, conv, "What did he say about Russia's role?"))
    assert len(m2) == 4 and len(conv.turns) == 2


@pytest.mark.parametrize("question,text", [("", "question is empty"), ("x" * 5000, "limit is 2,000")])
def test_bad_questions_become_friendly_messages_and_stay_in_the_box(service, question, text):
    (messages, _, box), _ = final(handlers.chat(service, handlers.Conversation(), question))
    assert messages[-1]["content"].startswith("⚠️") and text in messages[-1]["content"]
    assert box == question  # nothing typed is lost


def test_declines_are_plain_words_with_details_folded(service):
    conv = handlers.Conversation()
    (messages, _, _), _ = final(handlers.chat(service, conv, "Did Myanmar sign a trade deal with India?"))
    a = conv.turns[0].answer
    assert a.refused and a.reason == "The articles don't mention India." and "India" in a.detail
    assert messages[-1]["content"].startswith("**The articles don") and "<summary>Details</summary>" in messages[-1]["content"]
    (messages, _, _), _ = final(handlers.chat(service, conv, "ရုရှားနှင့် မြန်မာ ဘာသဘောတူညီချက်တွေ လက်မှတ်ထိုးခဲ့သလဲ"))
    assert "Myanmar script" in conv.turns[1].answer.reason and "ask in English" in conv.turns[1].answer.reason


def test_bad_date_filter_is_explained(service):
    (messages, _, _), _ = final(handlers.chat(service, handlers.Conversation(), QUESTION, 4, "March", ""))
    assert "is not a date" in messages[-1]["content"]


@pytest.mark.parametrize("k", [999, -5, 2.5])
def test_api_k_is_validated(service, k):
    data = handlers.ask_json(service, QUESTION, k)
    assert "from 1 to 20" in data["error"]


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
    assert "✅ Added rice\\_deal." in msg
    assert "photo.txt is not an article file" in msg and "table.csv" in msg and "big.txt" in msg
    assert msg.count("Not added") == 3  # one message per problem
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
    job = client.submit(QUESTION, 4, "", "", api_name="/chat")
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


BUBBLES = "#chat .message.user, #chat .message.bot"  # one element per message
LAST_FINAL = """(n) => { const b = document.querySelectorAll('#chat .message.user, #chat .message.bot'); if (b.length < n) return false;
  const t = b[b.length - 1].innerText.trim(); return t.length > 0 && !t.includes('▌') && t !== '…'
  && !t.startsWith('Loading'); }"""


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
        _wired(page)
        page.get_by_text(QUESTION).first.click()  # an example question is asked
        # the final answer replaces the streaming cursor
        page.wait_for_function(LAST_FINAL, arg=2, timeout=180_000)
        page.locator("#sources details.source summary").first.wait_for(timeout=30_000)
        answer = page.locator("#chat .message").last.inner_text()
        if "closest passages are under Sources" in answer:
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
    if (!window.__t.evidence && document.querySelector('#sources details.source')) window.__t.evidence = performance.now() - t0;
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
        _wired(page)
        page.locator("#question textarea").fill(QUESTION)
        page.evaluate(TIMELINE)
        page.locator("#question textarea").press("Enter")
        page.wait_for_function("() => window.__t.evidence && window.__t.text", timeout=180_000)
        t = page.evaluate("() => window.__t")
        assert t["evidence"] < t["text"], t  # the evidence was on screen before any of the answer
        page.wait_for_function("() => !document.querySelector('#chat').innerText.includes('▌')", timeout=180_000)
        browser.close()


# ---------- the page's controls in a real browser: Stop, older answers, fresh counts, examples, limits ----------

def _page(browser, server):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server)
    _wired(page)
    return page


def _wired(page) -> None:
    """The page's first request has come back (it shows the collection), so its events are wired: on a loaded
    machine a question typed as soon as the box appeared was lost (the screenshot script timed out in CI)."""
    page.get_by_text("Answers come only from the collection").first.wait_for(timeout=120_000)


def _ask(page, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")


@pytest.fixture(scope="module")
def browser(server):
    exe, sync_api = browser_or_skip()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


STOP_THEN_ENTER = """() => new Promise((done) => {
  document.querySelector('#stop').click(); const t0 = performance.now();
  setTimeout(() => { document.querySelector('#ask').click(); done(performance.now() - t0); }, 100); })"""


@pytest.mark.browser
def test_browser_stop_then_ask_again_at_once(browser, server):
    page = _page(browser, server)
    stopped, gaps = 0, []
    for i in range(10):
        _ask(page, QUESTION)
        # the question is kept (its bubble shown, the box emptied: the answer of the last one, still streaming,
        # can show the bubble before the box is emptied, and typing before then would be erased)
        page.wait_for_function("(n) => document.querySelectorAll('#chat .message.bot').length >= n"
                               " && document.querySelector('#question textarea').value === ''", arg=2 * i + 1)
        # the next question is typed while the answer is written (streamed updates leave the box alone) ...
        box = page.locator("#question textarea")
        box.fill(f"Who is Morgan Michaels? ({i})")
        page.wait_for_timeout(300)
        if box.input_value() == "":  # the emptying of the box after the last question reached the page late
            box.fill(f"Who is Morgan Michaels? ({i})")
        assert box.input_value() == f"Who is Morgan Michaels? ({i})"
        # ... then Stop, and Ask 100 ms later, timed in the page itself
        gaps.append(page.evaluate(STOP_THEN_ENTER))
        page.wait_for_function(LAST_FINAL, arg=4 * i + 4, timeout=120_000)
        bubbles = page.locator(BUBBLES)
        assert bubbles.nth(4 * i + 2).inner_text().strip() == f"Who is Morgan Michaels? ({i})"
        first = bubbles.nth(4 * i + 1).inner_text()
        assert "▌" not in first and first.strip() != "…"  # the stopped answer is final, never frozen
        stopped += "Stopped" in first
    assert max(gaps) < 300, gaps  # the second question was asked within 300 ms of Stop (ms, in the page)
    assert stopped >= 5, stopped  # the Stop reached the question (not after it had finished)
    page.locator("#turn-1 > summary").click()  # the first answer's sources: still there, folded
    assert page.locator("#turn-1 details.source").count() >= 1
    page.close()


@pytest.mark.browser
def test_browser_marker_in_an_earlier_answer_opens_its_passage(browser, server):
    page = _page(browser, server)
    cited, n = None, 0
    for q in [QUESTION, "What agreements were signed in March?", "Who is Morgan Michaels?",
              "Which Russian warship visited Yangon in October 2021?"]:
        _ask(page, q)
        n += 1
        page.wait_for_function(LAST_FINAL, arg=2 * n, timeout=120_000)
        links = page.locator(f"#chat .message.bot >> nth={n - 1} >> a.cite")
        if links.count():
            cited = links.first.get_attribute("href")
            break
    if cited is None:
        pytest.skip("the tiny model cited nothing in four answers")
    _ask(page, "Who is Morgan Michaels?")  # the cited answer is now an older one
    page.wait_for_function(LAST_FINAL, arg=2 * n + 2, timeout=120_000)
    assert page.locator(f"#turn-{n}").get_attribute("open") is None  # its sources are folded
    page.locator(f'#chat a.cite[href="{cited}"]').first.click()
    assert page.locator(f"#sources {cited} mark").is_visible()
    page.locator(f"#sources {cited} > summary").click()  # the reader folds the entry ...
    assert not page.locator(f"#sources {cited} mark").is_visible()
    page.locator(f'#chat a.cite[href="{cited}"]').first.click()  # ... and the marker opens it again
    assert page.locator(f"#sources {cited} mark").is_visible()
    page.close()


@pytest.mark.browser
def test_browser_example_click_asks_and_limits_are_shown(browser, server):
    page = _page(browser, server)
    page.get_by_text("Who is Morgan Michaels?").first.click()
    page.wait_for_function(LAST_FINAL, arg=2, timeout=120_000)
    assert page.locator(BUBBLES).first.inner_text().strip() == "Who is Morgan Michaels?"
    page.locator("#question textarea").fill("x" * 2500)
    page.locator("#question textarea").press("End")
    page.keyboard.type("y")  # the counter follows typing and pasting alike
    counter = page.locator("#counter-text")
    page.wait_for_function("() => document.querySelector('#counter-text').innerText.includes('2,501 / 2,000')")
    assert "too long" in counter.inner_text()
    page.locator("#question textarea").press("Enter")
    page.wait_for_function(LAST_FINAL, arg=4, timeout=60_000)
    assert "the limit is 2,000" in page.locator(BUBBLES).last.inner_text()
    assert len(page.locator("#question textarea").input_value()) == 2501  # the text is kept to be shortened
    page.close()


@pytest.mark.browser
def test_browser_second_visitor_sees_the_current_collection(browser, server, service, tmp_path):
    first = _page(browser, server)
    before = len(service.documents())
    first.get_by_text(f"{before} articles").first.wait_for()
    article = tmp_path / "port_visit.txt"
    article.write_text("A Russian hospital ship called at Thilawa port in July 2025 for a week.", encoding="utf-8")
    first.get_by_text("Add articles").click()
    first.locator("#upload input[type=file]").set_input_files(str(article))
    first.locator("#add-files").click()
    first.locator("#upload-status").get_by_text("Added port_visit").wait_for(timeout=120_000)
    other = browser.new_context().new_page()
    other.goto(server)
    other.get_by_text(f"{before + 1} articles").first.wait_for(timeout=30_000)
    first.close()
    other.close()


@pytest.mark.browser
def test_browser_collection_upload_table_date_fix_ask_and_remove(browser, server, tmp_path):
    from tests.test_collection import news_page

    page = _page(browser, server)
    html = tmp_path / "hospital_ship.html"
    html.write_text(news_page(["A Russian hospital ship called at Thilawa port for a week of free treatment, "
                               "the health ministry said.", "Doctors on board treated more than 2,000 patients, "
                               "officials said."], title="Hospital ship calls at Thilawa", meta_date="2025-07-09"))
    page.get_by_text("Add articles").click()
    page.locator("#upload input[type=file]").set_input_files(str(html))
    page.locator("#add-files").click()
    page.locator("#upload-status").get_by_text("Added hospital").wait_for(timeout=120_000)
    page.locator("#collection button.label-wrap").first.click()
    table = page.locator("#collection-table")
    table.get_by_text("Hospital ship calls at Thilawa").wait_for()
    assert "html metadata" in table.inner_text() and "2025-07-09" in table.inner_text()

    def choose():
        page.locator("#pick input").click()
        page.get_by_role("option", name="Hospital ship calls at Thilawa (hospital_ship)").click()

    choose()
    page.locator("#new-date textarea, #new-date input").first.fill("2024-02")
    page.locator("#save-article").click()
    page.locator("#manage-status").get_by_text("Saved").wait_for(timeout=60_000)
    table.get_by_text("2024-02", exact=True).wait_for()
    assert "user" in table.inner_text()
    page.get_by_role("button", name="Settings").click()  # only the corrected date lets the article through
    page.get_by_label("Only articles from (YYYY or YYYY-MM)").fill("2024-02")
    page.get_by_label("Only articles up to (YYYY or YYYY-MM)").fill("2024-02")
    _ask(page, "Which ship called at Thilawa port?")
    page.wait_for_function(LAST_FINAL, arg=2, timeout=120_000)
    assert "Hospital ship calls at Thilawa" in page.locator("#sources").inner_text()
    page.get_by_label("Only articles from (YYYY or YYYY-MM)").fill("")
    page.get_by_label("Only articles up to (YYYY or YYYY-MM)").fill("")
    choose()
    page.locator("#remove-article").click()
    page.locator("#manage-status").get_by_text("Removed").wait_for(timeout=60_000)
    page.wait_for_function("() => !document.querySelector('#collection-table').innerText.includes('Hospital ship')")
    _ask(page, "Which hospital ship called at Thilawa port?")
    page.wait_for_function(LAST_FINAL, arg=4, timeout=120_000)
    assert "Hospital ship calls at Thilawa" not in page.locator("#turn-2").inner_text()  # never cited again
    page.close()


@pytest.mark.browser
def test_browser_shows_the_evidence_while_the_model_endpoint_hangs(browser, tmp_path):
    """The evidence is found outside the model's queue: it is on screen while the endpoint has not answered,
    and stays when the page then says the model did not answer."""
    import socket

    from ui.app import serve

    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(4)  # accepts connections, never answers
    s = Settings.load(corpus_dirs=(SEEDS,), index_dir=tmp_path / "index", gen_timeout_s=6,
                      llm_url=f"http://127.0.0.1:{hung.getsockname()[1]}/v1")
    svc = handlers.ChatService(s, upload_dir=tmp_path / "uploads")
    svc.start()
    port = free_port()
    demo = serve(svc, "127.0.0.1", port, block=False)
    try:
        page = _page(browser, f"http://127.0.0.1:{port}/")
        _ask(page, QUESTION)
        page.wait_for_selector("#sources details.source", timeout=30_000)
        assert "Gremyashiy" in page.locator("#sources").inner_text()
        assert "did not answer" not in page.locator("#chat").inner_text()  # the model has not answered yet
        page.wait_for_function("() => document.querySelector('#chat').innerText.includes('did not answer')",
                               timeout=60_000)
        assert page.locator("#sources details.source").count() >= 1  # the evidence stays
        page.close()
    finally:
        demo.close()
        hung.close()


class HeldModel(handlers.ChatService):
    """The page's service whose (real, tiny) model finishes loading only when the test says so."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        import threading

        self.release = threading.Event()

    def load_model(self) -> None:
        self.release.wait(120)
        super().load_model()


@pytest.mark.browser
def test_browser_page_is_served_before_the_model_and_a_question_asked_then_is_answered(browser, tmp_path,
                                                                                     tiny_model):
    from ui.app import launch

    s = Settings.load(corpus_dirs=(SEEDS,), index_dir=tmp_path / "index", model_path=tiny_model, max_tokens=48)
    svc = HeldModel(s, upload_dir=tmp_path / "uploads")
    port = free_port()
    demo = launch(svc, "127.0.0.1", port, block=False)  # returns once served; indexing runs in the background
    try:
        page = _page(browser, f"http://127.0.0.1:{port}/")
        assert not svc.readiness().ready
        page.wait_for_function("() => (document.querySelector('#readiness') || {}).dataset?.stage === "
                               "'loading the language model'", timeout=120_000)
        note = page.locator("#readiness").inner_text()
        assert "Loading the language model" in note and "kept" in note
        assert page.locator("#readiness progress").count() == 1
        page.get_by_text("5 articles").first.wait_for(timeout=30_000)  # the collection is shown meanwhile
        _ask(page, QUESTION)
        page.get_by_text("Kept: it is answered as soon as the model has loaded").wait_for(timeout=30_000)
        page.wait_for_selector("#sources details.source", timeout=60_000)  # its evidence, before the model
        assert "Gremyashiy" in page.locator("#sources").inner_text()
        svc.release.set()
        page.wait_for_function(LAST_FINAL.replace("!t.startsWith('Loading')", "!t.startsWith('⏳')"), arg=2,
                               timeout=120_000)
        page.wait_for_selector("#readiness", state="detached", timeout=10_000)
        answer = svc.readiness()
        assert answer.ready and not answer.error
        assert "Kept" not in page.locator("#chat .message").last.inner_text()
        page.close()
    finally:
        svc.release.set()
        svc.stop_warming()
        demo.close()


def test_a_question_asked_while_the_page_starts_waits_and_is_answered(tmp_path, tiny_model):
    s = Settings.load(corpus_dirs=(SEEDS,), index_dir=tmp_path / "index", model_path=tiny_model, max_tokens=32)
    svc = HeldModel(s, upload_dir=tmp_path / "uploads")
    svc.start_in_background()
    conv = handlers.Conversation()
    handlers.enqueue(conv, QUESTION)
    gen = handlers.answer_next(svc, conv)
    messages, _, _ = next(gen)
    assert messages[-1]["content"] == render.KEPT  # kept, said so, not refused
    svc.release.set()
    (messages, _, _), _ = final(gen)
    assert conv.turns[0].answer is not None and messages[-1]["content"] != render.KEPT
    assert svc.readiness().stage == "ready"
    svc.stop_warming()


@pytest.mark.browser
def test_browser_the_address_answers_at_once_and_turns_into_the_page(browser, service):
    """`rag chat` answers on its port before Gradio is imported; that page becomes the real one by itself."""
    import urllib.request

    from ui.app import serve
    from ui.early import MARK, open_early

    port = free_port()
    early = open_early("127.0.0.1", port)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
        assert r.status == 200 and r.headers.get(MARK) == "1" and b"Starting" in r.read()
    page = browser.new_page()
    page.goto(f"http://127.0.0.1:{port}/")
    assert "Starting the page" in page.locator("#readiness").inner_text()
    demo = serve(service, "127.0.0.1", port, block=False, early=early)  # closes it and takes the port
    try:
        page.locator("#question textarea").wait_for(timeout=30_000)  # reloaded into the real page
        page.close()
    finally:
        demo.close()
