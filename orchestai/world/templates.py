"""Synthetic workflow templates and their rendering into natural-language instructions.

:func:`generate_templates` builds ``templates.count`` layered DAGs of typed subtasks
(deterministic for ``templates.seed``), with parallel branches: each layer holds up to
``max_layer_width`` subtasks and each later subtask depends on one to ``max_parents``
earlier text-producing subtasks. Types whose input is an image or audio only start
workflows (they read what the user supplies); types that produce images or audio only
end them. :func:`render_workflow` turns a template into a :class:`WorkflowSpec` with a
varied instruction: phrase variants, slot values and connective wording are drawn from
the world's config with the caller's random generator.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from orchestai.world.config import TemplatesConfig
from orchestai.world.workflow import WorkflowSpec
from orchestai.world.world import World

_TEMPLATES: weakref.WeakKeyDictionary[World, tuple[WorkflowTemplate, ...]] = weakref.WeakKeyDictionary()
_SLOT = re.compile(r"\{(\w+)\}")
# no "{n}. text" format: a period after the number would read as a sentence end
_STEP_FORMATS = ("Step {n}: {text}.", "({n}) {text}.", "{n}) {text}.")
_DEPENDENCY_FORMATS = ("using ", "based on ", "with the output of ", "from ")
_PROSE_FIRST = ("First, ", "To begin, ", "To start, ")
_PROSE_NEXT = ("Then ", "After that, ", "Next, ", "Once that is done, ")
_PROSE_LAST = ("Finally, ", "Last, ", "To finish, ")
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
_NUMBERED_STEP = re.compile(r"(?:^|[.!?] )(?:Step \d+:|\(\d+\)|\d+\)) ")
_STEP_REFERENCE = re.compile(r"\bsteps? \d+")
_OPENINGS = (
    "Please run this workflow for the {project} project.",
    "I need help with the {project} project.",
    "For the {project} project, do the following.",
    "Here is what the {project} project needs.",
)


@dataclass(frozen=True)
class TemplateSubtask:
    """One subtask slot of a template."""

    type_index: int
    input_tokens: int
    output_tokens: int
    parents: tuple[int, ...]
    phrase_index: int


@dataclass(frozen=True)
class WorkflowTemplate:
    """A reusable workflow shape: typed subtasks in topological order."""

    id: int
    subtasks: tuple[TemplateSubtask, ...]


def world_templates(world: World) -> tuple[WorkflowTemplate, ...]:
    """The world's own templates, generated once per World (envs of one world share them)."""
    cached = _TEMPLATES.get(world)
    if cached is None:
        cached = _TEMPLATES[world] = tuple(generate_templates(world))
    return cached


def generate_templates(world: World, config: TemplatesConfig | None = None) -> list[WorkflowTemplate]:
    """Generate the world's workflow templates, deterministically from the config's seed."""
    config = config or world.config.templates
    rng = np.random.default_rng(config.seed)
    types = world.config.task_types
    text_input = [i for i, t in enumerate(types) if t.input_modality == "text"]
    any_root = list(range(len(types)))
    return [_generate_one(template_id, world, config, rng, text_input, any_root) for template_id in range(config.count)]


def _generate_one(
    template_id: int,
    world: World,
    config: TemplatesConfig,
    rng: np.random.Generator,
    text_input: list[int],
    any_root: list[int],
) -> WorkflowTemplate:
    types = world.config.task_types
    n = int(
        np.clip(round(float(rng.normal(config.mean_subtasks, config.std_subtasks))), config.min_subtasks, config.max_subtasks)
    )
    type_of: list[int] = []
    parents_of: list[tuple[int, ...]] = []
    previous_layer: list[int] = []
    while len(type_of) < n:
        width = min(int(rng.integers(1, config.max_layer_width + 1)), n - len(type_of))
        producers = [i for i in range(len(type_of)) if types[type_of[i]].output_modality == "text"]
        layer: list[int] = []
        for _ in range(width):
            index = len(type_of)
            if not producers:
                # the first layer, or nothing yet produces text: start a new branch
                type_of.append(int(rng.choice(any_root)))
                parents_of.append(())
            else:
                recent = [i for i in previous_layer if i in producers] or producers
                k = min(int(rng.integers(1, config.max_parents + 1)), len(producers))
                first = int(rng.choice(recent))
                others = [i for i in producers if i != first]
                extra = rng.choice(others, size=min(k - 1, len(others)), replace=False).tolist() if others else []
                type_of.append(int(rng.choice(text_input)))
                parents_of.append(tuple(sorted({first, *map(int, extra)})))
            layer.append(index)
        previous_layer = layer
    subtasks = []
    for type_index, parents in zip(type_of, parents_of, strict=True):
        spec = types[type_index]
        scale_in, scale_out = np.exp(config.token_log_sigma * rng.standard_normal(2))
        subtasks.append(
            TemplateSubtask(
                type_index=type_index,
                input_tokens=max(1, int(round(spec.input_tokens * scale_in))),
                output_tokens=max(1, int(round(spec.output_tokens * scale_out))),
                parents=parents,
                phrase_index=int(rng.integers(len(spec.phrases))),
            )
        )
    return WorkflowTemplate(id=template_id, subtasks=tuple(subtasks))


@lru_cache(maxsize=4096)
def _split_phrase(text: str) -> tuple[str, ...]:
    # alternating literal text and slot names: ("summarise the ", "document", "")
    return tuple(_SLOT.split(text))


