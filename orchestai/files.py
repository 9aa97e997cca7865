"""Reading a user's input file safely, and writing output files atomically: one clear error for every way it can be unusable, and nothing that hangs.

A path that is missing, a directory, a FIFO or device (reading would block), unreadable,
not UTF-8 text, or (for JSON) malformed, too deeply nested or holding a number too long
to convert raises :class:`InputFileError` naming the file, which the CLIs print as one line.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestai.errors import UserInputError


class InputFileError(UserInputError):
    """An input file cannot be read or parsed; the message names it (and the line, where there is one)."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None) -> None:
        self.path, self.problem, self.line = str(path), problem, line
        super().__init__(f"{path}: " + (f"line {line}: " if line is not None else "") + problem)


def check_regular_file(path: str | Path) -> Path:
    """``path`` as a :class:`Path` if it is an existing regular file (not a folder, FIFO or device)."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except PermissionError:
        raise InputFileError(path, "permission denied") from None
    except OSError as error:
        raise InputFileError(path, f"cannot be read ({error.strerror})") from None
    if stat.S_ISDIR(mode):
        raise InputFileError(path, "is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise InputFileError(path, "not a regular file (a FIFO, socket or device)")
    return path


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a regular file, or :class:`InputFileError`."""
    path = check_regular_file(path)
    try:
        return path.read_bytes()
    except PermissionError:
        raise InputFileError(path, "permission denied") from None
    except OSError as error:
        raise InputFileError(path, f"cannot be read ({error.strerror})") from None


def read_text(path: str | Path) -> str:
    """The UTF-8 text of a regular file, or :class:`InputFileError`."""
    data = read_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputFileError(path, f"not UTF-8 text (byte {error.start})") from None


def parse_json(text: str, source: str, line: int | None = None) -> Any:
    """Parse JSON text, turning every parser failure into :class:`InputFileError` naming ``source``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        at_line = error.lineno + (line - 1 if line else 0)
        raise InputFileError(source, f"malformed JSON: {error.msg} (column {error.colno})", at_line) from None
    except RecursionError:
        raise InputFileError(source, "JSON nested too deeply", line) from None
    except ValueError as error:  # e.g. an integer of thousands of digits
        raise InputFileError(source, f"unusable JSON value ({error})", line) from None


def _write_atomically(path: str | Path, write: Callable[[str], object]) -> Path:
    """``write(temporary path)`` in the target's folder, then a rename onto ``path``: no torn file on a crash."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` atomically: a temporary file in the same folder, then a rename (no torn file on a crash)."""
    return _write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    return write_text_atomic(path, json.dumps(data, indent=1) + "\n")


def save_torch_atomic(path: str | Path, payload: Any) -> Path:
    """``torch.save`` of plain data (tensors, numbers, strings, lists, dicts), atomically."""
    import torch

    return _write_atomically(path, lambda tmp: torch.save(payload, tmp))


def load_torch_plain(path: str | Path, kind: str) -> Any:
    """A file :func:`save_torch_atomic` wrote, loaded with ``weights_only=True`` (no code runs).

    ``kind`` names what the file should be in the error (``InputFileError``) for one
    that is missing, not a regular file, truncated or foreign.
    """
    import torch

    path = check_regular_file(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several kinds for truncated or foreign files
        # torch's messages run to several lines (and advise loading without weights_only): keep the first sentence
        first = str(error).strip().splitlines()[0].split(". ")[0].rstrip(".") if str(error).strip() else ""
        raise InputFileError(path, f"not a readable {kind} ({type(error).__name__}: {first})") from None
