"""Generic fixtures for integration tests: skip cleanly where the test bed cannot run."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

REQUIRED_TOOLS = ("ovs-vsctl", "ovs-ofctl", "ip", "ethtool", "ping", "iperf3", "mnexec")


def testbed_unavailable_reason() -> str | None:
    """Why Mininet/OVS tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root (Mininet and Open vSwitch)"
    if importlib.util.find_spec("mininet") is None:
        return "Mininet's Python package is not importable (use the project's .venv)"
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"missing tools: {', '.join(missing)} (run `make setup`)"
    return None


@pytest.fixture(scope="session")
def testbed_host() -> None:
    """Skip unless root with Mininet and OVS; start OVS if it is not running."""
    reason = testbed_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from testbed.ovs import ensure_ovs_running

    ensure_ovs_running()


@pytest.fixture(scope="session")
def root_only() -> None:
    """Skip unless root (for tests that need namespaces but not OVS)."""
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
