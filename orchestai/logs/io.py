"""Reading and writing execution-log files (a JSON list, or JSON Lines).

:func:`load_logs` validates every record; by default the first invalid one raises
:class:`LogValidationError` naming the file, record and field. With
``skip_invalid=True`` invalid records are left out, and each one is returned in the
``skipped`` list with its reason, so that nothing is dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestai.files import InputFileError, parse_json, read_text, write_text_atomic
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
        text = read_text(path)
    except InputFileError as error:
        raise LogValidationError(str(path), error.problem) from None
    if not text.strip():
        raise LogValidationError(str(path), "empty file: no records")
    if text.lstrip().startswith("["):
        try:
            records = parse_json(text, str(path))
        except InputFileError as error:
            raise LogValidationError(str(path), error.problem, line=error.line) from None
        if not isinstance(records, list):
            raise LogValidationError(str(path), "expected a JSON list of records")
        if not records:
            raise LogValidationError(str(path), "empty JSON list: no records")
        for index, record in enumerate(records):
            yield index, 0, record
        return
    index = 0
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = parse_json(line, str(path), line_number)
        except InputFileError as error:
            raise LogValidationError(str(path), error.problem, record=index, line=line_number) from None
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


def write_logs(path: str | Path, logs: Iterable[ExecutionLog | dict[str, Any]]) -> None:
    """Write logs atomically: JSON Lines for ``.jsonl`` files, otherwise a JSON list."""
    records = [log.to_dict() if isinstance(log, ExecutionLog) else log for log in logs]
    if Path(path).suffix == ".jsonl":
        text = "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records)
    else:
        text = json.dumps(records, indent=1)
    write_text_atomic(path, text)
