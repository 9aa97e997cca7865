"""Append-only JSON-lines files written one fsync'ed line per record: a crash or Ctrl-C loses no finished record.

The executor keeps two: the call journal (every call as it finishes, with its answer,
so ``--resume`` can rebuild each unfinished workflow) and the execution log (one
record per finished workflow, in the log schema). A torn last line (a crash in the
middle of a write) is reported and dropped on reading; any other bad line is an error
naming the file and line.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from orchestai.files import InputFileError, parse_json, read_text


class AppendOnlyLines:
    """One JSON object per line, each written with a single ``write`` and ``fsync``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def append(self, record: dict[str, Any]) -> None:
        """Write one record durably."""
        os.write(self._fd, (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)


def read_lines(path: str | Path) -> list[dict[str, Any]]:
    """The records of an append-only file (none if it does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    text = read_text(path)
    lines = text.split("\n")
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if number == len(lines) and not text.endswith("\n"):
            print(f"warning: {path}: line {number} was cut short (an interrupted write); dropped", file=sys.stderr)
            break
        record = parse_json(line, str(path), number)
        if not isinstance(record, dict):
            raise InputFileError(path, "expected a JSON object", number)
        records.append(record)
    return records
