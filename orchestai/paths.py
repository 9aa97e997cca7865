"""Where the bundled configuration and the default synthetic data set live."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "configs"
DEFAULT_WORLD_PATH = CONFIG_DIR / "world.yaml"
DEFAULT_LOGS_PATH = PROJECT_ROOT / "data" / "synthetic_logs_1000.jsonl"
