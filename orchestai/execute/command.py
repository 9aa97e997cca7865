"""The command line of ``python -m orchestai.execute``, for scripts and tests that run it as a subprocess."""

from __future__ import annotations

import sys
from pathlib import Path


def execute_command(plans: str | Path, router: str, endpoints: str | Path, out: str | Path, *flags: str) -> list[str]:
    """``[python, -m, orchestai.execute, PLANS, --router R, --endpoints E, --out OUT, FLAGS...]`` with this interpreter."""
    command = [sys.executable, "-m", "orchestai.execute", str(plans), "--router", router]
    return [*command, "--endpoints", str(endpoints), "--out", str(out), *flags]
