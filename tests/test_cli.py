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


HEAVY = ("torch", "sentence_transformers", "transformers", "gradio", "llama_cpp")
PROBE = ("import json, sys\nfrom rag.cli import main\ntry:\n    code = main(sys.argv[1:])\nexcept SystemExit as e:\n"
         "    code = e.code\nprint('HEAVY=' + json.dumps(sorted(m for m in {heavy} if m in sys.modules)), "
         "file=sys.stderr)\nsys.exit(code)").format(heavy=HEAVY)


def run_probed(*args, env=None):
    """``rag ARGS`` in a fresh interpreter; returns the result and the heavy modules it imported."""
    e = dict(os.environ) | (env or {})
    r = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=e, timeout=300)
    heavy = [line for line in r.stderr.splitlines() if line.startswith("HEAVY=")]
    assert heavy, r.stderr
    return r, json.loads(heavy[-1][len("HEAVY="):])


def test_small_commands_import_no_models_nor_the_page(tmp_path, index_dir):
    data = ["--data-dir", str(tmp_path / "data"), "--index-dir", str(tmp_path / "index")]
    note = tmp_path / "border_gate.txt"
    note.write_text("Myanmar opened a new border gate with Thailand at Myawaddy in May 2025.", encoding="utf-8")
    r = run("add", str(note), *data)  # adding embeds: it may load the models
    assert r.returncode == 0, r.stderr
    for args in (["--help"], ["list", *data], ["set-date", "border_gate", "2025-05", *data],
                 ["set-title", "border_gate", "Border gate opens", *data], ["list", *data],
                 ["remove", "border_gate", *data]):
        r, heavy = run_probed(*args)
        assert r.returncode == 0, (args, r.stderr)
        assert heavy == [], f"rag {args[0]} imported {heavy}"
        if args[0] == "list" and len(args) > 1 and "Border gate opens" in r.stdout:
            assert "2025-05 (user)" in r.stdout
    assert "border_gate" not in run("list", *data).stdout


def test_ask_prints_its_evidence_before_the_answer(index_dir, tiny_model):
    r = run("ask", "Which Russian warship visited Yangon in October 2021?", "--corpus", str(SEEDS),
            "--index-dir", str(index_dir), "--model", str(tiny_model), "-k", "3", "--no-stream")
    assert r.returncode == 0, r.stderr
    head, _, rest = r.stdout.partition("\n\n")
    assert head.startswith("Evidence given to the model:\n  [1] ") and "Gremyashiy" in head
    assert rest.strip()  # the answer follows the evidence


def test_chat_on_a_folder_that_cannot_be_indexed_ends_with_the_message(tmp_path):
    from tests.conftest import free_port

    r = run("chat", "--corpus", str(tmp_path / "nope"), "--port", str(free_port()), "--data-dir", str(tmp_path))
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr
