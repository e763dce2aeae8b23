"""The page's address answers from the first second: while Gradio is imported (~3 s of CPU), a small standard
library server on the same port says the page is starting, and its page reloads itself once the real page
answers. Nothing here imports Gradio."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MARK = "X-Early-Page"  # on every response of this server: the page reloads when a response lacks it
PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Ask the articles</title>
<style>body{font-family:system-ui,sans-serif;margin:3em auto;max-width:40em;color:#222}
#readiness{padding:6px 10px;border:1px solid #f5b400;border-radius:6px;background:#fffbea}</style></head>
<body><h1>Ask the articles</h1><div id="readiness" data-stage="starting"><progress></progress> ⏳ Starting the
page; it opens here by itself in a few seconds.</div>
<script>setInterval(async () => { try { const r = await fetch(location.href, {cache: 'no-store'});
  if (!r.headers.get('%s')) location.reload(); } catch (e) {} }, 300);</script></body></html>""" % MARK


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        body = PAGE.encode()
        self.send_response(200 if self.path.split("?")[0] == "/" else 503)
        self.send_header(MARK, "1")
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class EarlyPage:
    """Serve ``PAGE`` on ``host:port`` in a thread until ``close`` (called just before Gradio binds the port)."""

    def __init__(self, host: str, port: int):
        self.server = ThreadingHTTPServer((host, port), _Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def open_early(host: str, port: int) -> EarlyPage | None:
    """The early page, or None where the address cannot be taken (Gradio then says why)."""
    try:
        return EarlyPage(host, port)
    except OSError:
        return None
