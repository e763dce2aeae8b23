"""The Gradio page, a thin edge over ``rag.service``: ``create_app`` builds it, ``launch`` serves it."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from types import SimpleNamespace

from core.errors import RagError
from ui import handlers, manage, render
from ui.early import EarlyPage, open_early

log = logging.getLogger(__name__)

EXAMPLES = [
    "What agreements were signed in March?",
    "Who is Morgan Michaels?",
    "Which Russian warship visited Yangon in October 2021?",
]
UPLOAD_LIMIT = "100mb"  # Gradio refuses larger files with a toast; smaller ones get a message per file from us
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def create_app(service: handlers.Service):
    """The Blocks app; the service must be started (index built) before requests arrive."""
    import gradio as gr

    with gr.Blocks(title="Ask the articles") as demo:
        gr.Markdown("# Ask the articles")
        status = gr.HTML(_status(service), elem_id="status")
        collection = gr.Markdown("The collection is being loaded …")
        conv = gr.State(handlers.Conversation)  # one per visitor, kept on the server
        ui = _chat_area(gr, service)
        k, date_from, date_to = _settings_area(gr, service)
        add = _add_area(gr)
        shelf = manage.build(gr)

        def keep(message, conv_, k_, d_from, d_to):
            messages = handlers.enqueue(conv_, message)
            handlers.start_finding(service, conv_, k_, d_from, d_to)
            return messages, ""

        def respond(conv_, k_, d_from, d_to):
            for messages, sources, box in handlers.answer_next(service, conv_, k_, d_from, d_to):
                yield messages, sources, gr.skip() if box is None else box

        # a question is kept (and the box emptied) at once, outside the queue; answers then come one at a time.
        # "multiple": a question asked while the last one is still ending waits its turn instead of being dropped
        now = dict(queue=False, trigger_mode="multiple", api_visibility="private", show_progress="hidden")
        asked = [conv, k, date_from, date_to]
        def evidence(conv_, k_, d_from, d_to):
            return handlers.find_next(service, conv_, k_, d_from, d_to)

        # its evidence is found at once in a thread, outside the queue, and shown while the model is busy
        for trigger in (ui.box.submit, ui.send.click, ui.examples.load_input_event.then):
            trigger(keep, [ui.box] + asked, [ui.chatbot, ui.box], **now).then(
                evidence, asked, ui.sources, **now).then(
                respond, asked, [ui.chatbot, ui.sources, ui.box], concurrency_id="llm", trigger_mode="multiple",
                api_visibility="private")  # its progress shows a waiting user's place in the queue
        ui.stop.click(lambda c: c.stop(), conv, None, queue=False, api_visibility="private")
        ui.clear.click(_new_conversation, None, [conv, ui.chatbot, ui.sources], queue=False, api_visibility="private")
        refresh, views = manage.wire(gr, service, shelf, collection, lambda: _collection_text(service))
        _wire_adding(gr, service, add, refresh, views)
        _wire_readiness(gr, demo, service, status, refresh, views)

        def chat(question: str, k: int = 0, date_from: str = "", date_to: str = "") -> Iterator[tuple[list, str]]:
            """Stream one question's chat messages and sources panel (a conversation of its own)."""
            for messages, sources, _ in handlers.chat(service, handlers.Conversation(), question, k, date_from,
                                                      date_to):
                yield messages, sources

        gr.api(chat, api_name="chat", concurrency_id="llm", api_visibility="undocumented")

        def ask(question: str, k: int = 0) -> dict:
            """Answer one question; returns the same JSON object as `rag ask --json`."""
            return handlers.ask_json(service, question, k or None)

        gr.api(ask, api_name="ask", concurrency_id="llm")
    return demo


def _status(service: handlers.Service) -> str:
    r = service.readiness()
    return render.readiness_html(r.stage, r.done, r.total, r.articles, r.error, service.model_name())


def _wire_readiness(gr, demo, service: handlers.Service, status, refresh, views) -> None:
    """Per visitor: the collection as it is now, shown as soon as the index is loaded, and the note at the top
    updated every half second until the model is ready (then the timer stops)."""
    timer = gr.Timer(0.5)
    shown = gr.State(False)

    def tick(shown_: bool):
        ready = service.readiness().ready
        if shown_ or not service.indexed:
            return _status(service), gr.Timer(active=not (ready and shown_)), shown_, *[gr.skip()] * len(views)
        return _status(service), gr.Timer(active=not ready), True, *refresh()

    quiet = dict(queue=False, show_progress="hidden", api_visibility="private")
    outputs = [status, timer, shown, *views]
    timer.tick(tick, shown, outputs, **quiet)
    demo.load(tick, shown, outputs, **quiet)


def _new_conversation():
    return handlers.Conversation(), [], render.turns_sources_html([])


def _collection_text(service: handlers.Service) -> str:
    return (f"Answers come only from the collection: {render.collection_line(service.documents())}. "
            f"Each statement links to its source. Index: {service.store_name()}.")


def _chat_area(gr, service: handlers.Service) -> SimpleNamespace:
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(label="Conversation", height=480, elem_id="chat",
                                 placeholder="Ask a question about the articles, or click an example below.")
            with gr.Row():
                box = gr.Textbox(show_label=False, placeholder="Type a question and press Enter",
                                 scale=5, elem_id="question")
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                stop = gr.Button("Stop", scale=1, elem_id="stop")
            gr.HTML(render.counter_html(service.settings.max_question_chars), elem_id="counter")
            examples = gr.Examples(EXAMPLES, inputs=box, label="Try one of these (click to ask)")
            clear = gr.Button("New conversation", size="sm")
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            sources = gr.HTML(render.turns_sources_html([]), elem_id="sources")
    return SimpleNamespace(chatbot=chatbot, box=box, send=send, stop=stop, clear=clear, sources=sources,
                           examples=examples)


