"""Check the import graph of ``src/`` and ``cli/``: no cycles, no CLI import of a private module.

Run from the repository root (it needs only the standard library)::

    python tools/check_imports.py

The graph is built from the source with :mod:`ast` and counts every import statement, also
those inside functions and under ``if TYPE_CHECKING:``: a function-local import hides a cycle
from Python's import machinery, not from the design. An import of ``a.b.c`` is an edge to the
module ``a.b.c`` only (not to the parent packages that Python also runs): otherwise every
module would form a cycle with its package's ``__init__``. ``from pkg import name`` is an edge
to ``pkg.name`` when that is a module, else to ``pkg``.

Exit status 0 when the graph is clean (apart from :data:`KNOWN_CYCLES`), 1 otherwise.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Top-level packages and the folder holding each.
PACKAGES = {
    "blauweknop": ROOT / "src" / "blauweknop",
    "rodeknop_vc": ROOT / "src" / "rodeknop_vc",
    "blauweknop_cli": ROOT / "cli" / "blauweknop_cli",
}
#: The package that must be free of cycles, and the one that may use public API only.
ACYCLIC_PACKAGE = "blauweknop"
CLI_PACKAGE = "blauweknop_cli"
#: Libraries whose private modules (a dotted part starting with "_") the CLI must not import.
LIBRARIES = ("blauweknop", "rodeknop_vc")

#: Cycles that exist today and are being removed, each as the sorted tuple of its modules (a
#: strongly connected component of the graph). The ONLY place for exceptions: delete an entry
#: once its cycle is gone (the check then fails while the cycle still exists, and tells when an
#: entry has become stale).
KNOWN_CYCLES: frozenset[tuple[str, ...]] = frozenset()


@dataclass(frozen=True)
class Edge:
    """One import statement: ``source`` imports ``target`` at ``path``:``line``."""

    source: str
    target: str
    path: Path
    line: int


def module_files(packages: dict[str, Path] | None = None) -> dict[str, Path]:
    """Map every module name of ``packages`` (default :data:`PACKAGES`) to its source file."""
    modules: dict[str, Path] = {}
    for package, folder in (PACKAGES if packages is None else packages).items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".")
    if not is_package:
        base.pop()
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _targets(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]
) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    base = (
        _resolve_relative(module, is_package, node.level, node.module)
        if node.level
        else node.module or ""
    )
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        yield candidate if candidate in known else base


def import_edges(modules: dict[str, Path] | None = None) -> list[Edge]:
    """Every import in :data:`PACKAGES`, to any module (also third-party ones)."""
    modules = module_files() if modules is None else modules
    known = set(modules)
    edges: list[Edge] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _targets(node, module, is_package, known):
                    edges.append(Edge(module, target, path, node.lineno))
    return edges


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def strongly_connected(nodes: Iterable[str], graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; returns the components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    found.append(sorted(component))
    return sorted(found)


def cycles(edges: list[Edge], package: str = ACYCLIC_PACKAGE) -> list[list[str]]:
    """The import cycles among the modules of ``package`` (strongly connected components)."""
    graph: dict[str, set[str]] = {}
    nodes: set[str] = set()
    for edge in edges:
        if _within(edge.source, package):
            nodes.add(edge.source)
            if _within(edge.target, package):
                graph.setdefault(edge.source, set()).add(edge.target)
    return strongly_connected(nodes, graph)


def is_private(module: str) -> bool:
    """True for a module with a dotted part starting with ``_`` (``blauweknop._codec``)."""
    return any(part.startswith("_") for part in module.split(".")[1:])


def private_cli_imports(edges: list[Edge]) -> list[Edge]:
    """The CLI's imports of a private module of :data:`LIBRARIES`."""
    return [
        edge
        for edge in edges
        if _within(edge.source, CLI_PACKAGE)
        and any(_within(edge.target, library) for library in LIBRARIES)
        and is_private(edge.target)
    ]


def main() -> int:
    """Print the findings; 0 when there are none beyond :data:`KNOWN_CYCLES`."""
    edges = import_edges()
    failed = False
    found = [tuple(c) for c in cycles(edges)]
    for component in found:
        inside = set(component)
        if component in KNOWN_CYCLES:
            print(f"known cycle (listed in KNOWN_CYCLES): {' <-> '.join(component)}")
            continue
        failed = True
        print(f"import cycle among {ACYCLIC_PACKAGE} modules: {' <-> '.join(component)}")
        for edge in sorted(set(edges), key=lambda e: (str(e.path), e.line, e.target)):
            if edge.source in inside and edge.target in inside:
                where = edge.path.relative_to(ROOT)
                print(f"    {where}:{edge.line}: {edge.source} -> {edge.target}")
    for stale in sorted(KNOWN_CYCLES - set(found)):
        failed = True
        print(f"KNOWN_CYCLES entry matches no cycle (gone or changed; update it): {stale}")
    for edge in sorted(set(private_cli_imports(edges)), key=lambda e: (str(e.path), e.line)):
        failed = True
        where = edge.path.relative_to(ROOT)
        print(f"CLI imports a private module: {where}:{edge.line}: {edge.target}")
    if not failed:
        besides = " besides KNOWN_CYCLES" if found else ""
        print(
            f"ok: no import cycle among {ACYCLIC_PACKAGE} modules{besides} "
            f"and no {CLI_PACKAGE} import of a private module"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
