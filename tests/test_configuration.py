from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchestai.configuration import ConfigError
from orchestai.paths import DEFAULT_WORLD_PATH
from orchestai.world.config import load_world_config


def _write_world(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(DEFAULT_WORLD_PATH.read_text())
    edit(data)
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_bundled_world_loads_with_at_least_16_types_and_8_models():
    config = load_world_config()
    assert len(config.task_types) >= 16
    assert len(config.models) >= 8


@pytest.mark.parametrize(
    ("edit", "key", "problem"),
    [
        (lambda d: d["conditions"].update(surprise=1), "conditions.surprise", "unknown key"),
        (lambda d: d["conditions"].pop("difficulty_std"), "conditions.difficulty_std", "missing required key"),
        (lambda d: d["models"][2].update(price_input_per_1k=-1.0), "models[2].price_input_per_1k", "must be >= 0"),
        (
            lambda d: d["models"][0]["skills"].update(summarization=1.5),
            "models[0].skills.summarization",
            "strictly between 0 and 1",
        ),
        (lambda d: d["task_types"][3].update(input_tokens="many"), "task_types[3].input_tokens", "expected an integer"),
        (lambda d: d["models"][1]["skills"].update(juggling=0.5), "models[1].skills.juggling", "unknown task type"),
        (lambda d: d["env"].update(max_retries=99), "env.max_retries", "must be within [0, 10]"),
        (lambda d: d["conditions"].update(outage_probability=0.95), "conditions.outage_probability", "must be <= 1"),
        (lambda d: d.update(extra_section={}), "extra_section", "unknown key"),
    ],
)
def test_invalid_world_names_file_and_key(tmp_path: Path, edit, key: str, problem: str):
    path = _write_world(tmp_path, edit)
    with pytest.raises(ConfigError) as raised:
        load_world_config(path)
    message = str(raised.value)
    assert str(path) in message
    assert f": {key}: " in message
    assert problem in message


def test_missing_file_and_bad_yaml_are_config_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="file not found"):
        load_world_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("task_types: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_world_config(bad)


@pytest.mark.parametrize(
    ("name", "cls_path"),
    [
        ("phase1.yaml", "orchestai.phase1.config:Phase1Config"),
        ("phase2.yaml", "orchestai.phase2.config:Phase2Config"),
        ("routing.yaml", "orchestai.routing.config:RoutingConfig"),
    ],
)
def test_bundled_configs_spell_out_every_key_with_the_dataclass_defaults(name: str, cls_path: str):
    import dataclasses
    import importlib

    import yaml

    from orchestai.configuration import load_yaml_config
    from orchestai.paths import CONFIG_DIR

    module, cls_name = cls_path.split(":")
    cls = getattr(importlib.import_module(module), cls_name)
    keys = set(yaml.safe_load((CONFIG_DIR / name).read_text()))
    assert keys == {f.name for f in dataclasses.fields(cls)}  # every key written out, none unknown
    assert load_yaml_config(cls, CONFIG_DIR / name) == cls()


def test_list_keys_become_multi_value_flags():
    import argparse

    from orchestai.configuration import add_config_flags, apply_flags
    from orchestai.routing.config import RoutingConfig

    parser = argparse.ArgumentParser()
    add_config_flags(parser, RoutingConfig)
    flags = vars(parser.parse_args(["--ppo-cost-weights", "0", "10.5", "--ppo-init", "x.pth"]))
    config = apply_flags(RoutingConfig(), flags)
    assert config.ppo_cost_weights == [0.0, 10.5] and config.ppo_init == "x.pth"
    with pytest.raises(ConfigError, match="ppo_cost_weights"):
        apply_flags(RoutingConfig(), {"ppo_cost_weights": [-1.0]})
