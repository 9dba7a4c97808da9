"""Module import graph of graphkeras, read from source with `ast`.

Used by tests/test_import_ladder.py and runnable as a script
(`python tests/import_graph.py`) to print the largest import cycle.

Every import statement counts, those inside functions (lazy imports)
included: a lazy import climbing the ladder is still a dependency. An edge
goes to the module named; `from pkg import name` goes to `pkg.name` when
that is a module and to `pkg` otherwise. The implicit import of parent
packages is not an edge (it would tie every module to graphkeras/__init__).
"""

from __future__ import annotations

import ast
import pathlib
import sys

import networkx as nx

ROOT = pathlib.Path(__file__).resolve().parents[1] / "graphkeras"


def module_files(root: pathlib.Path = ROOT) -> dict:
    """Map dotted module name -> path for every .py file under root."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_package(path: pathlib.Path) -> bool:
    return path.name == "__init__.py"


def imports_of(name: str, path: pathlib.Path, modules: dict):
    """Yield (target module, line, lazy) for each project import in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if _is_package(path) else name.rpartition(".")[0]
    top_level = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = []
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in modules else base)
        else:
            continue
        for target in targets:
            # `import a.b.c` names a.b.c; keep the longest known prefix.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target, node.lineno, id(node) not in top_level


def import_graph(root: pathlib.Path = ROOT) -> nx.DiGraph:
    """Directed graph module -> imported module; edges carry line/lazy."""
    modules = module_files(root)
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target, line, lazy in imports_of(name, path, modules):
            if graph.has_edge(name, target):
                lazy = lazy and graph.edges[name, target]["lazy"]
            graph.add_edge(name, target, line=line, lazy=lazy)
    return graph


def largest_cycle(graph: nx.DiGraph) -> set:
    """The largest strongly connected component (a set of module names)."""
    return max(nx.strongly_connected_components(graph), key=len)


if __name__ == "__main__":
    g = import_graph()
    lazy = sum(1 for *_, d in g.edges(data=True) if d["lazy"])
    top = largest_cycle(g)
    eager = g.edge_subgraph(
        [(a, b) for a, b, d in g.edges(data=True) if not d["lazy"]])
    print(f"modules {g.number_of_nodes()} edges {g.number_of_edges()} "
          f"(lazy {lazy})")
    print(f"largest cycle counting lazy imports: {len(top)}")
    print(f"largest cycle of module-level imports: "
          f"{len(largest_cycle(eager)) if eager.number_of_nodes() else 0}")
    if "-v" in sys.argv:
        print("\n".join(sorted(top)))
