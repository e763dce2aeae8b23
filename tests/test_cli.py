"""The command line as a user runs it: real subprocesses, the tiny model, JSON shape, friendly errors."""
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import SEEDS


def run(*args, env=None, timeout=300):
    e = dict(os.environ) | (env or {})
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=e, timeout=timeout)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli-index")
    r = run("index", str(SEEDS), "--index-dir", str(d))
    assert r.returncode == 0, r.stderr
    assert "5 new" in r.stdout
    return d


def test_index_rerun_reports_nothing_changed(index_dir):
    r = run("index", str(SEEDS), "--index-dir", str(index_dir))
    assert r.returncode == 0 and "nothing changed" in r.stdout


def test_ask_json_shape(index_dir, tiny_model):
    r = run("ask", "Which Russian warship visited Yangon in October 2021?", "--json", "--corpus", str(SEEDS),
            "--index-dir", str(index_dir), "--model", str(tiny_model), "-k", "3")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data) >= {"question", "answer", "refused", "citations", "retrieved", "timings", "prompt_tokens",
                         "completion_tokens", "model"}
    assert len(data["retrieved"]) == 3
    assert set(data["timings"]) >= {"retrieve_s", "first_token_s", "total_s"}
    for c in data["citations"]:
        assert set(c) >= {"marker", "source", "title", "date", "chunk_id", "start", "end", "quote", "supported"}


@pytest.mark.parametrize("args,message", [
    (["ask", ""], "question is empty"),
    (["ask", "x" * 10_000], "limit is 2,000"),
    (["ask", "What?", "--model", "/nonexistent/model.gguf"], "does not exist"),
    (["index", "/nonexistent/folder"], "does not exist"),
    (["ask", "Who is Morgan Michaels?", "--llm-url", "http://127.0.0.1:9"], "Cannot reach the LLM server"),
    (["bench", "/nonexistent/q.jsonl"], "No question file"),
])
def test_errors_are_one_friendly_line(index_dir, args, message):
    r = run(*args, "--index-dir", str(index_dir))
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr


def test_python_dash_m_and_console_script_agree():
    r = run("--help")
    assert r.returncode == 0 and "index" in r.stdout and "bench" in r.stdout
