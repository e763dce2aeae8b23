import pytest

from core.errors import RagError
from core.settings import Settings


def test_defaults_are_valid():
    s = Settings.load()
    assert s.top_k == 8 and s.evidence_tokens == 170 and s.retrieval_mode == "hybrid" and s.resolved_index_dir.name.startswith("seeds-")


@pytest.mark.parametrize("bad", [dict(top_k=0), dict(chunk_chars=10), dict(retrieval_mode="magic"),
                                 dict(temperature=5.0), dict(max_tokens=0), dict(gen_timeout_s=0)])
def test_invalid_values_are_refused(bad):
    with pytest.raises(RagError, match="Invalid settings"):
        Settings.load(**bad)


def test_unknown_setting():
    with pytest.raises(RagError, match="Unknown settings: colour"):
        Settings.load(colour="red")


def test_environment_and_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_TOP_K", "7")
    monkeypatch.setenv("RAG_MODEL", str(tmp_path / "m.gguf"))
    s = Settings.load()
    assert s.top_k == 7 and s.model_path == tmp_path / "m.gguf"
    assert Settings.load(top_k=3).top_k == 3
    monkeypatch.setenv("RAG_TOP_K", "many")
    with pytest.raises(RagError, match="whole number"):
        Settings.load()
