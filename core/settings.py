"""One typed settings object, validated when it is made and passed explicitly."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from core.errors import RagError

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the checkout: core/ is beside seeds/
DEFAULT_CORPUS = PROJECT_ROOT / "seeds"


def cache_root() -> Path:
    """Where the joined model and the indexes live: $RAG_CACHE_DIR or the user's cache folder."""
    env = os.environ.get("RAG_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("newsrag"))


def data_root() -> Path:
    """Where articles added in the web page are kept: $RAG_DATA_DIR or the user's data folder."""
    env = os.environ.get("RAG_DATA_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("newsrag"))


def uploads_dir(data_dir: Path | None = None) -> Path:
    """The folder of articles added by the user: ``<data dir>/articles`` (``--data-dir``, $RAG_DATA_DIR or the
    user's data folder). Each data folder is a collection of its own, with its own index."""
    return Path(data_dir or data_root()).expanduser() / "articles"


def default_index_dir(corpus_dirs: tuple[Path, ...]) -> Path:
    """One index per set of article folders: ``<cache>/index/seeds-1a2b3c4d``, so two data folders (two
    collections of added articles beside the same seeds) never share an index."""
    key = "\n".join(str(Path(d).resolve()) for d in corpus_dirs) if len(corpus_dirs) > 1 else str(
        Path(corpus_dirs[0]).resolve())  # one folder keeps the name it always had
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return cache_root() / "index" / f"{Path(corpus_dirs[0]).name or 'corpus'}-{digest}"


def store_problems(store: str) -> list[str]:
    """Why ``store`` names no index store: "folder", or "milvus:" and a Milvus Lite file or a server's URI (an
    optional "#collection" after it)."""
    if not isinstance(store, str) or not (store == "folder" or store.startswith("milvus:")):
        return [f"store must be 'folder' or 'milvus:<file or URI>' (e.g. milvus:./archive.db), got {store!r}"]
    if store.startswith("milvus:") and not store[len("milvus:"):].split("#")[0].strip():
        return ["store milvus: needs a Milvus Lite file or a server's URI: milvus:./archive.db or "
                "milvus:http://host:19530"]
    return []


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline can be tuned with. Build with ``Settings.load(...)``."""

    corpus_dirs: tuple[Path, ...] = (DEFAULT_CORPUS,)
    index_dir: Path | None = None  # None: derived from corpus_dirs under the cache
    store: str = "folder"  # where the index lives: folder | milvus:./archive.db (Milvus Lite) | milvus:http://host:19530
    # chunking: 450 chars is ~105 tokens, the unit of search
    chunk_chars: int = 450
    chunk_overlap: int = 1  # sentences repeated at the start of the next chunk
    # retrieval: the sentences of the best top_k chunks are scored; the best go to the model within
    # evidence_tokens, each under its '[n] From "Title" (date):' header (~3 sentences of the seeds), so a question
    # costs ~180 new prompt tokens after the cached instructions (~125 tokens)
    top_k: int = 8
    evidence_tokens: int = 170
    retrieval_mode: str = "hybrid"  # dense | lexical | hybrid
    min_relevance: float = 0.25  # best dense cosine below this: decline before the LLM
    exact_index_max: int = 50_000  # above this many vectors an HNSW index is built
    # generation
    model_path: Path | None = None  # None: the default Qwen2.5 GGUF joined from its PyPI parts
    llm_url: str | None = None  # an OpenAI-compatible endpoint instead of in-process llama.cpp
    llm_api_model: str = "local"
    n_ctx: int = 2048
    n_threads: int | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0
    gen_timeout_s: float = 120.0
    # citations
    check_citations: bool = True
    support_threshold: float = 0.45
    judge: bool = False  # also ask the model "is this claim stated in passage [n]?" (rag.judge)
    # limits
    max_question_chars: int = 2000

    def __post_init__(self) -> None:
        problems = []
        if not self.corpus_dirs:
            problems.append("at least one article folder is needed")
        if not 100 <= self.chunk_chars <= 20_000:
            problems.append(f"chunk_chars must be 100..20000, got {self.chunk_chars}")
        if not 0 <= self.chunk_overlap <= 5:
            problems.append(f"chunk_overlap must be 0..5 sentences, got {self.chunk_overlap}")
        if not 1 <= self.top_k <= 20:
            problems.append(f"top_k must be 1..20, got {self.top_k}")
        if not 30 <= self.evidence_tokens <= 1500:
            problems.append(f"evidence_tokens must be 30..1500, got {self.evidence_tokens}")
        if self.retrieval_mode not in ("dense", "lexical", "hybrid"):
            problems.append(f"retrieval_mode must be dense, lexical or hybrid, got {self.retrieval_mode!r}")
        if not -1.0 <= self.min_relevance <= 1.0:
            problems.append(f"min_relevance must be -1..1, got {self.min_relevance}")
        if not 1 <= self.max_tokens <= 4096:
            problems.append(f"max_tokens must be 1..4096, got {self.max_tokens}")
        if not 0.0 <= self.temperature <= 2.0:
            problems.append(f"temperature must be 0..2, got {self.temperature}")
        if self.gen_timeout_s <= 0:
            problems.append("gen_timeout_s must be positive")
        if not 1 <= self.max_question_chars <= 100_000:
            problems.append("max_question_chars must be 1..100000")
        problems += store_problems(self.store)
        if problems:
            raise RagError("Invalid settings: " + "; ".join(problems) + ".")

    @classmethod
    def load(cls, **overrides) -> "Settings":
        """Defaults, then environment (RAG_MODEL, RAG_LLM_URL, RAG_INDEX_DIR, RAG_STORE, RAG_TOP_K), then ``overrides``.

        The collection (``seeds/`` plus the articles added in the page) is composed by ``rag.service``, not here.

        ``None`` overrides are ignored so CLI flags that were not given keep the lower layers.
        """
        env: dict = {}
        if os.environ.get("RAG_MODEL"):
            env["model_path"] = Path(os.environ["RAG_MODEL"]).expanduser()
        if os.environ.get("RAG_LLM_URL"):
            env["llm_url"] = os.environ["RAG_LLM_URL"]
        if os.environ.get("RAG_INDEX_DIR"):
            env["index_dir"] = Path(os.environ["RAG_INDEX_DIR"]).expanduser()
        if os.environ.get("RAG_STORE"):
            env["store"] = os.environ["RAG_STORE"]
        if os.environ.get("RAG_TOP_K"):
            try:
                env["top_k"] = int(os.environ["RAG_TOP_K"])
            except ValueError:
                raise RagError("RAG_TOP_K must be a whole number.") from None
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise RagError(f"Unknown settings: {', '.join(sorted(unknown))}.")
        values = env | {k: v for k, v in overrides.items() if v is not None}
        if "corpus_dirs" in values:
            values["corpus_dirs"] = tuple(Path(p).expanduser() for p in values["corpus_dirs"])
        for key in ("model_path", "index_dir"):
            if key in values:
                values[key] = Path(values[key]).expanduser()
        if str(values.get("store", "")).startswith("milvus:") and "://" not in values["store"]:
            where, _, name = values["store"][len("milvus:"):].partition("#")  # a Lite file: recorded absolute
            values["store"] = f"milvus:{Path(where).expanduser().resolve()}" + (f"#{name}" if name else "")
        return cls(**values)

    def with_(self, **changes) -> "Settings":
        """A copy with ``changes`` (validated again)."""
        return replace(self, **changes)

    @property
    def resolved_index_dir(self) -> Path:
        """``index_dir``, or the one derived from the first article folder."""
        return self.index_dir or default_index_dir(self.corpus_dirs)

    @property
    def threads(self) -> int:
        """llama.cpp threads: ``n_threads`` or every core."""
        return self.n_threads or max(1, os.cpu_count() or 1)
