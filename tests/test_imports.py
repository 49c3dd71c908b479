"""No import circle among cascade's modules: each shared piece has one home, below every module that uses it.

The graph is read from the source with :mod:`ast` (nothing is imported): every ``import cascade.x`` and
``from cascade.x import name``, at the top of a module or inside a function (a lazy import is still a
dependency, and a circle of lazy imports is still a circle), is an edge to module ``cascade.x.name``
when that is a module, else to ``cascade.x``. A failure lists every circle: each group of modules that
import one another (a strongly connected component), with one path around it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cascade"  # this checkout's, whichever one is installed


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the cascade modules it imports anywhere in its body."""
    files = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from .x import y, from .. import z
                    above = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(above + ([base] if base else []))
                for alias in node.names:
                    targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base)
        graph[module] = {t for t in targets if t in files and t != module}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of more than one module that import one another (strongly connected components,
    by Tarjan's algorithm), each sorted, in order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def path_around(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """A shortest path from the group's first module back to it, inside the group."""
    start, members = group[0], set(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & members):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"no path around {group}")  # a strongly connected group always has one


def test_the_graph_sees_top_level_and_function_level_imports():
    graph = import_graph()
    assert "cascade.data.frames" in graph["cascade.data.sample"]  # from cascade.data.frames import ...
    assert "cascade.defaults" in graph["cascade.data.clips"]  # from cascade import defaults: the module
    assert "cascade.data" in graph["cascade.data.sample"]  # inside a function: from cascade.data import open_dataset
    graph = {"a": {"b"}, "b": {"c", "a"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}, "f": {"a"}}
    assert circles(graph) == [["a", "b", "c"], ["d", "e"]]
    assert path_around(graph, ["a", "b", "c"]) == ["a", "b", "a"] and circles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_cascade_imports_itself_through_others():
    graph = import_graph()
    found = circles(graph)
    assert not found, "import circles (give each shared piece one home below the modules that use it):\n" + "\n".join(
        f"{', '.join(group)} (e.g. {' -> '.join(path_around(graph, group))})" for group in found)