def _settings_area(gr, service: handlers.Service):
    with gr.Accordion("Settings", open=False):
        k = gr.Slider(1, 10, value=service.settings.top_k, step=1, label="Passages searched for evidence per question")
        gr.Textbox(value=service.model_name(), label="Model in use", interactive=False)
        with gr.Row():
            date_from = gr.Textbox(label="Only articles from (YYYY or YYYY-MM)", placeholder="e.g. 2025-01")
            date_to = gr.Textbox(label="Only articles up to (YYYY or YYYY-MM)", placeholder="e.g. 2025-12")
    return k, date_from, date_to


def _add_area(gr) -> SimpleNamespace:
    with gr.Accordion("Add articles", open=False):
        files = gr.File(file_count="multiple", label="Upload articles: .txt, .md, saved web pages (.html, .htm), .pdf",
                        elem_id="upload")
        replace = gr.Checkbox(label="Replace an article of mine that has the same name", value=False)
        add_btn = gr.Button("Add files to the collection", elem_id="add-files")
        files_status = gr.Markdown(elem_id="upload-status")  # results next to the control that caused them
        with gr.Row():
            title = gr.Textbox(label="Title")
            date = gr.Textbox(label="Date (optional, e.g. 2025-03)")
        text = gr.Textbox(label="Article text", lines=6)
        paste_btn = gr.Button("Add pasted article")
        paste_status = gr.Markdown(elem_id="paste-status")
    return SimpleNamespace(files=files, replace=replace, add_btn=add_btn, files_status=files_status, title=title,
                           date=date, text=text, paste_btn=paste_btn, paste_status=paste_status)


def _wire_adding(gr, service: handlers.Service, add: SimpleNamespace, refresh, views) -> None:
    def on_files(paths, replace, progress=gr.Progress()):
        yield from handlers.add_files_live(service, paths, _progress(progress), replace)

    def on_paste(title, date, text, progress=gr.Progress()):
        return handlers.add_pasted(service, title, date, text, _progress(progress))

    private = dict(api_visibility="private")
    add.add_btn.click(on_files, [add.files, add.replace], add.files_status, concurrency_id="index",
                      **private).then(refresh, None, views, **private)
    add.paste_btn.click(on_paste, [add.title, add.date, add.text], add.paste_status, concurrency_id="index",
                        **private).then(refresh, None, views, **private)


def _progress(progress):
    def update(stage: str, done: int, total: int) -> None:
        if not total:  # a wait without steps: "Another process is changing this collection ...; waiting"
            progress((0, None), desc=stage, unit="")
        else:
            progress((done, total), desc=f"{stage} {done}/{total}")

    return update


def launch(service: handlers.Service, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
           auth: str | None = None, block: bool = True):
    """Serve the page at once, then index the collection and load the models in the background: the page says
    how far it is, and questions asked meanwhile are kept and answered once it is ready. ``block``: report the
    start in the terminal (a collection that cannot be indexed ends it with the error), then serve until stopped."""
    _check_exposure(host, auth, share)
    early = open_early(host, port) if block else None  # the address answers while Gradio is imported
    demo = serve(service, host, port, share, auth, block=False, early=early)
    service.start_in_background()
    if block:
        print(f"The page is at http://{host}:{port}/ ; indexing the articles and loading the model ...", flush=True)
        try:
            _report_start(service, demo)
            demo.block_thread()
        finally:
            service.stop_warming()
    return demo


def _report_start(service: handlers.Service, demo) -> None:
    try:
        service.wait_ready(index_only=True)  # no collection at all (a missing folder, no articles): said here
    except RagError:
        demo.close()
        raise
    report = service.start_report
    if report is not None:
        print(f"Index ready: {report.summary()}", flush=True)
        for line in report.skipped_lines():
            print(line, flush=True)
    service.wait_ready()
    error = service.readiness().error
    print(f"error: {error}" if error else "Ready: the model is loaded.", flush=True)


def serve(service: handlers.Service, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
          auth: str | None = None, block: bool = True, early: EarlyPage | None = None):
    """Serve the page: one generation at a time (the rest wait in Gradio's queue). ``early``: the placeholder
    on the port, closed just before Gradio takes it."""
    creds = _check_exposure(host, auth, share)
    demo = create_app(service)
    demo.queue(default_concurrency_limit=1, max_size=64)
    if early is not None:
        early.close()
    demo.launch(server_name=host, server_port=port, share=share, auth=creds, css=render.CSS, head=render.HEAD,
                max_file_size=UPLOAD_LIMIT, prevent_thread_lock=not block, footer_links=["api"], quiet=True)
    return demo


def _check_exposure(host: str, auth: str | None, share: bool = False) -> tuple[str, str] | None:
    """Non-loopback hosts and public links need ``user:password``."""
    if share and not auth:
        raise RagError("A public link (--share) makes the page reachable from the whole internet; give a password "
                       "with --auth-file FILE holding user:password (or RAG_AUTH=user:password), or leave out --share.")
    if host not in LOOPBACK and not auth:
        raise RagError(f"Listening on {host} makes the page reachable from other machines; give a password "
                       f"with --auth-file FILE holding user:password (or RAG_AUTH=user:password, or --auth "
                       f"user:password), or use --host 127.0.0.1.")
    creds = None
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise RagError("--auth must look like user:password.")
        creds = (user, password)
    return creds
