"""The execution-log schema (version 1): one executed workflow per record.

A record is a JSON object::

    {"schema_version": 1, "id": "...", "source": "synthetic", "instruction": "...",
     "subtasks": [{"id", "type", "description", "input_tokens", "output_tokens",
                   "depends_on": [subtask ids], "model": model name or null}],
     "execution": [{"subtask", "model", "attempt", "success", "cost_usd", "latency_s",
                    "start_s", "end_s", "error" (optional)}],
     "outcome": {"success", "total_cost_usd", "makespan_s"}}

``model`` of a subtask is the model chosen for it: that of its first attempt (null if
it never ran); retries, possibly on other models, are in ``execution``. ``error`` (a
boolean, false when absent) marks a call that answered with an error instead of a
result: a down model's time-out, or a model unable to do the subtask's type. Logs
written before the field existed read as error-free.
:func:`validate_record` checks one parsed record against a :class:`World` and raises
:class:`LogValidationError` naming the record and field of the first problem.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import networkx as nx

from orchestai.errors import UserInputError
from orchestai.world.workflow import WorkflowSpec, topological_order
from orchestai.world.world import World

SCHEMA_VERSION = 1
# bounds that keep every quantity finite in the env's float32 observations and sane as data
MAX_TOKENS = 10_000_000
MAX_COST_USD = 1_000_000.0
MAX_SECONDS = 10_000_000.0


class LogValidationError(UserInputError):
    """An execution log is invalid; names the file, record (index and id) and field."""

    def __init__(
        self,
        path: str,
        problem: str,
        record: int | None = None,
        record_id: Any = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.path, self.problem, self.record, self.record_id, self.field, self.line = (
            path,
            problem,
            record,
            record_id,
            field,
            line,
        )
        where = [path]
        if line is not None:
            where.append(f"line {line}")
        if record is not None:
            where.append(f"record {record}" + (f" (id {record_id!r})" if record_id is not None else ""))
        if field is not None:
            where.append(f"field {field}")
        super().__init__(": ".join(where) + f": {problem}")


@dataclass(frozen=True)
class SubtaskRecord:
    """One planned subtask of a logged workflow."""

    id: str
    type: str
    description: str
    input_tokens: int
    output_tokens: int
    depends_on: list[str]
    model: str | None


@dataclass(frozen=True)
class AttemptRecord:
    """One call of a model on a subtask."""

    subtask: str
    model: str
    attempt: int
    success: bool
    cost_usd: float
    latency_s: float
    start_s: float
    end_s: float
    error: bool = False


@dataclass(frozen=True)
class OutcomeRecord:
    """How the whole workflow ended."""

    success: bool
    total_cost_usd: float
    makespan_s: float


@dataclass(frozen=True)
class ExecutionLog:
    """One executed workflow, as stored in a log file."""

    id: str
    instruction: str
    subtasks: list[SubtaskRecord]
    execution: list[AttemptRecord]
    outcome: OutcomeRecord
    source: str = "synthetic"
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, keys in schema order."""
        data = asdict(self)
        return {k: data[k] for k in ("schema_version", "id", "source", "instruction", "subtasks", "execution", "outcome")}

    def topological_positions(self) -> list[int]:
        """Positions of the subtasks in a topological order (stable: lowest position first)."""
        position = {s.id: i for i, s in enumerate(self.subtasks)}
        return topological_order([[position[d] for d in s.depends_on] for s in self.subtasks])

    def to_workflow(self, world: World) -> WorkflowSpec:
        """The workflow's structure, subtasks in :meth:`topological_positions` order."""
        order = self.topological_positions()
        new_index = {self.subtasks[old].id: new for new, old in enumerate(order)}
        ordered = [self.subtasks[i] for i in order]
        return WorkflowSpec(
            id=self.id,
            instruction=self.instruction,
            types=tuple(world.type_index[s.type] for s in ordered),
            input_tokens=tuple(s.input_tokens for s in ordered),
            output_tokens=tuple(s.output_tokens for s in ordered),
            parents=tuple(tuple(sorted(new_index[d] for d in s.depends_on)) for s in ordered),
            descriptions=tuple(s.description for s in ordered),
        )

    def input_quality_in_order(self, world: World) -> tuple[float, ...]:
        """Per subtask in :meth:`topological_positions` order: the lowest skill among the
        models that produced its parents' results (1.0 for a subtask without parents),
        the input quality the simulator used."""
        succeeded = {a.subtask: a.model for a in self.execution if a.success}
        type_of = {s.id: world.type_index[s.type] for s in self.subtasks}
        quality = []
        for i in self.topological_positions():
            values = [
                float(world.skill[type_of[d], world.model_index[succeeded[d]]])
                for d in self.subtasks[i].depends_on
                if d in succeeded
            ]
            quality.append(min(values, default=1.0))
        return tuple(quality)

    def models_in_order(self, world: World) -> tuple[int, ...]:
        """Model index of each subtask in :meth:`topological_positions` order (-1: never ran)."""
        return tuple(
            -1 if (name := self.subtasks[i].model) is None else world.model_index[name] for i in self.topological_positions()
        )


