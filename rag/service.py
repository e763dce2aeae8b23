"""The one service both edges call: the collection (seeds + added articles), its engine and the shared model.

``rag/cli.py`` and ``ui/`` hold no decisions of their own about what the collection is, how an article is
added, when the model loads or what an error looks like as JSON; they call this.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from core.dates import is_iso
from core.errors import CorpusError, RagError
from core.records import Answer, Document
from core.settings import Settings
from embeddings.diskformat import current_version
from embeddings.ingest import IngestReport
from embeddings.reader import MAX_FILE_BYTES
from embeddings.backends import open_store
from embeddings.store import describe_store, parse_shard
from rag import collection, evidence
from rag.pipeline import Engine, Found, ask, ask_stream, find, open_engine

__all__ = ["Added", "Found", "Readiness", "Service", "error_payload", "parse_shard"]

log = logging.getLogger(__name__)

MAX_ADD_FILES = 20
Progress = Callable[[str, int, int], None]
WAITING = ("Another process is changing this collection (adding, removing or correcting articles); waiting for it "
           "to finish ...")


@dataclass(frozen=True)
class Added:
    """The outcome of adding articles: the files kept, one line per file refused, the index update."""

    added: tuple[str, ...]
    problems: tuple[str, ...]
    report: IngestReport | None = None
    error: str | None = None  # the index update failed; the files are kept and indexed next time
    notes: tuple[str, ...] = ()  # kept, with something to tell: renamed, replaced, read as another kind


@dataclass(frozen=True)
class Readiness:
    """Where a background start stands: ``stage`` in words ("indexing", "loading the language model", "ready",
    "failed"), passages embedded of ``total`` while indexing, the articles once the index is loaded."""

    stage: str
    done: int = 0
    total: int = 0
    articles: int | None = None  # None: the index is not loaded yet
    error: str = ""

    @property
    def ready(self) -> bool:
        return self.stage in ("ready", "failed")


class Service:
    """One collection and its engine; re-indexing swaps the index under a lock and keeps the loaded model.

    ``added_dir`` is the folder of articles added by the user (created on start); None: ``settings`` alone. Its
    changes are made one at a time across processes (``rag.collection.changing``); ``on_wait`` is told
    ``WAITING`` when one waits more than a second for another.
    """

    def __init__(self, settings: Settings, added_dir: Path | None = None,
                 on_wait: Callable[[str], None] | None = None):
        self.added_dir = Path(added_dir) if added_dir else None
        dirs = tuple(settings.corpus_dirs)
        if self.added_dir and self.added_dir not in dirs:
            dirs += (self.added_dir,)
        self.settings = replace(settings, corpus_dirs=dirs)
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._warming: threading.Event | None = None  # set: stop the warm-up of the engine it was started for
        self._warm_thread: threading.Thread | None = None
        self._state = Readiness("ready")
        self._indexed = self._ready = None  # threading.Events while a background start runs
        self._failure: RagError | None = None
        self.start_report: IngestReport | None = None  # what the background start's indexing did
        self.on_wait = on_wait

    def start(self, progress: Progress | None = None, update: bool = True, embedder: bool = True
              ) -> IngestReport | None:
        """Build or update the index (``update``) and load the index and (``embedder``) the embedder; without
        it, listing or correcting the collection imports no PyTorch."""
        if self.added_dir:
            self.added_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._engine, report = open_engine(self.settings, update=update, progress=progress)
            self._rewarm()
        if embedder:
            self._engine.embedder.load()
        return report

    def start_in_background(self) -> threading.Thread:
        """``start``, the embedder, the model and the warm-up in a thread; ``readiness`` says where it stands,
        and questions asked meanwhile wait for what they need (the index, then the model) instead of failing."""
        self._indexed, self._ready = threading.Event(), threading.Event()
        self._state = Readiness("checking the index")
        thread = threading.Thread(target=self._start_all, daemon=True, name="service-start")
        thread.start()
        return thread

    def readiness(self) -> Readiness:
        return self._state

    @property
    def indexed(self) -> bool:
        """The index is loaded: the collection can be listed and searched."""
        return self._engine is not None

    def _note(self, stage: str, done: int, total: int) -> None:
        self._state = Readiness("indexing" if stage == "embedding" else stage, done, total)

    def _start_all(self) -> None:
        try:
            self.start_report = self.start(progress=self._note, embedder=False)
            articles = len(self._engine.index.documents)
            self._indexed.set()
            self._state = Readiness("loading the search model", articles=articles)
            self._engine.embedder.load()
            self._state = Readiness("loading the language model", articles=articles)
            self.load_model()
            self.warm_evidence()
            self._state = Readiness("ready", articles=articles)
        except Exception as exc:  # noqa: BLE001 - whatever stops the start is said in the page, not lost in a thread
            self._failure = exc if isinstance(exc, RagError) else RagError(f"Starting failed: {exc}")
            self._state = Readiness("failed", articles=self._state.articles, error=str(self._failure))
        finally:
            self._indexed.set()
            self._ready.set()

    def wait_ready(self, index_only: bool = False) -> None:
        """Wait for a background start (``index_only``: until the index is loaded); its error, if it failed
        before the index was there."""
        event = self._indexed if index_only else self._ready
        if event is not None:
            event.wait()
        if self._engine is None and self._failure is not None:
            raise self._failure

    def warm_evidence(self) -> None:
        """From now on, after every load of the index, embed a small collection's sentences in the background
        (``rag.evidence.warm``), so the page shows a question's evidence without embedding at question time."""
        self._warming = self._warming or threading.Event()
        self._rewarm()

    def stop_warming(self) -> None:
        """Stop the background embedding of the collection's sentences and wait for its batch to end: PyTorch
        in a thread still running when Python exits aborts the process ("terminate called ...")."""
        if self._warming is not None:
            self._warming.set()
        if self._warm_thread is not None:
            self._warm_thread.join(10)

    def _rewarm(self) -> None:
        if self._warming is None or self._engine is None:
            return
        self._warming.set()
        stop = self._warming = threading.Event()
        engine = self._engine
        self._warm_thread = threading.Thread(target=evidence.warm, args=(engine.index, engine.embedder, stop),
                                             daemon=True)
        self._warm_thread.start()

    @property
    def engine(self) -> Engine:
        """The loaded engine (started on first use; waited for while a background start loads it)."""
        self.wait_ready(index_only=True)
        if self._engine is None:
            self.start()
        return self._engine

    def index(self, rebuild: bool = False, progress: Progress | None = None,
              shard: tuple[int, int] | None = None) -> IngestReport:
        """Only bring the index in line with the folders (no models loaded); ``shard`` (i, n): only the i-th of
        n disjoint parts of the articles (several processes filling one Milvus collection)."""
        return open_store(self.settings).sync(self.settings, rebuild=rebuild, progress=progress, shard=shard)

    def store_name(self) -> str:
        """Where the index lives, in words: "index folder" or "Milvus (Lite file archive.db)"."""
        return describe_store(self.settings.store)

    def load_model(self) -> None:
        """Load the LLM (and the embedder) now, so a missing or damaged model is reported before the first
        question."""
        self.engine.embedder.load()
        self.engine.llm

    def reindex(self, progress: Progress | None = None) -> IngestReport:
        """Update the index from the folders, keeping the loaded model."""
        self.wait_ready()
        with self._lock:
            engine, report = open_engine(self.settings, progress=progress)
            if self._engine is not None:
                engine._llm = self._engine._llm
            self._engine = engine
            self._rewarm()
        return report

    def refresh(self) -> bool:
        """Load the index version another process made since (``CURRENT`` names another one), keeping the loaded
        model; True when it did. Called before each question and listing: one small file read when nothing changed."""
        engine = self._engine
        if self.settings.store != "folder":  # a Milvus collection is searched live: nothing to reload
            return False
        try:
            live = current_version(self.settings.resolved_index_dir)
        except RagError:
            return False
        if engine is None or live is None or live.name == engine.index.version:
            return False
        with self._lock:
            if self._engine.index.version == live.name:
                return False
            try:
                index = open_store(self.settings).load(self.settings)
            except (RagError, OSError) as exc:  # being replaced or removed by its writer: the next call retries
                log.warning("Keeping the loaded index: the newer one could not be loaded (%s).", exc)
                return False
            self._engine = replace(self._engine, index=index)
            self._rewarm()
        return True

    def documents(self) -> dict[str, Document]:
        """The articles of the live index by source id."""
        return self.engine.index.documents

    def model_name(self) -> str:
        """The model in use, in words."""
        s = self.settings
        if s.llm_url:
            return f"endpoint {s.llm_url}"
        if s.model_path:
            return Path(s.model_path).name
        return "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)"

    def find(self, question: str, **kwargs) -> Found:
        """``rag.pipeline.find`` on this collection: the question's evidence, without the model."""
        self.refresh()
        return find(self.engine, question, **kwargs)

    def ask_stream(self, question: str, **kwargs) -> Iterator[Found | str | Answer]:
        """``rag.pipeline.ask_stream`` on this collection: the evidence found, the text as written, the answer."""
        self.wait_ready()
        if kwargs.get("found") is None:
            self.refresh()
        return ask_stream(self.engine, question, **kwargs)

    def ask(self, question: str, **kwargs) -> Answer:
        """``rag.pipeline.ask`` on this collection."""
        self.wait_ready()
        self.refresh()
        return ask(self.engine, question, **kwargs)

    def add_files(self, paths: list[Path], progress: Progress | None = None, replace: bool = False) -> Added:
        """Convert and keep article files (text, saved web pages, PDFs) in the added folder, then index them;
        each file refused is named with what to do, and the rest go through."""
        if len(paths) > MAX_ADD_FILES:
            raise CorpusError(f"{len(paths)} files at once is too many; add at most {MAX_ADD_FILES} at a time.")
        with self._changing(progress) as folder:
            taken = collection.taken_names(folder, self.documents())
            shipped = frozenset(s for s, d in self.documents().items() if Path(d.path).parent != folder)
            added, notes, problems = [], [], []
            for p in map(Path, paths):
                kept = collection.store_file(folder, p, taken, replace, shipped)
                if kept.name:
                    added.append(kept.name)
                if kept.message:
                    (notes if kept.name else problems).append(kept.message)
            return self._index_added(added, problems, progress, tuple(notes))

    def add_text(self, title: str, date: str, text: str, progress: Progress | None = None) -> Added:
        """Save a pasted article with its title and optional date (YYYY, YYYY-MM or YYYY-MM-DD), and index it."""
        self._writable_folder()
        title, date, text = (title or "").strip(), (date or "").strip(), (text or "").strip()
        if not title or not text:
            raise CorpusError("Give the article a title and paste its text.")
        if date and not is_iso(date):
            raise CorpusError(f"Date {date!r} is not a date: write 2025, 2025-03 or 2025-03-25, or leave it empty.")
        if len(text.encode()) > MAX_FILE_BYTES:
            raise CorpusError(f"The text is larger than {MAX_FILE_BYTES // 2**20} MiB.")
        with self._changing(progress) as folder:
            kept = collection.store_text(folder, title, date or None, text + "\n",
                                         collection.taken_names(folder, self.documents()))
            if kept.name is None:
                return Added((), (kept.message,))
            return self._index_added([kept.name], [], progress, (kept.message,) if kept.message else ())

    def remove(self, source: str, progress: Progress | None = None) -> IngestReport:
        """Take an added article out of the collection; answers stop citing it once this returns."""
        with self._changing(progress) as folder:
            self._check_own(source)
            collection.remove(folder, source)
            return self.reindex(progress)

    def set_meta(self, source: str, title: str | None = None, date: str | None = None) -> IngestReport:
        """Correct an added article's title or date; saved, re-indexed (no re-embedding) and used by date questions."""
        with self._changing() as folder:
            self._check_own(source)
            collection.set_meta(folder, source, title, date)
            return self.reindex()

    def articles(self) -> list[collection.ArticleRow]:
        """The collection, newest first, with passages per article and which ones are read-only."""
        self.refresh()
        files = self.engine.index.manifest.get("files", {})
        return collection.rows(self.documents(), {s: f.get("chunks", 0) for s, f in files.items()}, self.added_dir)

    @contextmanager
    def _changing(self, progress: Progress | None = None) -> Iterator[Path]:
        """The collection's lock held, and the index as the last change left it loaded (``refresh``)."""
        def waiting() -> None:
            if self.on_wait:
                self.on_wait(WAITING)
            if progress:
                progress(WAITING, 0, 0)

        with collection.changing(self._writable_folder(), waiting) as folder:
            self.engine  # started if it was not
            self.refresh()
            yield folder

    def _check_own(self, source: str) -> None:
        doc = self.documents().get(source)
        if doc is None:
            raise CorpusError(f"There is no article called {source!r}; the collection list shows their names.")
        if self.added_dir is None or Path(doc.path).parent != self.added_dir:
            raise CorpusError(f"{doc.title!r} is a shipped article ({source}); shipped articles are read-only.")

    def _writable_folder(self) -> Path:
        if self.added_dir is None:
            raise CorpusError("This collection takes no added articles.")
        self.added_dir.mkdir(parents=True, exist_ok=True)
        return self.added_dir

    def _index_added(self, added: list[str], problems: list[str], progress: Progress | None,
                     notes: tuple[str, ...] = ()) -> Added:
        if not added:
            return Added((), tuple(problems), notes=notes)
        try:
            return Added(tuple(added), tuple(problems), self.reindex(progress), notes=notes)
        except RagError as exc:
            return Added(tuple(added), tuple(problems), None, str(exc), notes)


def error_payload(question: str, exc: RagError) -> dict:
    """The JSON object of a question that failed: the answer's shape with ``error`` saying why."""
    return {"question": question, "answer": "", "refused": True, "error": str(exc), "citations": [],
            "retrieved": [], "timings": {}}
