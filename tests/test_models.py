"""Model files: joining parts in numeric order, size and hash checks, damaged or missing files."""
import hashlib

import pytest

from rag import models
from core.errors import ModelError
from rag.llm import load_llm
from core.settings import Settings


def make_parts(tmp_path, n=12):
    parts, blob = [], b""
    for i in range(1, n + 1):
        p = tmp_path / f"part{i}.bin"
        data = f"<{i}>".encode() * (i + 3)
        p.write_bytes(data)
        parts.append(p)
        blob += data
    return parts, blob


def test_join_in_numeric_order_and_verify(tmp_path):
    parts, blob = make_parts(tmp_path)
    dest = tmp_path / "out" / "m.gguf"
    models.join_parts(parts, dest, len(blob), hashlib.sha256(blob).hexdigest())
    assert dest.read_bytes() == blob
    models.verify_file(dest, len(blob), hashlib.sha256(blob).hexdigest())  # uses the stamp


def test_glob_order_would_be_wrong(tmp_path):
    parts, blob = make_parts(tmp_path)
    glob_order = sorted(parts, key=lambda p: p.name)  # part1, part10, part11, part12, part2, ...
    with pytest.raises(ModelError, match="joined model is wrong"):
        models.join_parts(glob_order, tmp_path / "bad.gguf", len(blob), hashlib.sha256(blob).hexdigest())
    assert not (tmp_path / "bad.gguf").exists()


def test_truncated_and_tampered_files_are_refused(tmp_path):
    parts, blob = make_parts(tmp_path)
    sha = hashlib.sha256(blob).hexdigest()
    dest = models.join_parts(parts, tmp_path / "m.gguf", len(blob), sha)
    dest.write_bytes(blob[:-5])
    with pytest.raises(ModelError, match="truncated"):
        models.verify_file(dest, len(blob), sha)
    dest.write_bytes(blob[:-1] + b"X")  # same size, different content: the stale stamp must not hide it
    with pytest.raises(ModelError, match="damaged"):
        models.verify_file(dest, len(blob), sha)


def test_missing_part_package_says_how_to_install():
    with pytest.raises(ModelError, match=r"pip install"):
        models.part_files(package="no_such_package_part")


def test_model_path_checks(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_llm(Settings.load(model_path=tmp_path / "missing.gguf"))
    (tmp_path / "notgguf.gguf").write_bytes(b"hello world")
    with pytest.raises(ModelError, match="not a GGUF"):
        load_llm(Settings.load(model_path=tmp_path / "notgguf.gguf"))


def test_truncated_gguf_is_a_model_error(tmp_path, tiny_model):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_model.read_bytes()[:2_000_000])
    with pytest.raises(ModelError, match="truncated or damaged"):
        load_llm(Settings.load(model_path=cut))


def test_tiny_model_is_found(tiny_model):
    assert tiny_model.suffix == ".gguf" and tiny_model.read_bytes()[:4] == b"GGUF"