class _Checker:
    """Field-by-field checks of one record, raising on the first problem."""

    def __init__(self, path: str, index: int, record_id: Any) -> None:
        self.path, self.index, self.record_id = path, index, record_id

    def fail(self, field: str, problem: str) -> None:
        raise LogValidationError(self.path, problem, self.index, self.record_id, field)

    def get(self, obj: dict[str, Any], key: str, kind: type | tuple[type, ...], field: str, nullable: bool = False) -> Any:
        if key not in obj:
            self.fail(field, "missing")
        value = obj[key]
        if value is None and nullable:
            return None
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(field, f"expected a number, got {type(value).__name__}")
            if not math.isfinite(value) or value < 0:
                self.fail(field, f"must be a finite number >= 0, got {value!r}")
            return float(value)
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            self.fail(field, f"expected an integer, got {type(value).__name__}")
        if kind is not int and not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.fail(field, f"expected {names}, got {type(value).__name__}")
        return value

    def object(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(field, f"expected an object, got {type(value).__name__}")
        return value


def _check_calls(
    check: _Checker, subtasks: list[SubtaskRecord], execution: list[AttemptRecord], outcome: OutcomeRecord
) -> None:
    """The execution records in an order an executor can have written them, and the fields that summarise them agreeing."""
    parents = {s.id: s.depends_on for s in subtasks}
    attempts: dict[str, int] = {}
    first_model: dict[str, str] = {}
    succeeded: set[str] = set()
    for i, call in enumerate(execution):
        f = f"execution[{i}]"
        if call.subtask in succeeded:
            check.fail(f"{f}.subtask", f"subtask {call.subtask!r} is called again after it succeeded")
        waiting = [p for p in parents[call.subtask] if p not in succeeded]
        if waiting:
            check.fail(f"{f}.subtask", f"subtask {call.subtask!r} is called before its dependencies {waiting} succeeded")
        expected = attempts.get(call.subtask, 0) + 1
        if call.attempt != expected:
            check.fail(f"{f}.attempt", f"is {call.attempt} but this is call {expected} of subtask {call.subtask!r}")
        attempts[call.subtask] = expected
        first_model.setdefault(call.subtask, call.model)
        if call.success:
            succeeded.add(call.subtask)
    for i, s in enumerate(subtasks):
        if s.model != first_model.get(s.id):
            check.fail(f"subtasks[{i}].model", f"is {s.model!r} but its first call went to {first_model.get(s.id)!r}")
    if outcome.success != (len(succeeded) == len(subtasks)):
        done = f"{len(succeeded)} of {len(subtasks)} subtasks succeeded"
        check.fail("outcome.success", f"is {str(outcome.success).lower()} but {done}")
    makespan = max((a.end_s for a in execution), default=0.0)
    if not math.isclose(outcome.makespan_s, makespan, rel_tol=1e-6, abs_tol=1e-6):
        check.fail("outcome.makespan_s", f"is {outcome.makespan_s!r} but the last call ends at {makespan!r}")


def validate_record(data: Any, world: World, path: str = "<memory>", index: int = 0) -> ExecutionLog:
    """Check one parsed record against the schema and ``world``; return it typed."""
    record_id = data.get("id") if isinstance(data, dict) else None
    check = _Checker(path, index, record_id)
    record = check.object(data, "<record>")
    version = check.get(record, "schema_version", int, "schema_version")
    if version != SCHEMA_VERSION:
        check.fail("schema_version", f"unsupported version {version} (this OrchestAI reads {SCHEMA_VERSION})")
    log_id = check.get(record, "id", str, "id")
    source = record.get("source", "synthetic")
    if not isinstance(source, str):
        check.fail("source", "expected str")
    instruction = check.get(record, "instruction", str, "instruction")
    if not instruction.strip():
        check.fail("instruction", "must not be empty")
    raw_subtasks = check.get(record, "subtasks", list, "subtasks")
    if not raw_subtasks:
        check.fail("subtasks", "must not be empty")
    max_subtasks = world.config.templates.max_subtasks
    if len(raw_subtasks) > max_subtasks:
        check.fail("subtasks", f"{len(raw_subtasks)} subtasks, more than the world's templates.max_subtasks = {max_subtasks}")
    subtasks: list[SubtaskRecord] = []
    for i, raw in enumerate(raw_subtasks):
        f = f"subtasks[{i}]"
        obj = check.object(raw, f)
        type_name = check.get(obj, "type", str, f"{f}.type")
        if type_name not in world.type_index:
            check.fail(f"{f}.type", f"unknown task type {type_name!r}")
        model = check.get(obj, "model", str, f"{f}.model", nullable=True)
        if model is not None and model not in world.model_index:
            check.fail(f"{f}.model", f"unknown model {model!r}")
        depends_on = check.get(obj, "depends_on", list, f"{f}.depends_on")
        for j, dep in enumerate(depends_on):
            if not isinstance(dep, str):
                check.fail(f"{f}.depends_on[{j}]", f"expected a subtask id (str), got {type(dep).__name__}")
        subtasks.append(
            SubtaskRecord(
                id=check.get(obj, "id", str, f"{f}.id"),
                type=type_name,
                description=check.get(obj, "description", str, f"{f}.description"),
                input_tokens=check.get(obj, "input_tokens", int, f"{f}.input_tokens"),
                output_tokens=check.get(obj, "output_tokens", int, f"{f}.output_tokens"),
                depends_on=list(depends_on),
                model=model,
            )
        )
    ids = {}
    for i, s in enumerate(subtasks):
        if s.id in ids:
            check.fail(f"subtasks[{i}].id", f"duplicate subtask id {s.id!r}")
        ids[s.id] = i
        for name in ("input_tokens", "output_tokens"):
            if not 0 <= getattr(s, name) <= MAX_TOKENS:
                check.fail(f"subtasks[{i}].{name}", f"must be within [0, {MAX_TOKENS:,}], got {getattr(s, name)}")
    graph = nx.DiGraph()
    graph.add_nodes_from(ids)
    for i, s in enumerate(subtasks):
        for j, dep in enumerate(s.depends_on):
            if dep not in ids:
                check.fail(f"subtasks[{i}].depends_on[{j}]", f"depends on unknown subtask id {dep!r}")
            graph.add_edge(dep, s.id)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        first = ids[cycle[0][1]]
        loop = " -> ".join([cycle[0][0]] + [edge[1] for edge in cycle])
        check.fail(f"subtasks[{first}].depends_on", f"cyclic dependencies: {loop}")
    execution: list[AttemptRecord] = []
    for i, raw in enumerate(check.get(record, "execution", list, "execution")):
        f = f"execution[{i}]"
        obj = check.object(raw, f)
        subtask = check.get(obj, "subtask", str, f"{f}.subtask")
        if subtask not in ids:
            check.fail(f"{f}.subtask", f"unknown subtask id {subtask!r}")
        model = check.get(obj, "model", str, f"{f}.model")
        if model not in world.model_index:
            check.fail(f"{f}.model", f"unknown model {model!r}")
        attempt = check.get(obj, "attempt", int, f"{f}.attempt")
        if attempt < 1:
            check.fail(f"{f}.attempt", "must be >= 1")
        attempt_record = AttemptRecord(
            subtask=subtask,
            model=model,
            attempt=attempt,
            success=check.get(obj, "success", bool, f"{f}.success"),
            cost_usd=check.get(obj, "cost_usd", float, f"{f}.cost_usd"),
            latency_s=check.get(obj, "latency_s", float, f"{f}.latency_s"),
            start_s=check.get(obj, "start_s", float, f"{f}.start_s"),
            end_s=check.get(obj, "end_s", float, f"{f}.end_s"),
            error=check.get(obj, "error", bool, f"{f}.error") if "error" in obj else False,
        )
        if attempt_record.cost_usd > MAX_COST_USD:
            check.fail(f"{f}.cost_usd", f"must be <= {MAX_COST_USD:,.0f}, got {attempt_record.cost_usd!r}")
        for name in ("latency_s", "start_s", "end_s"):
            if getattr(attempt_record, name) > MAX_SECONDS:
                check.fail(f"{f}.{name}", f"must be <= {MAX_SECONDS:,.0f}, got {getattr(attempt_record, name)!r}")
        if attempt_record.end_s < attempt_record.start_s:
            check.fail(f"{f}.end_s", "ends before it starts")
        if not math.isclose(
            attempt_record.end_s - attempt_record.start_s, attempt_record.latency_s, rel_tol=1e-6, abs_tol=1e-6
        ):
            check.fail(
                f"{f}.latency_s",
                f"is {attempt_record.latency_s!r} but end_s - start_s is {attempt_record.end_s - attempt_record.start_s!r}",
            )
        if attempt_record.error and attempt_record.success:
            check.fail(f"{f}.error", "a call cannot both succeed and answer with an error")
        task_type = subtasks[ids[subtask]].type
        if not world.capable[world.type_index[task_type], world.model_index[model]] and (
            attempt_record.success or not attempt_record.error or attempt_record.cost_usd > 0
        ):
            check.fail(
                f"{f}.model",
                f"{model!r} cannot do task type {task_type!r}: such a call fails with an error and costs nothing",
            )
        execution.append(attempt_record)
    out = check.object(check.get(record, "outcome", dict, "outcome"), "outcome")
    outcome = OutcomeRecord(
        success=check.get(out, "success", bool, "outcome.success"),
        total_cost_usd=check.get(out, "total_cost_usd", float, "outcome.total_cost_usd"),
        makespan_s=check.get(out, "makespan_s", float, "outcome.makespan_s"),
    )
    spent = sum(a.cost_usd for a in execution)
    if not math.isclose(spent, outcome.total_cost_usd, rel_tol=1e-6, abs_tol=1e-9):
        check.fail("outcome.total_cost_usd", f"is {outcome.total_cost_usd!r} but the execution records sum to {spent!r}")
    _check_calls(check, subtasks, execution, outcome)
    return ExecutionLog(
        id=log_id,
        instruction=instruction,
        subtasks=subtasks,
        execution=execution,
        outcome=outcome,
        source=source,
        schema_version=version,
    )
