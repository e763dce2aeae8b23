"""The architecture, read from the imports (``ast``): each layer imports only layers below it, and no cycle.

    core (0) <- embeddings (1) <- rag: the product (2) <- rag.eval (3) <- ui (4) <- rag.cli, __main__ (5)
"""
import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("core", "embeddings", "rag", "ui")
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


def layer(module: str) -> int:
    if module == "rag.cli" or module.endswith(".__main__"):  # the terminal's entry points
        return 5
    if module.startswith("ui"):
        return 4
    if module == "rag.eval" or module.startswith("rag.eval."):
        return 3
    return {"core": 0, "embeddings": 1, "rag": 2}[module.split(".")[0]]


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(path: Path, known: set[str]) -> set[str]:
    """Project modules imported anywhere in the file (lazy imports inside functions count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name.split(".")[0] in PACKAGES:
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {m: imports(p, set(mods)) - {m} for m, p in mods.items()}


def test_no_layer_imports_a_layer_above_it():
    upward = [f"{m} ({layer(m)}) imports {d} ({layer(d)})" for m, deps in graph().items() for d in deps
              if layer(d) > layer(m) and not m.startswith(d + ".") and d not in PACKAGES]
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    g = graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in sorted(g.get(m, ())):
            if state.get(d) == 1:
                cycles.append(" -> ".join(path[path.index(d):] + [d]))
            elif d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m, [m])
    assert not cycles, "\n".join(cycles)


def test_the_check_itself_catches_an_upward_import(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("from rag.pipeline import ask\n")
    assert layer("core.text") < layer("rag.pipeline")
    assert "rag.pipeline" in imports(bad, set(modules()))


@pytest.mark.parametrize("path", sorted(modules().values()), ids=lambda p: str(p.relative_to(ROOT)))
def test_functions_and_modules_stay_small(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_MODULE_LINES, f"{path.name} has {len(lines)} lines"
    long = [f"{n.name} ({n.end_lineno - n.lineno + 1} lines)" for n in ast.walk(ast.parse("\n".join(lines)))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, ", ".join(long)
