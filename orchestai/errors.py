"""The one base class of the errors a user's input causes (a bad file, flag, config key or checkpoint).

Command-line entry points print such an error as one line and exit with status 2
(:func:`orchestai.cli.run_cli`); any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserInputError(ValueError):
    """Bad input from the user; the message names the file and the record/field or config key."""
