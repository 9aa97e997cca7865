"""The executor: runs planned workflows against endpoints with asyncio, routing every call, recording everything.

Every workflow is a :class:`~orchestai.envs.live_workflow.LiveWorkflowEnv`: its ready
subtasks run at once (each model within its endpoint's ``max_concurrency``), each
call's model is chosen by the router from the observation ``orchestai/Workflow-v0``
would show at that moment (retries included), a subtask's prompt carries its
dependencies' answers, and every finished call is booked in the env and appended to
the call journal. A workflow ends when every subtask succeeded, one failed
``max_retries + 1`` times, or the run's cost budget is spent; its execution-log record
(``"source": "recorded"``) is then appended to the log. At the deadline unfinished
workflows stay in the journal: ``resume`` rebuilds them from it and goes on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestai.agents.baselines import RoutingPolicy
from orchestai.envs.live_workflow import LiveWorkflowEnv
from orchestai.errors import UserInputError
from orchestai.execute.client import CallResult, EndpointClients, passes_check
from orchestai.execute.config import ExecutionConfig
from orchestai.execute.journal import AppendOnlyLines, read_lines
from orchestai.execute.plans import PlannedWorkflow
from orchestai.world.world import World

RECORDED_SOURCE = "recorded"


@dataclass(frozen=True)
class RunSettings:
    """Limits of one run: retries per subtask, a total cost budget (USD) and a deadline (seconds), both optional."""

    max_retries: int = 2
    cost_budget_usd: float | None = None
    deadline_s: float | None = None
    max_active_workflows: int = 64

    def validate(self) -> None:
        """One-line errors for values out of range."""
        if self.max_retries < 0:
            raise UserInputError(f"--max-retries must be >= 0, got {self.max_retries}")
        if self.cost_budget_usd is not None and not self.cost_budget_usd > 0:
            raise UserInputError(f"--budget-usd must be > 0, got {self.cost_budget_usd}")
        if self.deadline_s is not None and not self.deadline_s > 0:
            raise UserInputError(f"--deadline-s must be > 0, got {self.deadline_s}")
        if self.max_active_workflows < 1:
            raise UserInputError(f"--max-active-workflows must be >= 1, got {self.max_active_workflows}")


@dataclass
class RunSummary:
    """What a run did."""

    workflows: int = 0
    finished: int = 0
    succeeded: int = 0
    calls: int = 0
    errors: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    resumed_calls: int = 0
    deadline_reached: bool = False
    budget_spent: bool = False


@dataclass
class _Workflow:
    plan: PlannedWorkflow
    env: LiveWorkflowEnv
    outputs: dict[int, str] = field(default_factory=dict)
    in_flight: set[int] = field(default_factory=set)
    start: float | None = None  # perf_counter of its first call
    written: bool = False


class Executor:
    """Runs plans; ``journal`` and ``log`` are the two append-only files (see :mod:`orchestai.execute.journal`)."""

    def __init__(
        self,
        world: World,
        router: RoutingPolicy,
        config: ExecutionConfig,
        log_path: Path,
        journal_path: Path,
        settings: RunSettings,
        log: Callable[[str], Any] = print,
    ) -> None:
        self.world, self.router, self.config, self.settings, self.say = world, router, config, settings, log
        self.log_path, self.journal_path = log_path, journal_path
        self.summary = RunSummary()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False
        self._crash: BaseException | None = None
        self._events: list[asyncio.Event] = []

    # ------------------------------------------------------------------ set-up and resume
    def _env(self, plan: PlannedWorkflow) -> LiveWorkflowEnv:
        return LiveWorkflowEnv(self.world, plan.spec, RECORDED_SOURCE, max_retries=self.settings.max_retries)

    def _restore(self, workflows: list[_Workflow]) -> None:
        """Book the journal's calls of unfinished workflows again (``resume``)."""
        by_id = {w.plan.spec.id: w for w in workflows}
        for line, record in enumerate(read_lines(self.journal_path), start=1):
            workflow = by_id.get(str(record.get("workflow")))
            if workflow is None or workflow.written:
                continue
            try:
                i, model = int(record["subtask"]), self.world.model_index[record["model"]]
                float(record["cost_usd"]), float(record["latency_s"]), float(record["start_s"])
                if not 0 <= i < workflow.plan.spec.n_subtasks:
                    raise IndexError(i)
            except (KeyError, TypeError, ValueError, IndexError) as error:
                raise UserInputError(
                    f"{self.journal_path}: line {line}: a call this plan file and world cannot have ({type(error).__name__}: {error}); "
                    "resume with the plans and world of the interrupted run"
                ) from None
            workflow.env.take_ready()
            workflow.env.record(
                i,
                model,
                bool(record["success"]),
                float(record["cost_usd"]),
                float(record["latency_s"]),
                float(record["start_s"]),
                bool(record["error"]),
            )
            if record["success"]:
                workflow.outputs[i] = str(record.get("output", ""))
            self.summary.resumed_calls += 1
            self.summary.cost_usd += float(record["cost_usd"])

    # ------------------------------------------------------------------ running
    async def run(self, plans: Sequence[PlannedWorkflow], resume: bool = False) -> RunSummary:
        """Execute every plan not finished yet; returns the summary (the files hold the records)."""
        finished = {str(r.get("id")) for r in read_lines(self.log_path)} if resume else set()
        workflows = [_Workflow(p, self._env(p)) for p in plans]
        for workflow in workflows:
            workflow.written = workflow.plan.spec.id in finished
        if resume:
            self._restore(workflows)
        self.summary.workflows = len(workflows)
        self.summary.finished = sum(w.written for w in workflows)
        clients = EndpointClients(self.config.endpoints)
        missing = clients.missing_keys()
        if missing:
            raise UserInputError(f"environment variables not set for endpoint keys: {', '.join(missing)}")
        try:
            await clients.preflight()
        except BaseException:
            await clients.close()
            raise
        self._clients = clients
        self._journal, self._log = AppendOnlyLines(self.journal_path), AppendOnlyLines(self.log_path)
        started = time.perf_counter()
        try:
            pending = [w for w in workflows if not w.written]
            slots = asyncio.Semaphore(self.settings.max_active_workflows)
            runner = asyncio.gather(*(self._run_workflow(w, slots) for w in pending))
            if self.settings.deadline_s is None:
                await runner
            else:
                try:
                    await asyncio.wait_for(runner, self.settings.deadline_s)
                except TimeoutError:
                    self.summary.deadline_reached = True
                    await self._cancel_calls()
            if self._crash is not None:
                raise self._crash
        finally:
            self.summary.seconds = time.perf_counter() - started
            await self._cancel_calls()
            await clients.close()
            self._journal.close()
            self._log.close()
        return self.summary

    async def _cancel_calls(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run_workflow(self, workflow: _Workflow, slots: asyncio.Semaphore) -> None:
        async with slots:
            done = asyncio.Event()
            self._events.append(done)
            if workflow.env.ended:  # ended before the interruption, e.g. out of attempts
                self._finish(workflow)
                return
            self._dispatch(workflow, done)
            if workflow.in_flight:
                await done.wait()
            # else nothing could start (the budget is spent): no record, --resume can run it later

    def _dispatch(self, workflow: _Workflow, done: asyncio.Event) -> None:
        """Start a call for every open subtask of the workflow that has none in flight."""
        env = workflow.env
        if env.ended or self._stopped:
            return
        for i in env.open_subtasks():
            if i not in workflow.in_flight:
                workflow.in_flight.add(i)
                task = asyncio.create_task(self._attempt(workflow, i, done))
                self._tasks.add(task)
                task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        """Forget a finished call; a call that raised (a bug, not a failed call) stops the run and is re-raised."""
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and self._crash is None:
            self._crash = task.exception()
            for event in self._events:
                event.set()

    def _messages(self, workflow: _Workflow, i: int) -> list[dict[str, str]]:
        """The prompt of subtask ``i``, after its dependencies' answers when it has any."""
        parents = workflow.plan.spec.parents[i]
        messages = []
        if parents:
            context = "\n\n".join(f"[result of step s{p}]\n{workflow.outputs.get(p, '')}" for p in parents)
            messages.append({"role": "system", "content": f"Results of earlier steps you can use:\n\n{context}"})
        messages.append({"role": "user", "content": workflow.plan.prompts[i]})
        return messages

    async def _attempt(self, workflow: _Workflow, i: int, done: asyncio.Event) -> None:
        env = workflow.env
        model = int(self.router.act(env.observe(i), env))
        name = self.world.model_names[model]
        endpoint = self.config.endpoint(name)
        if endpoint is None or not env.capable(i, model):
            why = f"no endpoint for model {name}" if endpoint is None else f"model {name} cannot do this task type"
            result, at = CallResult(None, 0.0, 0.0, why), time.perf_counter()
        else:
            at = time.perf_counter()
            result = await self._clients.chat(name, self._messages(workflow, i))
            at = time.perf_counter() - result.latency_s
        success, error, cost, latency = False, result.error, result.cost_usd, result.latency_s
        if result.text is not None:
            # the attempt ends when its answer is judged: the check's time (and a judge's cost) belong to it
            spec = env.workflow
            check = self.config.check_of(self.world.type_names[spec.types[i]]) if spec else self.config.default_check
            checked_from = time.perf_counter()
            verdict = await passes_check(check, workflow.plan.prompts[i], result.text, self._clients)
            success, error = verdict.success, verdict.error
            cost, latency = cost + verdict.cost_usd, latency + time.perf_counter() - checked_from
        if workflow.start is None:
            workflow.start = at
        start_s = max(0.0, at - workflow.start)
        ended = env.record(i, model, success, cost, latency, start_s, error is not None)
        record = {
            "workflow": workflow.plan.spec.id, "subtask": i, "attempt": env.attempts(i), "model": name, "success": success,
            "cost_usd": cost, "latency_s": latency, "start_s": start_s, "end_s": start_s + latency,
            "error": error is not None, "error_message": error, "output": result.text if success else None,
        }  # fmt: skip
        self._journal.append(record)
        self.summary.calls += 1
        self.summary.errors += error is not None
        self.summary.cost_usd += cost
        if success:
            workflow.outputs[i] = result.text or ""
        workflow.in_flight.discard(i)
        budget = self.settings.cost_budget_usd
        if budget is not None and self.summary.cost_usd >= budget and not self._stopped:
            self._stopped = self.summary.budget_spent = True
            self.say(f"cost budget ${budget:g} spent (${self.summary.cost_usd:.4f}): no new calls")
        if self._stopped and not ended:
            env.stop()
        if not env.ended:
            self._dispatch(workflow, done)
        if env.ended and not workflow.in_flight:
            self._finish(workflow)
            done.set()

    def _finish(self, workflow: _Workflow) -> None:
        """Append the workflow's log record (once)."""
        if workflow.written:
            return
        workflow.written = True
        self._log.append(workflow.env.episode_log())
        self.summary.finished += 1
        self.summary.succeeded += bool(workflow.env.success)
