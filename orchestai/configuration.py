"""Typed configuration: YAML files loaded into dataclasses and validated at load.

Every configuration object in OrchestAI is a dataclass. :func:`from_mapping` builds one
from plain data (a YAML mapping), checking that no key is unknown, none is missing
(unless it has a default), and every value has the annotated type. Range checks live in
each dataclass's ``validate`` method. All failures raise :class:`ConfigError`, whose
message names the file and the dotted key path, e.g. ``orchestai/configs/world.yaml: models[3].price_input_per_1k: must be >= 0``.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from orchestai.errors import UserInputError
from orchestai.files import InputFileError, read_text

T = TypeVar("T")


class ConfigError(UserInputError):
    """A configuration file or mapping is invalid; the message names file and key."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        super().__init__(f"{source}: {key or '<root>'}: {problem}")


def _join(prefix: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


def _convert(value: Any, annotation: Any, source: str, key: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        errors = []
        for option in non_none:
            try:
                return _convert(value, option, source, key)
            except ConfigError as error:
                errors.append(error.problem)
        raise ConfigError(source, key, " or ".join(errors))
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return from_mapping(annotation, value, source, key)
    if origin in (list, tuple, collections.abc.Sequence):
        if not isinstance(value, list):
            raise ConfigError(source, key, f"expected a list, got {type(value).__name__}")
        item_type = args[0] if args else Any
        items = [_convert(v, item_type, source, _join(key, i)) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(source, key, f"expected a mapping, got {type(value).__name__}")
        key_type, value_type = args if args else (Any, Any)
        return {
            _convert(k, key_type, source, _join(key, str(k))): _convert(v, value_type, source, _join(key, str(k)))
            for k, v in value.items()
        }
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(source, key, f"expected a number, got {value!r}")
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(source, key, f"expected a finite number, got {value!r}")
        return float(value)
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(source, key, f"expected an integer, got {value!r}")
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(source, key, f"expected true or false, got {value!r}")
        return value
    if annotation is str or annotation is Path:
        if not isinstance(value, str):
            raise ConfigError(source, key, f"expected a string, got {value!r}")
        return Path(value) if annotation is Path else value
    raise TypeError(f"unsupported annotation {annotation!r} at {key}")


def from_mapping(cls: type[T], data: Any, source: str = "<config>", prefix: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, validating keys, types and ranges."""
    if not isinstance(data, dict):
        raise ConfigError(source, prefix, f"expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(source, _join(prefix, str(unknown[0])), f"unknown key (allowed: {', '.join(sorted(fields))})")
    values: dict[str, Any] = {}
    for name, field in fields.items():
        key = _join(prefix, name)
        if name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise ConfigError(source, key, "missing required key")
            continue
        values[name] = _convert(data[name], hints[name], source, key)
    instance = cls(**values)
    validate = getattr(instance, "validate", None)
    if validate is not None:
        try:
            validate()
        except ConfigError:
            raise
        except ValueError as error:
            # validate() raises ValueError("field: problem"); re-anchor it at this prefix.
            field_name, _, problem = str(error).partition(": ")
            raise ConfigError(source, _join(prefix, field_name), problem or str(error)) from None
    return instance


def load_yaml_config(cls: type[T], path: str | Path) -> T:
    """Load and validate the YAML file at ``path`` into dataclass ``cls``."""
    path = Path(path)
    try:
        text = read_text(path)
    except InputFileError as error:
        raise ConfigError(str(path), "", error.problem) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(str(path), "", f"invalid YAML: {' '.join(str(error).split())}") from None
    except RecursionError:
        raise ConfigError(str(path), "", "YAML nested too deeply") from None
    except ValueError as error:  # e.g. an integer of thousands of digits
        raise ConfigError(str(path), "", f"unusable YAML value ({error})") from None
    return from_mapping(cls, data if data is not None else {}, str(path))


def to_mapping(instance: Any) -> Any:
    """Turn a config dataclass back into plain data (dicts, lists, numbers, strings)."""
    if dataclasses.is_dataclass(instance):
        return {f.name: to_mapping(getattr(instance, f.name)) for f in dataclasses.fields(instance)}
    if isinstance(instance, (list, tuple)):
        return [to_mapping(v) for v in instance]
    if isinstance(instance, Path):
        return str(instance)
    if isinstance(instance, dict):
        return {k: to_mapping(v) for k, v in instance.items()}
    return instance


def require(condition: bool, field: str, problem: str) -> None:
    """Raise ``ValueError("field: problem")`` unless ``condition`` holds (for ``validate``)."""
    if not condition:
        raise ValueError(f"{field}: {problem}")


def _flag(path: str) -> str:
    return "--" + path.replace(".", "-").replace("_", "-")


def _scalar_type(annotation: Any) -> Any:
    # unwrap ``X | None`` (and Optional[X]); leave ``list[X]`` alone
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if args else annotation
    return annotation


def yaml_key_comments(path: str | Path) -> dict[str, str]:
    """The comment after each key of a YAML file (``key: value  # comment``), by dotted key path (for ``--help``)."""
    comments: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return comments
    for line in lines:
        match = re.match(r"^(\s*)([A-Za-z_][\w]*):(.*)$", line)
        if not match:
            continue
        indent, key, rest = len(match.group(1)), match.group(2), match.group(3)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        dotted = ".".join([*(k for _, k in stack), key])
        if "#" in rest:
            comments[dotted] = rest.split("#", 1)[1].strip()
        if not rest.split("#", 1)[0].strip():  # a section: its keys follow, indented
            stack.append((indent, key))
    return comments


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def add_config_flags(
    parser: Any, cls: type, prefix: str = "", defaults: Any = None, comments: dict[str, str] | None = None
) -> None:
    """Add one command-line flag per field of dataclass ``cls`` (nested fields as ``--section-field``).

    Every flag defaults to ``None`` so that :func:`apply_flags` can tell which were given.
    Its help says what the key does (the comment beside it in the YAML file, from
    ``comments``), its default (from ``defaults``, the loaded configuration) and its choices.
    """
    hints = typing.get_type_hints(cls)
    comments = comments or {}
    for f in dataclasses.fields(cls):
        path = f"{prefix}{f.name}"
        annotation = hints[f.name]
        default = getattr(defaults, f.name, None) if defaults is not None else None
        if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
            add_config_flags(parser, annotation, prefix=f"{path}.", defaults=default, comments=comments)
            continue
        kind = _scalar_type(annotation)
        parts = [comments.get(path, "").rstrip(".") or f"config key {path}"]
        choices = f.metadata.get("choices")
        if choices:
            parts.append(f"choices: {', '.join(map(str, choices))}")
        if defaults is not None:
            parts.append(f"default: {_describe(default)}")
        help_text = "; ".join(parts).replace("%", "%%")
        if kind is bool:
            parser.add_argument(_flag(path), dest=path, default=None, action=argparse_boolean(), help=help_text)
        elif kind in (int, float, str):
            parser.add_argument(_flag(path), dest=path, default=None, type=kind, help=help_text)
        elif typing.get_origin(kind) is list and typing.get_args(kind)[0] in (int, float, str):
            item = typing.get_args(kind)[0]
            parser.add_argument(_flag(path), dest=path, default=None, type=item, nargs="+", help=help_text)
        else:
            raise TypeError(f"no flag for config key {path} of type {annotation!r}")


def argparse_boolean() -> Any:
    """``argparse.BooleanOptionalAction`` (``--flag`` / ``--no-flag``)."""
    import argparse

    return argparse.BooleanOptionalAction


def apply_flags(config: T, flags: dict[str, Any], source: str = "command line") -> T:
    """Return ``config`` with the given (non-``None``) dotted-key flags applied, re-validated."""
    data = to_mapping(config)
    for path, value in flags.items():
        if value is None:
            continue
        node = data
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return from_mapping(type(config), data, source)


def parse_config_args(cls: type[T], default_path: Path, description: str, argv: list[str] | None = None) -> T:
    """A configuration from ``--config`` (default ``default_path``) with one flag per config key applied.

    ``--help`` lists every key with the comment the bundled YAML gives it and its default there.
    """
    import argparse

    argv = sys.argv[1:] if argv is None else list(argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", type=Path, default=default_path)
    config_path = pre.parse_known_args(argv)[0].config
    try:
        defaults: Any = load_yaml_config(cls, config_path)
    except ConfigError:
        defaults = None  # reported with its key once the flags are parsed
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", type=Path, default=default_path, help=f"YAML configuration (default: {default_path})")
    add_config_flags(parser, cls, defaults=defaults, comments=yaml_key_comments(default_path))
    args = vars(parser.parse_args(argv))
    return apply_flags(load_yaml_config(cls, args.pop("config")), args)
