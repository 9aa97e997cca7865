"""The layering rule of docs/architecture.md: every import points down, no cycles, CLI modules imported by nothing.

The imports are read with ``ast`` (function-level imports included), so the rule holds
for lazy imports too. The checker is also run on a small planted tree, to show that it
fails where it should.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "orchestai"

# lowest first; a module may import its own package and any lower layer
LAYERS: tuple[tuple[str, ...], ...] = (
    ("configuration", "paths", "errors", "cli", "files", "rundir"),  # foundation
    ("world",),
    ("logs",),
    ("envs",),
    ("agents",),
    ("data",),
    ("planner",),
    ("outcomes",),
    ("policies",),
    ("phase1",),
    ("phase2",),
    ("routing", "plan", "execute", "serve"),
    ("evaluate", "route"),
    ("sweep",),
    ("__main__",),  # the main job
)
FOUNDATION = LAYERS[0]
# command-line modules: entry points only, imported by no module of the package
CLI_MODULES = {
    "orchestai.__main__", "orchestai.phase1.train", "orchestai.phase2.ppo",
    "orchestai.evaluate.__main__", "orchestai.plan.__main__", "orchestai.sweep.__main__",
    "orchestai.phase1.outcomes", "orchestai.routing.calibrate", "orchestai.route.__main__",
    "orchestai.execute.__main__", "orchestai.execute.plans_cli", "orchestai.serve.replay",
}  # fmt: skip


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str, package: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                package_parts = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = package_parts[: len(package_parts) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # `from orchestai.x import y` may import the module orchestai.x.y
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name == package or name.startswith(package + ".")}


def import_graph(root: Path) -> nx.DiGraph:
    """Module -> imported module, for every module of the package at ``root`` (only modules that exist)."""
    package = root.name
    modules = {_module_name(p, root): p for p in root.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for module, path in modules.items():
        for target in _imports(path, module, package):
            if target in modules and target != module:
                graph.add_edge(module, target)
    return graph


def _layer(module: str) -> tuple[int, str]:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank, top
    raise AssertionError(f"{module}: not in any layer of LAYERS (add its package to docs/architecture.md and this test)")


def layering_violations(graph: nx.DiGraph) -> list[str]:
    """Every import that breaks the rule, as one readable line each."""
    problems = []
    for source, target in graph.edges:
        if source.count(".") == 0:  # the package's __init__ registers the envs: it sits above every layer
            continue
        (source_rank, source_top), (target_rank, target_top) = _layer(source), _layer(target)
        if target == "orchestai":
            problems.append(f"{source} imports the package root (import the module that defines the name)")
        elif target in CLI_MODULES:
            problems.append(f"{source} imports the command-line module {target}")
        elif target_rank > source_rank:
            problems.append(f"{source} (layer {source_top}) imports {target} from the higher layer {target_top}")
        elif target_rank == source_rank and target_top != source_top and source_top not in FOUNDATION:
            problems.append(f"{source} imports {target}: same layer, other package")
    for cycle in nx.simple_cycles(graph):
        if all(module.count(".") > 0 for module in cycle):
            first = cycle.index(min(cycle))  # a fixed rotation, so the message is the same every run
            cycle = cycle[first:] + cycle[:first]
            problems.append("import cycle: " + " -> ".join([*cycle, cycle[0]]))
    return sorted(problems)


def test_every_import_points_down_and_there_is_no_cycle():
    graph = import_graph(PACKAGE_ROOT)
    assert graph.number_of_edges() > 100  # the parser sees the package's imports
    assert layering_violations(graph) == []


@pytest.mark.parametrize(
    ("planted", "expected"),
    [
        (
            "world/config.py",
            "orchestai.world.config (layer world) imports orchestai.envs.workflow_env from the higher layer envs",
        ),
        ("envs/spaces.py", "import cycle: orchestai.envs.spaces -> orchestai.envs.workflow_env -> orchestai.envs.spaces"),
    ],
)
def test_the_checker_fails_on_a_planted_upstream_import_or_cycle(tmp_path: Path, planted: str, expected: str):
    root = tmp_path / "orchestai"
    for name in ("__init__.py", "world/__init__.py", "world/config.py", "envs/__init__.py", "envs/spaces.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")
    (root / "envs" / "workflow_env.py").write_text(
        "from orchestai.world.config import X\nfrom orchestai.envs.spaces import Y\n"
    )
    assert layering_violations(import_graph(root)) == []
    (root / planted).write_text("def lazy():\n    from orchestai.envs.workflow_env import WorkflowEnv\n")
    problems = layering_violations(import_graph(root))
    assert any(expected in problem for problem in problems), problems


def test_a_cli_module_imported_by_library_code_is_reported(tmp_path: Path):
    root = tmp_path / "orchestai"
    for name in ("__init__.py", "phase1/__init__.py", "phase1/train.py", "evaluate/__init__.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")
    (root / "evaluate" / "planning.py").write_text("from orchestai.phase1.train import main\n")
    assert layering_violations(import_graph(root)) == [
        "orchestai.evaluate.planning imports the command-line module orchestai.phase1.train"
    ]
