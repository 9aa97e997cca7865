"""Reading and writing execution-log files (a JSON list, or JSON Lines).

:func:`load_logs` validates every record; by default the first invalid one raises
:class:`LogValidationError` naming the file, record and field. With
``skip_invalid=True`` invalid records are left out, and each one is returned in the
``skipped`` list with its reason, so that nothing is dropped silently.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestai.logs.schema import ExecutionLog, LogValidationError, validate_record
from orchestai.world.world import World


@dataclass
class LoadedLogs:
    """Valid logs of a file, plus the invalid records that were skipped (and why)."""

    logs: list[ExecutionLog]
    skipped: list[LogValidationError] = field(default_factory=list)


def iter_raw_records(path: str | Path) -> Iterator[tuple[int, int, Any]]:
    """Yield ``(record_index, line_number, parsed_json)`` from a JSON-list or JSONL file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LogValidationError(str(path), "file not found") from None
    except UnicodeDecodeError as error:
        raise LogValidationError(str(path), f"not UTF-8 text ({error})") from None
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as error:
            raise LogValidationError(
                str(path), f"malformed JSON: {error.msg} (column {error.colno})", line=error.lineno
            ) from None
        for index, record in enumerate(records):
            yield index, 0, record
        return
    index = 0
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise LogValidationError(
                str(path), f"malformed JSON: {error.msg} (column {error.colno})", record=index, line=line_number
            ) from None
        yield index, line_number, record
        index += 1


def load_logs(path: str | Path, world: World, skip_invalid: bool = False) -> LoadedLogs:
    """Load and validate every record of ``path`` against ``world``.

    Ids must be unique within the file. Malformed JSON always raises, because a file
    whose syntax is broken cannot be split into records reliably.
    """
    logs: list[ExecutionLog] = []
    skipped: list[LogValidationError] = []
    seen: dict[str, int] = {}
    for index, _line, raw in iter_raw_records(path):
        try:
            log = validate_record(raw, world, str(path), index)
            if log.id in seen:
                raise LogValidationError(str(path), f"duplicate id (also record {seen[log.id]})", index, log.id, "id")
        except LogValidationError as error:
            if not skip_invalid:
                raise
            skipped.append(error)
            continue
        seen[log.id] = index
        logs.append(log)
    return LoadedLogs(logs=logs, skipped=skipped)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` atomically: a temporary file in the same folder, then a rename (no torn file on a crash)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    return write_text_atomic(path, json.dumps(data, indent=1) + "\n")


def write_logs(path: str | Path, logs: Iterable[ExecutionLog | dict[str, Any]]) -> None:
    """Write logs atomically: JSON Lines for ``.jsonl`` files, otherwise a JSON list."""
    records = [log.to_dict() if isinstance(log, ExecutionLog) else log for log in logs]
    if Path(path).suffix == ".jsonl":
        text = "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records)
    else:
        text = json.dumps(records, indent=1)
    write_text_atomic(path, text)
