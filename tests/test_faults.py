"""The fast part of the fault, load and hostile-input suite (the long part: python -m tests.stress)."""
import pytest

from tests import stress
from tests.conftest import SEEDS


@pytest.mark.slow
def test_kills_during_ingest_never_corrupt(tmp_path):
    r = stress.kill_ingest(tmp_path, articles=60, rounds=6, seed=1)
    assert r["kills_tried"] == 6
    assert r["corrupt_indexes"] == 0 and r["mixed_states"] == 0 and r["kills_survived"] == 6
    assert r["final_matches_corpus"] and r["leftovers_after_next_run"] == []


def test_failed_writes_keep_the_previous_index(tmp_path):
    r = stress.failed_write(tmp_path)
    assert r["exit_code"] == 2 and not r["traceback"]
    assert "Could not write the index" in r["message"] and "previous index is unchanged" in r["message"]
    assert r["previous_index_live"] and not r["extra_indexed"] and r["tmp_left"] == []


def test_fuzzed_article_files(tmp_path):
    r = stress.fuzz_articles(tmp_path, examples=6)
    assert r["tracebacks"] == 0, r["details"]


@pytest.fixture(scope="module")
def page(tmp_path_factory, tiny_model):
    from core.settings import Settings
    from ui import handlers
    from ui.app import serve
    from tests.conftest import free_port

    base = tmp_path_factory.mktemp("faults")
    svc = handlers.ChatService(Settings.load(corpus_dirs=(SEEDS,), index_dir=base / "index", model_path=tiny_model,
                                             max_tokens=16), upload_dir=base / "uploads")
    svc.start()
    port = free_port()
    demo = serve(svc, "127.0.0.1", port, block=False)
    yield svc, f"http://127.0.0.1:{port}/"
    demo.close()


def test_fuzzed_questions_never_raise(page):
    svc, _ = page
    r = stress.fuzz_questions(svc, examples=40)
    assert r["questions_tried"] >= 40
    assert r["tracebacks"] == 0, r["details"]
    assert r["refusals_without_advice"] == []


def test_eight_concurrent_users(page):
    _, url = page
    r = stress.load_test(url, users=8, per_user=2)
    assert r["answered"] == 16 and r["errors"] == [] and r["crossed"] == []
    assert r["max_queue_rank_seen"] is not None and r["max_queue_rank_seen"] >= 1  # waiting users were told


def test_injected_articles_change_nothing(tmp_path, tiny_model):
    r = stress.injection(tmp_path, tiny_model, max_tokens=32)
    assert r["cases"] == 4 * (len(stress.PROBES) + 1)
    assert r["answers_changed"] == [] and r["fake_citations"] == []


def test_broken_model_keeps_the_page_usable(tmp_path):
    from core.settings import Settings
    from ui import handlers

    svc = handlers.ChatService(Settings.load(corpus_dirs=(SEEDS,), index_dir=tmp_path / "i",
                                             model_path=tmp_path / "gone.gguf"), upload_dir=tmp_path / "u")
    svc.start()
    messages, sources, _ = list(handlers.chat(svc, handlers.Conversation(), "Who is Morgan Michaels?"))[-1]
    assert messages[-1]["content"].startswith("⚠️") and "does not exist" in messages[-1]["content"]
    assert "model is unavailable" in messages[-1]["content"]
    assert "Evidence" in sources and "<mark>" in sources and "Michaels" in sources  # the evidence is still shown
    messages, sources, _ = list(handlers.chat(svc, handlers.Conversation(), "How do I bake sourdough bread?"))[-1]
    assert "Nothing in the articles is close" in messages[-1]["content"]  # declining needs no model: still answered
