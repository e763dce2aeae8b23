"""The Milvus collections' schema and the records of who writes a pending article (``embeddings.milvus_store``)."""
from __future__ import annotations

import os
import socket
import time

from core.settings import Settings
from embeddings.embedder import EMBEDDER_BACKEND, EMBEDDER_DIM, EMBEDDER_NAME

SPEC = "_spec"
STALE_S = 3600  # a pending article of another machine's writer this old is taken as abandoned


def spec_of(settings: Settings) -> dict:
    return {"embedder": {"name": EMBEDDER_NAME, "dim": EMBEDDER_DIM, "backend": EMBEDDER_BACKEND},
            "chunking": {"chunk_chars": settings.chunk_chars, "overlap_sentences": settings.chunk_overlap,
                         "method": "pysbd-sentences"}, "terms": "core.text.tokenize v1"}


def writer() -> dict:
    """Who is writing a pending article, and since when."""
    return {"writer": f"{socket.gethostname()}:{os.getpid()}", "since": time.time()}


def abandoned(meta: dict) -> bool:
    """Whether a pending article's writer is gone, so its rows may be deleted: a process of this machine no
    longer running, or one elsewhere silent for ``STALE_S`` (another machine's shard still writing is left
    alone; its work is never deleted under it)."""
    host, _, pid = str(meta.get("writer", "")).rpartition(":")
    if host != socket.gethostname():
        return not host or time.time() - float(meta.get("since", 0)) > STALE_S
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return False


def create(client, names: tuple[str, str], spec: dict) -> None:
    """The passages and articles collections (``embeddings.milvus_store`` describes them), and the spec row."""
    from pymilvus import DataType, Function, FunctionType

    passages, articles = names
    s = client.create_schema(auto_id=False)
    for name, kind, kw in (("pk", DataType.VARCHAR, {"is_primary": True, "max_length": 80}),
                           ("article", DataType.VARCHAR, {"max_length": 40}),
                           ("source", DataType.VARCHAR, {"max_length": 1024}), ("n", DataType.INT64, {}),
                           ("start", DataType.INT64, {}), ("end", DataType.INT64, {}),
                           ("month", DataType.VARCHAR, {"max_length": 16}),
                           ("terms", DataType.VARCHAR, {"max_length": 65535, "enable_analyzer": True,
                                                        "analyzer_params": {"tokenizer": "standard"}}),
                           ("sparse", DataType.SPARSE_FLOAT_VECTOR, {}),
                           ("dense", DataType.FLOAT_VECTOR, {"dim": spec["embedder"]["dim"]})):
        s.add_field(name, kind, **kw)
    s.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"],
                            output_field_names=["sparse"]))
    ip = client.prepare_index_params()
    ip.add_index("dense", index_type="FLAT", metric_type="IP")
    ip.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                 params={"bm25_k1": 1.5, "bm25_b": 0.75})  # embeddings.lexical's K1, B
    client.create_collection(passages, schema=s, index_params=ip, consistency_level="Strong")
    a = client.create_schema(auto_id=False)
    for name, kind, kw in (("pk", DataType.VARCHAR, {"is_primary": True, "max_length": 80}),
                           ("article", DataType.VARCHAR, {"max_length": 40}), ("part", DataType.INT64, {}),
                           ("state", DataType.VARCHAR, {"max_length": 16}),
                           ("source", DataType.VARCHAR, {"max_length": 1024}), ("meta", DataType.JSON, {}),
                           ("text", DataType.VARCHAR, {"max_length": 65535}),
                           ("v", DataType.FLOAT_VECTOR, {"dim": 2})):  # Milvus needs a vector in each
        a.add_field(name, kind, **kw)
    ip = client.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="L2")
    client.create_collection(articles, schema=a, index_params=ip, consistency_level="Strong")
    client.upsert(articles, [{"pk": SPEC, "article": SPEC, "part": -1, "state": "spec", "source": "",
                              "meta": spec, "text": "", "v": [0.0, 0.0]}])
    client.flush(articles)
