"""What every command-line entry point shares: one-line errors for bad input, a clean exit on Ctrl-C."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from orchestai.errors import UserInputError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


@contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM interrupts like Ctrl-C (a ``KeyboardInterrupt``), so both leave the last good model."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_cli(command: Callable[[], int]) -> int:
    """Run ``command`` and return its exit code; a :class:`UserInputError` becomes ``error: ...`` and status 2."""
    try:
        return command()
    except UserInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
