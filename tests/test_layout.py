"""The house's wiring (README, Layout): imports run downwards only, from the front door
(faqbot) to the web, the back office and the core, and no module imports itself back
through others (no circle), counting imports inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WINGS = {"bot": 0, "backoffice": 1, "web": 2, "faqbot": 3}  # a wing may import those below


def _modules() -> dict[str, Path]:
    out = {}
    for wing in WINGS:
        for path in (ROOT / wing).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Each module's imports of the project's own modules (`from bot import x` counts as
    bot.x when x is a module)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                          else node.module for a in node.names}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_no_import_runs_back_up():
    graph = _imports(_modules())
    upward = [f"{name} imports {target}" for name, targets in graph.items()
              for target in targets
              if WINGS[target.split(".")[0]] > WINGS[name.split(".")[0]]]
    assert upward == []


def test_no_module_imports_itself_back_through_others():
    graph = _imports(_modules())
    # A package's __init__ is run by importing any of its modules: not an edge back.
    graph = {name: {t for t in targets if not name.startswith(t + ".")}
             for name, targets in graph.items()}
    circles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                circles.append(" -> ".join([*path[path.index(target):], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []
