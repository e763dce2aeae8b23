"""The two stores behind ``embeddings.store.Store``: the index folder (the default) and Milvus, chosen by
``Settings.store``; Milvus is imported only when asked for (``pip install -e .[milvus]``)."""
from __future__ import annotations

from core.errors import RagError
from core.settings import Settings
from embeddings.store import MILVUS_EXTRA, Index, Progress, Store, check_store, record_store


class FolderStore:
    """Today's versioned index folder (``embeddings.ingest`` / ``embeddings.diskformat``)."""

    name = "folder"

    def sync(self, settings: Settings, rebuild: bool = False, progress: Progress | None = None,
             shard: tuple[int, int] | None = None):
        from embeddings.ingest import ingest

        if shard is not None and shard[1] > 1:
            raise RagError("--shard splits the articles between processes writing one Milvus collection; the "
                           "folder store has one writer. Add --store milvus:<file or URI>, or leave --shard out.")
        check_store(settings, rebuild)
        report = ingest(settings, rebuild=rebuild, progress=progress)
        record_store(settings)
        return report

    def close(self) -> None:
        """Nothing held open between calls."""

    def load(self, settings: Settings) -> Index:
        from embeddings.ingest import load_index

        check_store(settings)
        return load_index(settings)


def open_store(settings: Settings) -> Store:
    """The store ``settings.store`` names; a clear message when Milvus is asked for but not installed."""
    if settings.store == "folder":
        return FolderStore()
    try:
        import pymilvus  # noqa: F401
    except ImportError:
        raise RagError(f"--store {settings.store} needs the Milvus client, which is not installed: run "
                       f"`{MILVUS_EXTRA}` (pymilvus and milvus-lite), or use the default folder store.") from None
    from embeddings.milvus_store import MilvusStore

    return MilvusStore(settings.store)
