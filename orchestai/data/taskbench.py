"""Importer of TaskBench-format plan files (``task_nodes`` / ``task_links``), e.g. UltraTool, RestBench.

A file is JSON Lines (or a JSON list) of records ``{"id", "user_request",
"task_nodes": [{"task": name}], "task_links": [{"source": name, "target": name}]}``,
optionally with ``"task_steps": ["Step 1 Call name to <what it does>", ...]``.
Links name tools, not positions; when a tool occurs twice in a plan, a link is mapped
to the nearest pair of occurrences in plan order (source before target) not used yet.
A step that names a tool of its plan becomes one of the example's ``step_clauses``
(other steps, "Step 3 Save the booking number", say, describe no tool call and are left
out of them).
Every problem raises :class:`LogValidationError` naming the file, record and field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from orchestai.data.examples import PlanExample
from orchestai.files import InputFileError, parse_json, read_text
from orchestai.logs.io import iter_raw_records
from orchestai.logs.schema import LogValidationError
from orchestai.world.workflow import topological_order

# "Step 2 Call clock_alarm_set to set a new alarm for 7 am" (UltraTool's task_steps)
STEP_PATTERN = re.compile(r"^Step\s*\d+\s*[:.]?\s*Call\s+(\S+?)\s+to\s+(\S.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class TaskBenchData:
    """Plans of a TaskBench-format file, the tool catalogue they index into, its descriptions and tool graph.

    ``descriptions[t]`` is tool t's ``desc`` in ``tool_desc.json`` ("" without one);
    ``allowed_edges`` are the ``[source, target]`` tool indices of ``graph_desc.json``'s
    links (empty when the folder has no graph).
    """

    examples: list[PlanExample]
    type_names: list[str]
    descriptions: list[str] = field(default_factory=list)
    allowed_edges: list[list[int]] = field(default_factory=list)


def _read_json_file(path: Path) -> object:
    try:
        return parse_json(read_text(path), str(path))
    except InputFileError as error:
        raise LogValidationError(str(path), error.problem, line=error.line) from None


def read_tool_graph(path: str | Path, index: dict[str, int]) -> list[list[int]]:
    """The ``[source, target]`` tool indices of a TaskBench ``graph_desc.json``'s ``links``."""
    data = _read_json_file(Path(path))
    links = data.get("links") if isinstance(data, dict) else None
    if not isinstance(links, list):
        raise LogValidationError(str(path), 'expected {"links": [{"source": ..., "target": ...}, ...]}', field="links")
    edges = []
    for k, link in enumerate(links):
        ends = [link.get(e) if isinstance(link, dict) else None for e in ("source", "target")]
        for end, name in zip(("source", "target"), ends, strict=True):
            if name not in index:
                raise LogValidationError(
                    str(path), f"unknown tool {name!r} (not in the catalogue)", k, field=f"links[{k}].{end}"
                )
        edges.append([index[ends[0]], index[ends[1]]])  # type: ignore[index]
    return [list(e) for e in sorted({(s, t) for s, t in edges})]


def read_tool_catalogue(path: str | Path) -> tuple[list[str], dict[str, str]]:
    """Tool names of a TaskBench ``tool_desc.json`` (``{"nodes": [{"id": ..., "desc": ...}]}``) and their descriptions."""
    data = _read_json_file(Path(path))
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if not isinstance(nodes, list):
        raise LogValidationError(str(path), 'expected {"nodes": [{"id": ...}, ...]}', field="nodes")
    names, described = [], {}
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or not isinstance(node.get("id"), str) or not node["id"]:
            raise LogValidationError(str(path), "a tool needs a non-empty string id", i, field=f"nodes[{i}].id")
        if not isinstance(node.get("desc", ""), str):
            raise LogValidationError(str(path), "a tool's desc must be a string", i, field=f"nodes[{i}].desc")
        names.append(node["id"])
        described[node["id"]] = " ".join(node.get("desc", "").split())
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise LogValidationError(str(path), f"duplicate tool id {duplicate!r}", field="nodes")
    return names, described


