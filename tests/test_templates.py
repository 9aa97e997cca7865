from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from orchestai.world.templates import WorkflowRenderer, generate_templates, instruction_style
from orchestai.world.world import World


def test_templates_are_deterministic_and_sized_as_configured(world: World):
    first, second = generate_templates(world), generate_templates(world)
    assert first == second
    assert len(first) == world.config.templates.count == 200
    sizes = [len(t.subtasks) for t in first]
    # mean 20 configured; the sample mean of 200 sizes with sd 4 is within ~0.85 of it (3 s.e.)
    assert abs(np.mean(sizes) - world.config.templates.mean_subtasks) < 0.85
    assert min(sizes) >= world.config.templates.min_subtasks
    assert max(sizes) <= world.config.templates.max_subtasks


def test_templates_have_parallel_branches_and_respect_modalities(world: World):
    types = world.config.task_types
    n_parallel = 0
    for template in generate_templates(world):
        children_count = [0] * len(template.subtasks)
        for i, subtask in enumerate(template.subtasks):
            assert all(p < i for p in subtask.parents)
            for p in subtask.parents:
                children_count[p] += 1
                assert types[template.subtasks[p].type_index].output_modality == "text"
            if subtask.parents:
                assert types[subtask.type_index].input_modality == "text"
        roots = sum(1 for s in template.subtasks if not s.parents)
        if roots > 1 or max(children_count) > 1:
            n_parallel += 1
    assert n_parallel >= 150  # most templates are not plain chains


def test_rendering_varies_wording_but_not_structure(world: World):
    template = generate_templates(world)[3]
    renderer = WorkflowRenderer(world)
    a = renderer.render(template, np.random.default_rng(1), "a")
    b = renderer.render(template, np.random.default_rng(2), "b")
    assert a.types == b.types and a.parents == b.parents
    assert a.instruction != b.instruction
    assert a.instruction.count(".") >= len(template.subtasks)
    again = renderer.render(template, np.random.default_rng(1), "a")
    assert again == a


def _styled_world(world: World, styles: dict[str, float]) -> World:
    templates = dataclasses.replace(world.config.templates, styles=styles, min_subtasks=2, mean_subtasks=5.0)
    return World(dataclasses.replace(world.config, templates=templates), source="styled")


@pytest.mark.parametrize("style", ["numbered", "prose", "mixed"])
def test_each_style_reads_as_itself_and_keeps_the_structure(world: World, style: str):
    styled = _styled_world(world, {style: 1.0})
    renderer = WorkflowRenderer(styled)
    for template in generate_templates(styled)[:40]:
        spec = renderer.render(template, np.random.default_rng(template.id), "w")
        assert instruction_style(spec.instruction) == (style if style != "mixed" or any(spec.parents) else "prose")
        assert spec.types == tuple(s.type_index for s in template.subtasks)
        if style == "prose":
            assert not re.search(r"\bsteps? \d", spec.instruction)  # dependencies named by content only
            for i, parents in enumerate(spec.parents):
                for p in parents:
                    assert styled.config.task_types[spec.types[p]].result_noun in spec.descriptions[i]


def test_a_style_mix_is_seeded_and_drawn_in_proportion(world: World):
    styled = _styled_world(world, {"prose": 3.0, "mixed": 1.0, "numbered": 1.0})
    template = generate_templates(styled)[0]
    first = [WorkflowRenderer(styled).render(template, np.random.default_rng(k), "w").instruction for k in range(400)]
    again = [WorkflowRenderer(styled).render(template, np.random.default_rng(k), "w").instruction for k in range(400)]
    assert first == again
    shares = {s: sum(instruction_style(t) == s for t in first) / 400 for s in ("prose", "mixed", "numbered")}
    assert 0.5 < shares["prose"] < 0.7 and 0.1 < shares["numbered"] < 0.3  # 0.6 and 0.2 expected


def test_only_numbered_draws_no_style_so_rendering_is_unchanged(world: World):
    renderer = WorkflowRenderer(_styled_world(world, {"numbered": 2.0}))
    template = generate_templates(world)[3]
    rng = np.random.default_rng(7)
    renderer.render(template, rng, "w")
    reference = np.random.default_rng(7)
    reference.random(4 + len(template.subtasks) * renderer._draws_per_subtask)  # the renderer's one batch, nothing more
    assert rng.random() == reference.random()


def test_repeated_results_are_told_apart_by_ordinals():
    from orchestai.world.templates import _content_refs

    nouns = ["the summary", "the translation", "the summary"]
    assert _content_refs((0, 1), nouns) == "the summary (first one) and the translation"
    assert _content_refs((2,), nouns) == "the summary (second one)"


