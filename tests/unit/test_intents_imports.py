"""Imports inside the intents package run one way: no loop, not even a lazy one in a function."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "vnstitch.intents"
ROOT = Path(__file__).resolve().parents[2] / "vnstitch" / "intents"


def _imports(path: Path) -> set[str]:
    """The package's modules that ``path`` imports anywhere (top level or in a function)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {
            n.removeprefix(f"{PACKAGE}.").split(".")[0]
            for n in names
            if n.startswith(PACKAGE + ".")
        }
    return found


def _graph() -> dict[str, set[str]]:
    modules = {p.stem for p in ROOT.glob("*.py") if p.stem != "__init__"}
    return {m: _imports(ROOT / f"{m}.py") & modules for m in modules}


def _loop(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop, as the chain of modules, or None."""
    done: set[str] = set()

    def visit(module: str, chain: list[str]) -> list[str] | None:
        if module in chain:
            return [*chain[chain.index(module) :], module]
        if module in done:
            return None
        for target in sorted(graph[module]):
            loop = visit(target, [*chain, module])
            if loop:
                return loop
        done.add(module)
        return None

    for module in sorted(graph):
        loop = visit(module, [])
        if loop:
            return loop
    return None


def test_the_intents_package_has_no_import_loop() -> None:
    graph = _graph()
    assert {"model", "parse", "specs"} <= set(graph)
    loop = _loop(graph)
    assert loop is None, " -> ".join(loop or [])


def test_model_imports_parse_which_imports_only_the_specs() -> None:
    graph = _graph()
    assert graph["specs"] == set()
    assert graph["parse"] == {"specs"}
    assert "parse" in graph["model"]


def test_the_loop_finder_finds_a_lazy_loop() -> None:
    assert _loop({"model": {"parse"}, "parse": {"model"}}) == ["model", "parse", "model"]
