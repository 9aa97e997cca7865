"""What every command-line entry point shares: one-line errors for bad input, a clean exit on Ctrl-C."""

from __future__ import annotations

import sys
from collections.abc import Callable

from orchestai.errors import UserInputError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


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
