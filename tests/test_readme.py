from __future__ import annotations

import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_exactly_the_readme_commands():
    readme = (PROJECT_ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    setup, tests = blocks[0].strip(), blocks[1].strip()
    assert "pip install -c constraints.txt torch==2.13.0" in setup and "python -m orchestai" in setup
    assert "-c constraints.txt -e" in setup  # the versions the suite was last run with
    assert "pytest" in tests and "mypy" in tests and "ruff format --check" in tests
    ci = (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()
    assert setup in ci and tests in ci
