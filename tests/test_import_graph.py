"""The project's import graph, read from the source with `ast` (nothing is imported): dependencies run one way,
archbench -> suites -> archs -> harness, with no cycle among the modules and no project import hidden inside a
function body (where it would dodge a cycle or an upward arrow) except a few deliberate lazy heavy imports at the
command line's entry points."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("archbench", "harness", "archs", "suites")
LAYERS = {"harness": 0, "archs": 1, "suites": 2, "archbench": 3}      # a package imports only lower layers

# (module, imported module): imports inside a function body on purpose
LAZY = {
    # `archbench list/analyze/run` need the registry of architectures; --help and bad flags should not load it
    ("archbench.cli", "archs"),
    # `archbench analyze config.json`: the HF config reader, only for that command
    ("archbench.cli", "archs.hf"),
    # `archbench analyze`: counts, FLOPs, cache and the recorded differences from the real model
    ("archbench.cli", "archbench.analyze"),
    # `archbench run` needs every suite module (and torch, triton) loaded; other commands do not
    ("archbench.cli", "suites"),
    # `archbench run --suites loss_curves`: the suite's training setting, checked before the run starts
    ("archbench.cli", "suites.loss_curves"),
    # the claims and the report's inputs (suites, MVP pages) load every suite: only when a command judges or renders
    ("archbench.cli", "archbench.report_inputs"),
    # `archbench check`: document folders' models and the suites their claims name
    ("archbench.cli", "archbench.check"),
    # `archbench list`: the registries of architectures and suites, loaded only to list them
    ("archbench.cli", "archbench.listing"),
    # `archbench compare-archs`: the architectures' formulas and the suites' analytic rows
    ("archbench.cli", "archbench.compare_archs"),
}


def module_files() -> dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


MODULES = module_files()


def _target(module: str, node: ast.ImportFrom | ast.Import, alias: ast.alias) -> str | None:
    """The project module an import names: `from a.b import c` is `a.b.c` when that is a module, else `a.b`."""
    if isinstance(node, ast.Import):
        name = alias.name
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
            base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
        name = f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
    while name and name not in MODULES:                  # `import a.b.c` where only `a.b` is ours, or not ours
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> tuple[set[str], set[str]]:
    """(project modules imported at module level, project modules imported inside a function body)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    top, local = set(), set()

    def walk(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for alias in child.names:
                    target = _target(module, child, alias)
                    if target and target != module:
                        (local if in_function else top).add(target)
            walk(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    walk(tree, False)
    return top, local


GRAPH = {module: imports(module) for module in MODULES}


def test_the_walk_sees_the_project():
    """Control: the graph holds the modules and arrows every import chain of the project starts from."""
    assert {"archbench.cli", "harness.store.results", "harness.claims.model", "archs", "suites"} <= set(MODULES)
    assert "harness.store.verdicts" in GRAPH["harness.claims.model"][0]
    assert "harness.errors" in GRAPH["harness.store.results"][0]


def test_no_import_cycle_among_project_modules():
    edges = {m: top for m, (top, _) in GRAPH.items()}
    state: dict[str, int] = {}                          # 1: on the current path, 2: done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_down_the_layers(package):
    """harness imports nothing from archs, suites or archbench; archs nothing from suites or archbench; suites
    nothing from archbench (module level and function bodies alike)."""
    upward = sorted(f"{m} -> {t}" for m, (top, local) in GRAPH.items() if m.split(".")[0] == package
                    for t in top | local if LAYERS[t.split(".")[0]] > LAYERS[package])
    assert upward == [], "\n".join(upward)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_project_import_inside_a_function(package):
    hidden = sorted(f"{m} -> {t}" for m, (_, local) in GRAPH.items() if m.split(".")[0] == package
                    for t in local if (m, t) not in LAZY)
    assert hidden == [], "\n".join(hidden)


def test_every_lazy_import_is_still_there():
    """The allow-list shrinks with the code: an entry nobody needs any more is removed."""
    assert sorted(f"{m} -> {t}" for m, t in LAZY if t not in GRAPH[m][1]) == []
