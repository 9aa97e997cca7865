"""Where the bundled configuration lives (package data) and where generated data goes.

The YAML files ship inside the package (``orchestai/configs``), so an installed wheel
finds them. Data that OrchestAI generates (the default synthetic logs) is never written
into the package: it goes to ``$ORCHESTAI_DATA_DIR`` or, when that is unset, to
``data/`` under the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
DEFAULT_WORLD_PATH = CONFIG_DIR / "world.yaml"
DATA_DIR_VARIABLE = "ORCHESTAI_DATA_DIR"
DEFAULT_N_LOGS = 1000
DEFAULT_LOGS_SEED = 0


def data_dir() -> Path:
    """The folder generated data sets go to: ``$ORCHESTAI_DATA_DIR``, else ``./data``."""
    return Path(os.environ.get(DATA_DIR_VARIABLE) or "data")


def default_logs_path(n_logs: int, fingerprint: str) -> Path:
    """Where the default synthetic data set of ``n_logs`` logs is (or will be) generated.

    ``fingerprint`` names what the logs were generated from (the world, the seed): a
    file generated from another world or seed is never mistaken for this one.
    """
    return data_dir() / f"synthetic_logs_{n_logs}_{fingerprint}.jsonl"