def test_planning_comparison_groups_records_by_instruction_style():
    from orchestai.data.examples import PlanExample
    from orchestai.evaluate.planning import record_groups

    def example(k: int, text: str, n: int) -> PlanExample:
        return PlanExample(str(k), text, (0,) * n, ((),) + tuple((i,) for i in range(n - 1)), (-1,) * n, (1,) * n, (1,) * n)

    val = [
        example(0, "Do this. Step 1: Summarise it. Step 2: Translate it using step 1.", 2),
        example(1, "First, summarise it. Then translate it using the summary.", 2),
        example(2, "First, summarise it. Finally, translate it using step 1.", 2),
        example(3, "First, summarise it. Then translate it. Finally, post it using the translation.", 3),
    ]
    groups = record_groups(val, set())
    assert groups["style: numbered"] == [0] and groups["style: prose"] == [1, 3] and groups["style: mixed"] == [2]
    assert groups["2 steps"] == [0, 1, 2] and groups["3 steps"] == [3]
    assert not [g for g in record_groups(val[1:2] + val[3:], set()) if g.startswith("style")]  # one style: no style blocks


def test_catalogue_descriptions_come_from_the_world_yaml(world: World):
    from orchestai.planner.vocabulary import type_description

    summary = world.type_index["summarization"]
    assert type_description(world, summary) == world.config.task_types[summary].description != ""


_ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
_STEP_SENTENCE = re.compile(r"(?:Step \d+: |\(\d+\) |\d+\) |First, |To begin, |To start, |Then |After that, |Next, "
                            r"|Once that is done, |Finally, |Last, |To finish, )")  # fmt: skip


def _parents_read_back(instruction: str, types: tuple[int, ...], nouns: list[str]) -> tuple[tuple[int, ...], ...]:
    """A reader of rendered instructions: each step's dependencies, from the text alone (given each step's type)."""
    starts = [m.start() for m in _STEP_SENTENCE.finditer(instruction)]
    sentences = [instruction[a:b] for a, b in zip(starts, [*starts[1:], len(instruction)], strict=True)]
    assert len(sentences) == len(types)  # one sentence per step, after the opening one
    parents: list[tuple[int, ...]] = []
    for i, sentence in enumerate(sentences):
        body = sentence.rstrip(" .")
        numbered = re.search(r"(?:using|based on|with the output of|from) steps? ([\d, and]+)$", body)
        if numbered:
            parents.append(tuple(sorted(int(n) - 1 for n in re.findall(r"\d+", numbered.group(1)))))
            continue
        found: tuple[int, ...] = ()
        for m in re.finditer(r"(?:using|based on|with the output of|from) ", body):
            named = re.split(r", | and (?=the )", body[m.end() :])
            chosen = []
            for name in named:
                rank = re.fullmatch(r"(.+) \((\w+) one\)", name)
                noun, ordinal = (rank.group(1), _ORDINAL_WORDS.index(rank.group(2))) if rank else (name, 0)
                earlier = [j for j in range(i) if nouns[types[j]] == noun]
                if len(earlier) <= ordinal or (not rank and len(earlier) != 1):
                    break
                chosen.append(earlier[ordinal])
            else:
                found = tuple(sorted(chosen))  # the last reference clause that names earlier results throughout
        parents.append(found)
    return tuple(parents)


@pytest.mark.parametrize("style", ["numbered", "prose", "mixed"])
def test_every_style_reads_back_as_the_same_gold_plan(world: World, style: str):
    styled = World(
        dataclasses.replace(world.config, templates=dataclasses.replace(world.config.templates, styles={style: 1.0}))
    )
    renderer = WorkflowRenderer(styled)
    nouns = [t.result_noun for t in styled.config.task_types]
    for template in generate_templates(styled)[:60]:
        spec = renderer.render(template, np.random.default_rng(template.id), "w")
        assert _parents_read_back(spec.instruction, spec.types, nouns) == spec.parents, spec.instruction


def test_the_default_templates_include_short_workflows_and_no_instruction_is_truncated(world: World):
    from orchestai.envs.tokenizer import TRUNCATED_ID, HashTokenizer

    templates = generate_templates(world)
    assert sum(len(t.subtasks) <= 6 for t in templates) >= 5  # short workflows (2-6 subtasks) appear
    tokenizer = HashTokenizer(world.config.tokenizer.vocab_size, world.config.tokenizer.max_tokens)
    renderer = WorkflowRenderer(world)
    longest = sorted(templates, key=lambda t: -len(t.subtasks))[:10]
    for template in longest:  # the longest instructions in every style still fit in the observation
        for seed in range(6):
            spec = renderer.render(template, np.random.default_rng(seed), "w")
            assert TRUNCATED_ID not in tokenizer.encode(spec.instruction).tolist()
