"""How fresh the flow counters of Open vSwitch are: its revalidators' period, set for a while.

OVS moves datapath statistics into OpenFlow rules' counters when its revalidators sweep the
datapath flows: every ``max-revalidator`` ms (500 by default), so a counter read can be up to
that old. Against five-minute steps that is nothing; a replay compressing a step into one
second needs sweeps every few tens of ms, or a step's count takes half the next one's bytes.
``revalidator_period`` sets it (global to this ovs-vswitchd) and puts back what was there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from testbed.ovs import vsctl

KEY = "max-revalidator"


@contextmanager
def revalidator_period(ms: int) -> Iterator[None]:
    """Revalidator sweeps every ``ms`` while inside; the previous setting restored after."""
    before = vsctl("--if-exists", "get", "Open_vSwitch", ".", f"other_config:{KEY}").strip()
    vsctl("set", "Open_vSwitch", ".", f"other_config:{KEY}={int(ms)}")
    try:
        yield
    finally:
        if before:
            vsctl("set", "Open_vSwitch", ".", f"other_config:{KEY}={before}")
        else:
            vsctl("remove", "Open_vSwitch", ".", "other_config", KEY)
