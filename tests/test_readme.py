from __future__ import annotations

import re

from orchestai.paths import PROJECT_ROOT


def test_ci_runs_exactly_the_readme_commands():
    readme = (PROJECT_ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    setup, tests = blocks[0].strip(), blocks[1].strip()
    assert "pip install torch==2.13.0" in setup and "python -m orchestai" in setup
    assert "pytest" in tests
    ci = (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()
    assert setup in ci and tests in ci
