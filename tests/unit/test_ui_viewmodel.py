"""The web view's view-model code (JavaScript) under node's own test runner.

``tests/ui/*.test.mjs`` import the page's pure modules (``viewmodel.mjs``, ``store.mjs``,
``sse.mjs``) and check how they shape API documents for the page. Node comes from Debian's
``nodejs`` (scripts/setup.sh); the time zone is fixed so local times differ from UTC.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = sorted((ROOT / "tests" / "ui").glob("*.test.mjs"))


def test_the_view_model_passes_its_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("needs node (Debian's nodejs: run `make setup`)")
    assert TESTS, "no tests/ui/*.test.mjs"
    env = {**os.environ, "TZ": "Europe/Berlin", "NO_COLOR": "1"}
    proc = subprocess.run(
        [node, "--test", "--test-reporter=tap", *map(str, TESTS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "# fail 0" in proc.stdout and "# pass " in proc.stdout, proc.stdout[-2000:]