def _fill_slots(text: str, slots: dict[str, list[str]], draws: Iterator[float]) -> str:
    parts = _split_phrase(text)
    out = [parts[0]]
    for k in range(1, len(parts), 2):
        name = parts[k]
        if name not in slots:
            raise KeyError(f"phrase {text!r} uses slot {{{name}}}, which orchestai/configs/world.yaml's slots do not define")
        values = slots[name]
        out.append(values[int(next(draws) * len(values))])
        out.append(parts[k + 1])
    return "".join(out)


def _refs(parents: tuple[int, ...]) -> str:
    numbers = [str(p + 1) for p in parents]
    if len(numbers) == 1:
        return f"step {numbers[0]}"
    return "steps " + ", ".join(numbers[:-1]) + " and " + numbers[-1]


def instruction_style(instruction: str) -> str:
    """Which style an instruction reads as: ``numbered`` (numbered steps), ``mixed`` (step numbers in prose) or ``prose``."""
    if _NUMBERED_STEP.search(instruction):
        return "numbered"
    return "mixed" if _STEP_REFERENCE.search(instruction) else "prose"


def _content_refs(parents: tuple[int, ...], nouns: list[str]) -> str:
    """Dependencies named by what they produce ("the summary and the translation"); an ordinal where a noun repeats."""
    named = []
    for p in parents:
        same = [i for i, noun in enumerate(nouns) if noun == nouns[p]]
        if len(same) > 1:
            rank = same.index(p)
            named.append(f"{nouns[p]} ({_ORDINALS[rank] if rank < len(_ORDINALS) else 'an earlier'} one)")
        else:
            named.append(nouns[p])
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


class WorkflowRenderer:
    """Renders templates of one world into workflows with freshly worded instructions.

    The style of each instruction is drawn from ``templates.styles``: ``numbered``
    ("Step 2: translate the summary using step 1."), ``prose`` ("Then translate it
    using the summary.") or ``mixed`` (prose sentences, dependencies by step number).
    With only ``numbered`` in the mix no style is drawn, so the random stream, and every
    rendered workflow, is what it was before styles existed.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        styles = world.config.templates.styles
        total = sum(styles.values())
        self._styles = [(name, weight / total) for name, weight in styles.items() if weight > 0]
        self._nouns = [t.result_noun for t in world.config.task_types]
        self._slots = world.config.slots
        self._phrases = [list(t.phrases) for t in world.config.task_types]
        # each subtask uses at most one uniform per slot plus one for its connective
        self._draws_per_subtask = 1 + max(len(_split_phrase(p)) // 2 for phrases in self._phrases for p in phrases)
        self._template_parts: dict[int, list[tuple[str, str, str]]] = {}  # by template id

    def render(self, template: WorkflowTemplate, rng: np.random.Generator, workflow_id: str) -> WorkflowSpec:
        """Render ``template`` with wording drawn from ``rng``."""
        slots = self._slots
        # one batch of uniforms: drawing them one by one dominated the env's reset time
        draws = iter(rng.random(4 + len(template.subtasks) * self._draws_per_subtask).tolist())
        step_format = _STEP_FORMATS[int(next(draws) * len(_STEP_FORMATS))]
        style = self._style(rng) if len(self._styles) > 1 else self._styles[0][0]
        descriptions = []
        sentences = [_fill_slots(_OPENINGS[int(next(draws) * len(_OPENINGS))], slots, draws)]
        last = len(template.subtasks)
        for n, (phrase, numbered_refs, content_refs) in enumerate(self._parts_of(template), start=1):
            text = _fill_slots(phrase, slots, draws)
            refs = content_refs if style == "prose" else numbered_refs
            if refs:
                text = f"{text} {_DEPENDENCY_FORMATS[int(next(draws) * len(_DEPENDENCY_FORMATS))]}{refs}"
            descriptions.append(text)
            if style == "numbered":
                sentences.append(step_format.format(n=n, text=text[0].upper() + text[1:]))
            else:
                pool = _PROSE_FIRST if n == 1 else _PROSE_LAST if n == last and last > 1 else _PROSE_NEXT
                sentences.append(f"{pool[int(rng.random() * len(pool))]}{text}.")
        return WorkflowSpec(
            id=workflow_id,
            instruction=" ".join(sentences),
            types=tuple(s.type_index for s in template.subtasks),
            input_tokens=tuple(s.input_tokens for s in template.subtasks),
            output_tokens=tuple(s.output_tokens for s in template.subtasks),
            parents=tuple(s.parents for s in template.subtasks),
            descriptions=tuple(descriptions),
        )

    def _style(self, rng: np.random.Generator) -> str:
        u, total = float(rng.random()), 0.0
        for name, share in self._styles:
            total += share
            if u < total:
                return name
        return self._styles[-1][0]

    def _parts_of(self, template: WorkflowTemplate) -> list[tuple[str, str, str]]:
        # per subtask: its phrase and its dependency references by step number and by
        # content ("" for roots); both depend on the template only, so they are built once
        parts = self._template_parts.get(template.id)
        if parts is None:
            nouns = [self._nouns[s.type_index] for s in template.subtasks]
            parts = [
                (
                    self._phrases[s.type_index][s.phrase_index],
                    _refs(s.parents) if s.parents else "",
                    _content_refs(s.parents, nouns) if s.parents else "",
                )
                for s in template.subtasks
            ]
            self._template_parts[template.id] = parts
        return parts


def render_workflow(world: World, template: WorkflowTemplate, rng: np.random.Generator, workflow_id: str) -> WorkflowSpec:
    """Render one template of ``world`` (see :class:`WorkflowRenderer` for repeated use)."""
    return WorkflowRenderer(world).render(template, rng, workflow_id)
