"""The house in figures: modules per folder, import circles, the longest functions.

``python -m tests.house`` prints them for ``bridge/`` and ``adapters/`` (the closing notes of the
redesign quote them); :mod:`tests.test_architecture` checks the import graph with :func:`circles`.
Imports count wherever they are written (inside functions and ``if TYPE_CHECKING:`` blocks too), and
``from package import module`` counts as importing the module, not the package's ``__init__``.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bridge", "adapters")


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the packages: dotted name → file."""
    found: dict[str, Path] = {}
    for base in PACKAGES:
        for path in sorted((root / base).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ``known`` that module ``name`` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            subs = {f"{base}.{a.name}" for a in node.names} & known.keys()
            out |= subs
            if len(subs) < len(node.names) and base in known:
                out.add(base)
    out.discard(name)
    return out


def circles(root: Path = ROOT) -> list[list[str]]:
    """The import circles: every group of modules that import each other, directly or not (Tarjan)."""
    known = modules(root)
    graph = {name: imports(name, path, known) for name, path in known.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def functions(root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """``(lines, "file:name")`` for every function and method."""
    for path in modules(root).values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                yield node.end_lineno - node.lineno + 1, f"{path.relative_to(root)}:{node.name}"


def main() -> None:
    root = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT
    found = modules(root)
    per = Counter(str(p.parent.relative_to(root)) for p in found.values())
    lines = sum(len(p.read_text().splitlines()) for p in found.values())
    print(f"{len(found)} modules, {lines} lines")
    for folder, count in sorted(per.items()):
        print(f"  {folder}: {count}")
    groups = circles(root)
    print(f"import circles: {len(groups)}")
    for group in groups:
        print("  " + " ↔ ".join(group))
    print("longest functions:")
    for size, where in sorted(functions(root), reverse=True)[:8]:
        print(f"  {size:3d} {where}")


if __name__ == "__main__":
    main()
