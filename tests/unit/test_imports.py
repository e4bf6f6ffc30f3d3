"""The module graph of host/otpfob and firmware/fob, read from each module's
imports: no import cycle, and no module uses another module's private name
(`from x import _name` or `x._name`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from otpfob import paths

TREES = {"otpfob": paths.REPO / "host" / "otpfob", "fob": paths.FIRMWARE / "fob"}
# MicroPython code that runs in the emulated token's child process, not as
# part of the package (it imports the firmware by its flat name).
SKIP = ("otpfob.emu.device", "otpfob.emu.rp2.manifest")


def _modules() -> dict[str, Path]:
    out = {}
    for top, root in TREES.items():
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root).with_suffix("")
            parts = [top, *rel.parts]
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join(parts)
            if not name.startswith(SKIP):
                out[name] = path
    return out


MODULES = _modules()


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_pkg:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(name: str, path: Path) -> list[tuple[str, str | None, int]]:
    """(imported module, name taken from it or None, line) for every import."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    out: list[tuple[str, str | None, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = _resolve(name, is_pkg, node)
            for a in node.names:
                sub = f"{mod}.{a.name}"
                if sub in MODULES:  # `from pkg import module`
                    out.append((sub, None, node.lineno))
                else:
                    out.append((mod, a.name, node.lineno))
    return [(m, n, ln) for m, n, ln in out if m.split(".")[0] in TREES]


def _aliases(path: Path) -> dict[str, str]:
    """Local names bound to one of our modules (`from fob import ui`, `import fob.x as y`)."""
    tree = ast.parse(path.read_text(), str(path))
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                if f"{node.module}.{a.name}" in MODULES:
                    out[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.ImportFrom) and node.level:
            for a in node.names:
                out[a.asname or a.name] = a.name  # relative: checked by name only
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.asname and a.name in MODULES:
                    out[a.asname] = a.name
    return out


def test_the_trees_are_found():
    assert "fob.server" in MODULES and "otpfob.session" in MODULES and "otpfob.emu.token" in MODULES


def test_no_import_cycle():
    graph = {
        name: {m for m, _, _ in _imports(name, path) if m in MODULES and m != name} for name, path in MODULES.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                cycles.append(stack[stack.index(m) :] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_name_from_another_module(name):
    path = MODULES[name]
    bad = []
    for mod, imported, line in _imports(name, path):
        if imported and imported.startswith("_") and not imported.startswith("__") and mod != name:
            bad.append(f"line {line}: from {mod} import {imported}")
    aliases = _aliases(path)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            bad.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    assert not bad, f"{name} uses private names of other modules: " + "; ".join(bad)
