"""Output folders of training runs: never silently overwritten, and locked while a run writes.

:func:`claim_output_dir` refuses a non-empty folder unless the run resumes or was told to
overwrite, and holds a lock file (with the writer's process id) for as long as the run
writes, so two runs cannot interleave their outputs in one folder. With ``overwrite``
the previous run's outputs are removed first, so no stale file is left beside new ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from orchestai.errors import UserInputError

LOCK_NAME = ".orchestai.lock"


class OutputDirError(UserInputError):
    """An output folder cannot be used (a file, not writable, not empty, or locked by another run)."""


def _lock_holder(lock: Path) -> int | None:
    """The process id in a lock file if that process still runs, else ``None`` (a stale lock)."""
    try:
        pid = int(lock.read_text(encoding="utf-8").strip() or "0")
    except (OSError, ValueError):
        return None
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


@contextmanager
def claim_output_dir(
    path: str | Path, flag: str = "--out-dir", resume: bool = False, overwrite: bool = False, outputs: Sequence[str] = ()
) -> Iterator[Path]:
    """Create (or reuse) the output folder ``path`` for one run and lock it while the run writes.

    ``outputs`` are the glob patterns of the files a run writes: with ``overwrite`` those
    of a previous run are removed before this one starts.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputDirError(f"{path}: {flag} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputDirError(f"{path}: {flag} cannot be created ({error.strerror})") from None
    lock = path / LOCK_NAME
    for _ in range(2):
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            holder = _lock_holder(lock)
            if holder is not None and holder != os.getpid():
                raise OutputDirError(
                    f"{path}: another run (process {holder}) is writing to this {flag}; wait for it to end, "
                    f"or remove {lock} if that process is gone"
                ) from None
            lock.unlink(missing_ok=True)  # stale: its run has ended
        except OSError as error:
            raise OutputDirError(f"{path}: {flag} is not writable ({error.strerror})") from None
    else:
        raise OutputDirError(f"{path}: could not take the lock {lock}")
    try:
        os.write(handle, str(os.getpid()).encode())
        os.close(handle)
        existing = sorted(p.name for p in path.iterdir() if p.name != LOCK_NAME)
        if existing and not (resume or overwrite):
            shown = ", ".join(existing[:3]) + (", ..." if len(existing) > 3 else "")
            raise OutputDirError(
                f"{path}: {flag} is not empty ({shown}); pass --overwrite to replace a previous run's outputs, "
                "--resume to continue one, or choose another folder"
            )
        if overwrite and not resume:
            for pattern in outputs:
                for stale in path.glob(pattern):
                    if stale.is_file():
                        stale.unlink()
        yield path
    finally:
        lock.unlink(missing_ok=True)
