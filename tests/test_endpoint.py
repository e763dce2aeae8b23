"""Generation through an OpenAI-compatible server: llama-cpp-python's own, running the tiny model on 127.0.0.1."""
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from core.errors import ModelError, RagError
from rag.pipeline import Engine, ask_stream
from core.records import Answer
from tests.conftest import free_port

QUESTION = "Which Russian warship visited Yangon in October 2021?"


@pytest.fixture(scope="module")
def llama_server(tiny_model):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(tiny_model), "--host",
                             "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--seed", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/v1/models", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("llama_cpp.server exited at start")
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start within 120 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_answer_through_the_server_streams(seed_engine, llama_server):
    engine = Engine(seed_engine.settings.with_(llm_url=llama_server), seed_engine.index, seed_engine.embedder)
    items = list(ask_stream(engine, QUESTION))
    assert isinstance(items[-1], Answer)
    assert len(items) > 3 and all(isinstance(i, str) for i in items[1:-1])
    a = items[-1]
    assert llama_server in a.model and a.completion_tokens > 0
    assert a.retrieved[0].chunk.source == "004_6442ee56b40e60eb"


def test_server_down_is_a_clear_error(seed_engine):
    engine = Engine(seed_engine.settings.with_(llm_url=f"http://127.0.0.1:{free_port()}"), seed_engine.index,
                    seed_engine.embedder)
    with pytest.raises(ModelError, match="Cannot reach the LLM server"):
        list(ask_stream(engine, QUESTION))


def test_hanging_server_times_out(seed_engine):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)  # accepts connections, never answers
    port = sock.getsockname()[1]
    try:
        engine = Engine(seed_engine.settings.with_(llm_url=f"http://127.0.0.1:{port}", gen_timeout_s=2.0),
                        seed_engine.index, seed_engine.embedder)
        t0 = time.time()
        with pytest.raises(RagError, match="did not answer within 2 s"):
            list(ask_stream(engine, QUESTION))
        assert time.time() - t0 < 15
    finally:
        sock.close()


def test_judge_through_a_server_reads_its_token_probabilities(seed_engine, llama_server):
    from rag import judge
    from rag.llm import OpenAICompatLLM

    messages = [{"role": "user", "content": "Passages:\n\n[1] The ship had 84 passengers.\n\nQuestion: How many?"}]
    asked = judge.judge_messages(messages, "84 passengers [1].", "How many?", "84 passengers.", 1)
    v = OpenAICompatLLM(llama_server).yes_probability(asked, 60)
    assert v.p_yes is not None and 0.0 <= v.p_yes <= 1.0 and v.evaluated_tokens > 0


def test_judge_through_a_server_without_token_probabilities_degrades(seed_engine):
    """A server that answers but gives no ``logprobs``: the claims keep the rules' verdict, saying why."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from rag import judge
    from rag.llm import OpenAICompatLLM

    class NoLogprobs(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"choices": [{"message": {"role": "assistant", "content": "yes"}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), NoLogprobs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        llm = OpenAICompatLLM(f"http://127.0.0.1:{server.server_port}")
        v = llm.yes_probability(judge.judge_messages([], "84 [1].", "How many?", "84 passengers.", 1), 10)
        assert v.p_yes is None and v.why_none == "the endpoint gives no token probabilities"
    finally:
        server.shutdown()
