"""The benchmark: question-file validation, resume after an interruption, report files, compare."""
import json
import signal
import subprocess
import sys
import time

import pytest

from rag.eval.compare import compare
from rag.eval.questions import load_questions
from rag.eval.runner import run_questions, write_summary
from rag.eval.scoring import score_run
from core.errors import RagError
from tests.conftest import SEEDS


def write(tmp_path, lines, name="q.jsonl"):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_every_bad_line_is_reported_with_its_number(tmp_path):
    p = write(tmp_path, [
        '{"id": "a", "question": "ok?"}',
        '{"id": "a", "question": "duplicate id"}',
        'not json',
        '{"question": "no id"}',
        '{"id": "b", "question": "  "}',
        '{"id": "c", "question": "q", "facts": ["not a list of lists"]}',
        '[1, 2]',
        '{"id": "d", "question": "q", "answerable": "yes"}',
    ])
    with pytest.raises(RagError) as err:
        load_questions(p)
    msg = str(err.value)
    assert "7 bad line(s)" in msg
    for n, text in [(2, "repeats"), (3, "not valid JSON"), (4, "'id' is missing"), (5, "'question'"),
                    (6, "'facts'"), (7, "JSON object"), (8, "'answerable'")]:
        assert f"line {n}:" in msg and text in msg


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(RagError, match="holds no questions"):
        load_questions(write(tmp_path, [""]))
    with pytest.raises(RagError, match="No question file"):
        load_questions(tmp_path / "nope.jsonl")


def fake_answer(item):
    """A scripted answer for bookkeeping tests (no model): answers with the first fact, cites the first source."""
    facts = item.get("facts") or [["nothing"]]
    src = (item.get("sources") or ["x"])[0]
    return {"question": item["question"], "answer": facts[0][0], "refused": not item.get("answerable", True),
            "citations": [{"source": src}], "retrieved": [{"source": src, "chunk_id": src + "#0", "score": 1.0}],
            "timings": {"retrieve_s": 0.01, "first_token_s": 0.5, "check_s": 0.01, "total_s": 1.0},
            "prompt_tokens": 300, "completion_tokens": 20}


QUESTIONS = ['{"id": "q1", "question": "a?", "answerable": true, "facts": [["ten"], ["trade"]], "sources": ["s1"]}',
             '{"id": "q2", "question": "b?", "answerable": true, "facts": [["2.3 billion"]], "sources": ["s2"]}',
             '{"id": "q3", "question": "c?", "answerable": false, "facts": [], "sources": []}']


def test_resume_skips_answered_ids_and_reasks_a_cut_line(tmp_path):
    qs = load_questions(write(tmp_path, QUESTIONS))
    out = tmp_path / "run" / "results.jsonl"
    out.parent.mkdir()
    first = json.dumps({"id": "q1", "repeat": 0} | fake_answer(qs[0].item))
    out.write_text(first + "\n" + '{"id": "q2", "rep', encoding="utf-8")  # interrupted mid-line
    asked = []
    results = run_questions(qs, lambda item: asked.append(item["id"]) or fake_answer(item), out)
    assert asked == ["q2", "q3"]
    assert [r["id"] for r in results] == ["q1", "q2", "q3"]
    s = score_run(qs, results)
    assert s["fact_recall"] == pytest.approx((0.5 + 1.0) / 2)
    assert s["correct_refusal"] == 1.0 and s["mrr"] == 1.0 and s["hit_at_k"] == 1.0


def test_report_files_are_written_and_compare(tmp_path):
    from rag.eval.runner import environment
    from core.settings import Settings

    qs = load_questions(write(tmp_path, QUESTIONS))
    env = environment(Settings.load(), None)
    runs = []
    for name, answer in (("a", fake_answer), ("b", lambda item: fake_answer(item) | {"answer": "nothing"})):
        d = tmp_path / name
        results = run_questions(qs, answer, d / "results.jsonl")
        t = time.perf_counter()
        summary = write_summary(d, qs, results, env, 3.0)
        assert time.perf_counter() - t < 5
        runs.append(d)
        for f in ("results.jsonl", "summary.json", "report.md", "report.html"):
            assert (d / f).stat().st_size > 100, f
        html = (d / "report.html").read_text()
        assert "<svg" in html and "fact_recall" in html and "q2" in html and "<script" not in html
        assert summary["environment"]["cores"] and summary["environment"]["packages"]["numpy"]
    table = compare(runs[0], runs[1])
    assert "| fact_recall | 0.750 | 0.000 | -0.750 | 0.00x |" in table
    assert "q1 | partial | wrong" in table and "| questions | 3 | 3 | +0 | 1.00x |" in table
    assert "2 question(s) changed verdict" in table


@pytest.mark.slow
def test_interrupted_bench_resumes(tmp_path, tiny_model):
    """SIGINT a real `rag bench` with the tiny model after its first answer, then rerun it: no id twice."""
    texts = ["Who is Morgan Michaels?", "Which warship visited Yangon?", "What did Rosatom plan?",
             "Who met Putin in Vladivostok?"] * 5  # 20 answers: the interrupt lands before the last one
    q = write(tmp_path, [json.dumps({"id": f"q{i}", "question": text}) for i, text in enumerate(texts)])
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "rag", "bench", str(q), "--out", str(out), "--model", str(tiny_model),
           "--max-tokens", "16", "--corpus", str(SEEDS), "--index-dir", str(tmp_path / "index")]
    # a shell's background job (CI started with `&`) passes SIGINT on as ignored, and Python then keeps it
    # ignored: give the child the default, as a terminal would, so Python raises KeyboardInterrupt on it
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    results = out / "results.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and not (results.exists() and results.read_text().count("\n") >= 1):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    done_before = results.read_text().count("\n")
    assert 1 <= done_before < len(texts)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    ids = [json.loads(line)["id"] for line in results.read_text().splitlines()]
    assert sorted(ids) == sorted(f"q{i}" for i in range(len(texts)))  # every id once
    assert (out / "report.html").exists()
