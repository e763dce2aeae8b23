import os
import shutil
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


@pytest.fixture(autouse=True, scope="session")
def _isolated_dirs(tmp_path_factory):
    """Caches and added articles go to a temporary folder, never the user's."""
    base = tmp_path_factory.mktemp("home")
    old = {k: os.environ.get(k) for k in ("RAG_CACHE_DIR", "RAG_DATA_DIR", "RAG_MODEL", "RAG_LLM_URL", "RAG_INDEX_DIR")}
    os.environ["RAG_CACHE_DIR"] = str(base / "cache")
    os.environ["RAG_DATA_DIR"] = str(base / "data")
    for k in ("RAG_MODEL", "RAG_LLM_URL", "RAG_INDEX_DIR"):
        os.environ.pop(k, None)
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A private copy of the seed articles with their catalog."""
    dest = tmp_path / "articles"
    shutil.copytree(SEEDS, dest)
    return dest


@pytest.fixture
def settings_for(tmp_path):
    from core.settings import Settings

    def make(corpus: Path, **kw):
        return Settings.load(corpus_dirs=(corpus,), **({"index_dir": tmp_path / "index"} | kw))

    return make


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    from rag.models import tiny_model_path

    return tiny_model_path()


@pytest.fixture(scope="session")
def seed_engine(tmp_path_factory, tiny_model):
    """One engine over the seeds with the tiny real model, shared by the slower tests."""
    from rag.pipeline import open_engine
    from core.settings import Settings

    s = Settings.load(corpus_dirs=(SEEDS,), index_dir=tmp_path_factory.mktemp("seedindex"), model_path=tiny_model,
                      max_tokens=64)
    engine, _ = open_engine(s)
    return engine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
