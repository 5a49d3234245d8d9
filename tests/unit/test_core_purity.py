"""The pure core reads no clock: time reaches it only as a parameter (``now``, an Instant)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = [
    "topology",
    "vnstitch/clock.py",
    "vnstitch/core",
    "vnstitch/forwarding",
    "vnstitch/intents",
    "vnstitch/messages",
    "vnstitch/predictive",
    "vnstitch/resources",
    "vnstitch/rules",
    "vnstitch/stitcher",
    "vnstitch/store",
    "vnstitch/verify",
]
CLOCK_CALLS = {"time", "monotonic", "perf_counter", "process_time", "now", "utcnow", "today"}
CLOCK_MODULES = {"time"}


def _modules() -> list[Path]:
    out: list[Path] = []
    for entry in PURE:
        path = ROOT / entry
        out.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return out


def clock_reads(source: str) -> list[str]:
    """Every clock read or clock-module import in a module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name in CLOCK_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module in CLOCK_MODULES:
            found.append(f"from {node.module} import ...")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOCK_CALLS
        ):
            found.append(f"{ast.unparse(node.func)}() at line {node.lineno}")
    return found


def test_the_scan_finds_what_it_looks_for() -> None:
    source = "import time\nfrom datetime import datetime\nx = datetime.now()\ny = time.monotonic()"
    assert len(clock_reads(source)) == 3


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_pure_module_reads_a_clock(path: Path) -> None:
    assert clock_reads(path.read_text()) == []
