"""Every command-line flag says what it does and its default (rl-zoo3-style CLIs are read through --help)."""

from __future__ import annotations

import argparse
import importlib

import pytest

CLIS = [
    ("orchestai.__main__", []),
    ("orchestai.data.generate", []),
    ("orchestai.data.validate", ["x.jsonl"]),
    ("orchestai.world.calibrate", []),
    ("orchestai.phase1.train", []),
    ("orchestai.phase2.ppo", []),
    ("orchestai.plan.__main__", ["x", "--checkpoint", "x.pth"]),
    ("orchestai.evaluate.__main__", []),
    ("orchestai.evaluate.__main__", ["--env", "orchestai/RouterBench-v0"]),
    ("orchestai.evaluate.planning", ["--checkpoint", "x.pth"]),
    ("orchestai.sweep.__main__", ["ppo_seeds"]),
    ("orchestai.phase1.outcomes", []),
    ("orchestai.route.__main__", ["x", "--router", "x.pt"]),
    ("orchestai.routing.calibrate", ["--router", "x.pt", "--target-cost-fraction", "0.2"]),
    ("orchestai.execute.__main__", ["x.json", "--router", "cheapest", "--out", "x.jsonl"]),
    ("orchestai.execute.plans_cli", ["--out", "x.json"]),
    ("orchestai.serve.replay", []),
]


class _Parsed(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


@pytest.mark.parametrize(("module", "argv"), CLIS, ids=[f"{m} {' '.join(a)}" for m, a in CLIS])
def test_every_flag_has_help_with_its_default(module: str, argv: list[str], monkeypatch: pytest.MonkeyPatch):
    def capture(self: argparse.ArgumentParser, args=None, namespace=None):  # noqa: ANN001
        raise _Parsed(self)  # the full parser (pre-parsers use parse_known_args)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(_Parsed) as parsed:
        importlib.import_module(module).main(list(argv))
    parser = parsed.value.parser
    assert parser.description
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help and len(action.help) > 12, f"{module}: {name} has no help"
        optional = bool(action.option_strings) and not action.required
        if optional and action.default not in (None, False, []) and "default" not in action.help:
            pytest.fail(f"{module}: {name} does not say its default ({action.default!r})")