def load_taskbench(path: str | Path, type_names: list[str] | None = None, max_subtasks: int = 32) -> TaskBenchData:
    """Read a TaskBench-format plan file.

    ``type_names`` is the tool catalogue; by default the ``tool_desc.json`` beside the
    file when there is one, else every tool the file mentions (sorted). A tool outside
    a given catalogue is an error.
    """
    path = Path(path)
    catalogue, graph = path.parent / "tool_desc.json", path.parent / "graph_desc.json"
    catalogue_names, described = read_tool_catalogue(catalogue) if catalogue.exists() else (None, {})
    if type_names is None:
        type_names = catalogue_names
    raw_records = list(iter_raw_records(path))
    if type_names is None:
        names = set()
        for _, _, record in raw_records:
            for node in record.get("task_nodes", []) if isinstance(record, dict) else []:
                if isinstance(node, dict) and isinstance(node.get("task"), str):
                    names.add(node["task"])
        type_names = sorted(names)
    index = {name: i for i, name in enumerate(type_names)}
    examples = [_parse(record, i, str(path), index, max_subtasks) for i, _, record in raw_records]
    allowed = read_tool_graph(graph, index) if graph.exists() else []
    return TaskBenchData(examples, list(type_names), [described.get(n, "") for n in type_names], allowed)


def _parse(record: object, i: int, path: str, index: dict[str, int], max_subtasks: int) -> PlanExample:
    record_id = record.get("id") if isinstance(record, dict) else None

    def fail(field: str, problem: str) -> LogValidationError:
        return LogValidationError(path, problem, i, record_id, field)

    if not isinstance(record, dict):
        raise fail("<record>", "expected an object")
    if not isinstance(record_id, (str, int)):
        raise fail("id", "missing or not a string/integer")
    request = record.get("user_request")
    if not isinstance(request, str):
        raise fail("user_request", "missing or not a string")
    nodes = record.get("task_nodes")
    if not isinstance(nodes, list) or not nodes:
        raise fail("task_nodes", "missing or empty")
    names = []
    for k, node in enumerate(nodes):
        name = node.get("task") if isinstance(node, dict) else None
        if not isinstance(name, str):
            raise fail(f"task_nodes[{k}].task", "missing or not a string")
        if name not in index:
            raise fail(f"task_nodes[{k}].task", f"unknown tool {name!r} (not in the catalogue)")
        names.append(name)
    if len(names) > max_subtasks:
        raise fail("task_nodes", f"{len(names)} nodes, more than max_subtasks = {max_subtasks}")
    links = record.get("task_links", [])
    if not isinstance(links, list):
        raise fail("task_links", "not a list")
    parents: list[set[int]] = [set() for _ in names]
    for k, link in enumerate(links):
        if not isinstance(link, dict) or not isinstance(link.get("source"), str) or not isinstance(link.get("target"), str):
            raise fail(f"task_links[{k}]", "expected {source: str, target: str}")
        sources = [p for p, n in enumerate(names) if n == link["source"]]
        targets = [p for p, n in enumerate(names) if n == link["target"]]
        if not sources:
            raise fail(f"task_links[{k}].source", f"names no node of this plan ({link['source']!r})")
        if not targets:
            raise fail(f"task_links[{k}].target", f"names no node of this plan ({link['target']!r})")
        pairs = sorted((t - s, s, t) for s in sources for t in targets if s < t and s not in parents[t])
        if not pairs:
            pairs = [(0, sources[0], targets[0])]  # a backward link: kept, so the cycle check names it
        _, s, t = pairs[0]
        if s == t:
            raise fail(f"task_links[{k}]", "a tool cannot depend on itself")
        parents[t].add(s)
    try:
        order = topological_order([sorted(p) for p in parents])
    except ValueError:
        raise fail("task_links", "cyclic dependencies") from None
    new = {old: k for k, old in enumerate(order)}
    steps = record.get("task_steps", [])
    if not isinstance(steps, list) or not all(isinstance(step, str) for step in steps):
        raise fail("task_steps", "not a list of strings")
    return PlanExample(
        id=str(record_id),
        instruction=request.strip(),
        types=tuple(index[names[old]] for old in order),
        parents=tuple(tuple(sorted(new[p] for p in parents[old])) for old in order),
        models=tuple(-1 for _ in order),
        input_tokens=tuple(0 for _ in order),
        output_tokens=tuple(0 for _ in order),
        step_clauses=_step_clauses(steps, set(names), index),
    )


def _step_clauses(steps: list[str], tools: set[str], index: dict[str, int]) -> tuple[tuple[int, str], ...]:
    """(tool, clause) of each step that calls a tool of its plan, the clause's end punctuation dropped."""
    clauses = []
    for step in steps:
        match = STEP_PATTERN.match(" ".join(step.split()))
        if match and match.group(1) in tools:
            clauses.append((index[match.group(1)], match.group(2).rstrip(" .!;,")))
    return tuple(clauses)
