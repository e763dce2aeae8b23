"""The Gradio page, a thin edge over ``rag.service``: ``create_app`` builds it, ``launch`` serves it."""
from __future__ import annotations

import logging
from types import SimpleNamespace

from core.errors import RagError
from ui import handlers, render

log = logging.getLogger(__name__)

EXAMPLES = [
    "What agreements were signed in March?",
    "Who is Morgan Michaels?",
    "Which Russian warship visited Yangon in October 2021?",
]
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def create_app(service: handlers.Service):
    """The Blocks app; the service must be started (index built) before requests arrive."""
    import gradio as gr

    with gr.Blocks(title="Ask the articles") as demo:
        gr.Markdown("# Ask the articles")
        collection = gr.Markdown(_collection_text(service))
        turns = gr.State([])
        ui = _chat_area(gr, service)
        k, date_from, date_to = _settings_area(gr, service)
        add = _add_area(gr)

        def respond(message, messages, turns_, k_, d_from, d_to):
            for msgs, src, t in handlers.chat(service, message, messages, turns_, k_, d_from, d_to):
                yield msgs, src, t, ""

        outputs = [ui.chatbot, ui.sources, turns, ui.box]
        inputs = [ui.box, ui.chatbot, turns, k, date_from, date_to]
        ev1 = ui.box.submit(respond, inputs, outputs, concurrency_id="llm", api_name="chat",
                            api_visibility="undocumented")
        ev2 = ui.send.click(respond, inputs, outputs, concurrency_id="llm", api_visibility="private")
        ui.stop.click(None, cancels=[ev1, ev2])
        ui.clear.click(lambda: ([], [], render.sources_html(None, {}, 0)), None, [ui.chatbot, turns, ui.sources],
                       api_visibility="private")
        _wire_adding(gr, service, add, collection)

        def ask(question: str, k: int = 0) -> dict:
            """Answer one question; returns the same JSON object as `rag ask --json`."""
            return handlers.ask_json(service, question, k or None)

        gr.api(ask, api_name="ask", concurrency_id="llm")
    return demo


def _collection_text(service: handlers.Service) -> str:
    return (f"Answers come only from the collection: {render.collection_line(service.documents())}. "
            f"Each statement links to its source.")


def _chat_area(gr, service: handlers.Service) -> SimpleNamespace:
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(label="Conversation", height=480, elem_id="chat",
                                 placeholder="Ask a question about the articles, or click an example below.")
            with gr.Row():
                box = gr.Textbox(show_label=False, placeholder="Type a question and press Enter",
                                 scale=5, elem_id="question", max_length=service.settings.max_question_chars)
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                stop = gr.Button("Stop", scale=1, elem_id="stop")
            gr.Examples(EXAMPLES, inputs=box, label="Try one of these")
            clear = gr.Button("New conversation", size="sm")
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            sources = gr.HTML(render.sources_html(None, {}, 0), elem_id="sources")
    return SimpleNamespace(chatbot=chatbot, box=box, send=send, stop=stop, clear=clear, sources=sources)


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
        files = gr.File(file_count="multiple", file_types=[".txt", ".md"], label="Upload .txt or .md files")
        add_btn = gr.Button("Add files to the collection")
        with gr.Row():
            title = gr.Textbox(label="Title")
            date = gr.Textbox(label="Date (optional, e.g. 2025-03)")
        text = gr.Textbox(label="Article text", lines=6)
        paste_btn = gr.Button("Add pasted article")
        status = gr.Markdown()
    return SimpleNamespace(files=files, add_btn=add_btn, title=title, date=date, text=text, paste_btn=paste_btn,
                           status=status)


def _wire_adding(gr, service: handlers.Service, add: SimpleNamespace, collection) -> None:
    def on_files(paths, progress=gr.Progress()):
        return handlers.add_files(service, paths, _progress(progress))

    def on_paste(title, date, text, progress=gr.Progress()):
        return handlers.add_pasted(service, title, date, text, _progress(progress))

    add.add_btn.click(on_files, add.files, add.status, concurrency_id="index", api_visibility="private").then(
        lambda: _collection_text(service), None, collection, api_visibility="private")
    add.paste_btn.click(on_paste, [add.title, add.date, add.text], add.status, concurrency_id="index",
                        api_visibility="private").then(lambda: _collection_text(service), None, collection,
                                                       api_visibility="private")


def _progress(progress):
    def update(stage: str, done: int, total: int) -> None:
        progress((done, total), desc=f"{stage} {done}/{total}")

    return update


def launch(service: handlers.Service, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
           auth: str | None = None, block: bool = True):
    """Index the service's collection, load the model, then serve the page."""
    _check_exposure(host, auth)
    print("Preparing the index of the articles ...", flush=True)
    report = service.start()
    print(f"Index ready: {report.summary()}", flush=True)
    for line in report.skipped_lines():
        print(line, flush=True)
    print("Loading the language model ...", flush=True)
    service.load_model()  # now, not on the first question
    return serve(service, host, port, share, auth, block)


def serve(service: handlers.Service, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
          auth: str | None = None, block: bool = True):
    """Serve the page of a started service: one generation at a time (the rest wait in Gradio's queue)."""
    creds = _check_exposure(host, auth)
    demo = create_app(service)
    demo.queue(default_concurrency_limit=1, max_size=64)
    demo.launch(server_name=host, server_port=port, share=share, auth=creds, css=render.CSS,
                max_file_size="2mb", prevent_thread_lock=not block, footer_links=["api"], quiet=not block)
    return demo


def _check_exposure(host: str, auth: str | None) -> tuple[str, str] | None:
    """Non-loopback hosts need ``user:password``."""
    if host not in LOOPBACK and not auth:
        raise RagError(f"Listening on {host} makes the page reachable from other machines; give a password "
                       f"with --auth user:password (or use --host 127.0.0.1).")
    creds = None
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise RagError("--auth must look like user:password.")
        creds = (user, password)
    return creds
