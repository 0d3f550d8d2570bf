"""The package layering of README "How data flows", enforced: imports only go down, and no module cycle.

Every `import gate.x` / `from gate.x import` in gate/ (at module level or inside a function: a lazy
import is still a dependency) is read with `ast`. A package may import its own modules and the
packages of lower layers; never a higher layer, never another package of its own layer. Separately,
the module graph must have no cycle. The test of the test plants both kinds of violation.
"""

from __future__ import annotations

import ast
from pathlib import Path

GATE = Path(__file__).resolve().parents[1] / "gate"

# Bottom to top. A package may import only packages listed in lower rows (and itself).
LAYERS: list[tuple[str, ...]] = [
    ("gate", "gate.errors"),  # the version string and the errors every layer raises
    ("gate.inputs",),  # the one reader of input files: exists -> parse JSON/YAML within bounds -> validate
    ("gate.storage", "gate.machine", "gate.locations"),  # atomic files and hashes; this machine; where things live
    ("gate.stages",),  # wall time per stage of the gate's own work (bench/gate_time.py)
    ("gate.provenance",),  # versions, machine facts, commit, time: recorded beside every number
    ("gate.policy", "gate.history"),  # the policy schema and its judging; the history database
    ("gate.data",),  # COCO datasets, importers, the synthetic sign world
    ("gate.cards",),  # what a model is: card, class map, recipe schema, RT-DETR architecture
    ("gate.suites", "gate.eval"),  # versioned scenario suites; pycocotools-exact evaluation and bootstrap
    ("gate.results",),  # typed stage artifacts, results folders, the verdict
    ("gate.backends",),  # deployment forms: torch, ONNX, INT8, TensorRT; consistency, parity, latency
    ("gate.models",),  # training, ingesting and evaluating detectors
    ("gate.run", "gate.mining"),  # a model through suites and backends; mining the long tail
    ("gate.baselines",),  # promoted baselines
    ("gate.compare",),  # results against a baseline under a policy -> verdict
    ("gate.report",),  # HTML / Markdown / JUnit / sign-off from a verdict
    ("gate.integrations",),  # results handed to other tools: FiftyOne datasets, MLflow runs and registry
    ("gate.workflow",),  # run or reuse -> compare -> save the verdict -> reports -> history -> CI annotations
    ("gate.demo", "gate.signoff"),  # the two fixed uses of the workflow: the demo and the release sign-off
    ("gate.cli",),  # parse, call one library function, print, set the exit code
    ("gate.__main__",),
]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package-internal modules it imports (resolved to modules that exist)."""
    top = root.name
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # `from gate.x import y` imports module gate.x.y when y is a module, else gate.x
                found = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                         for a in node.names]
            else:
                continue
            targets.update(t for t in found if t.split(".")[0] == top and t in modules and t != name)
        graph[name] = targets
    return graph


def package_of(module: str, layers: list[tuple[str, ...]]) -> str:
    """The most specific package named in `layers` that contains `module`."""
    known = [p for row in layers for p in row if module == p or module.startswith(p + ".")]
    if not known:
        raise AssertionError(f"module {module} belongs to no layer: add its package to LAYERS")
    return max(known, key=len)


def layering_violations(graph: dict[str, set[str]], layers: list[tuple[str, ...]]) -> list[str]:
    level = {p: i for i, row in enumerate(layers) for p in row}
    problems = []
    for module, targets in sorted(graph.items()):
        source = package_of(module, layers)
        for target in sorted(targets):
            dest = package_of(target, layers)
            if dest == source:
                continue
            if level[dest] > level[source]:
                problems.append(f"{module} imports {target}: {dest} is a higher layer than {source}")
            elif level[dest] == level[source]:
                problems.append(f"{module} imports {target}: {dest} and {source} are one layer, independent")
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_inits_without_docstring(root: Path) -> list[str]:
    return [str(p.relative_to(root.parent)) for p in sorted(root.rglob("__init__.py"))
            if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))]


def test_imports_only_go_down_the_layers():
    assert layering_violations(import_graph(GATE), LAYERS) == []


def test_no_module_import_cycle():
    assert cycles(import_graph(GATE)) == []


def test_every_package_says_what_it_owns():
    assert package_inits_without_docstring(GATE) == []


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_checks_catch_a_planted_upward_import_and_a_cycle(tmp_path):
    layers = [("pkg",), ("pkg.low",), ("pkg.mid_a", "pkg.mid_b"), ("pkg.high",)]
    clean = _plant(tmp_path / "clean", {
        "__init__.py": "", "low/__init__.py": "", "low/a.py": "X = 1\n",
        "mid_a/__init__.py": "from pkg.low.a import X\n", "mid_b/__init__.py": "",
        "high/__init__.py": "def f():\n    from pkg.mid_a import X\n",
    })
    assert layering_violations(import_graph(clean), layers) == [] and cycles(import_graph(clean)) == []

    bad = _plant(tmp_path / "bad", {
        "__init__.py": "", "low/__init__.py": "",
        "low/a.py": "def f():\n    from pkg.high import g\n",  # upward, even though lazy
        "low/b.py": "import pkg.low.c\n", "low/c.py": "from pkg.low import b\n",  # a cycle inside one package
        "mid_a/__init__.py": "from pkg.mid_b import Y\n", "mid_b/__init__.py": "Y = 2\n",  # sideways
        "high/__init__.py": "def g():\n    pass\n",
    })
    problems = layering_violations(import_graph(bad), layers)
    assert any(p.startswith("pkg.low.a imports pkg.high:") and "higher layer" in p for p in problems)
    assert any(p.startswith("pkg.mid_a imports pkg.mid_b:") and "independent" in p for p in problems)
    assert cycles(import_graph(bad)) == [["pkg.low.b", "pkg.low.c"]]
