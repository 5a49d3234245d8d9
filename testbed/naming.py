"""Deterministic names and addresses of test-bed switches, hosts and relays."""

from __future__ import annotations

import ipaddress
import os

IFNAMSIZ = 15  # longest Linux interface name


def switch_name(prefix: str, index: int) -> str:
    """Name of the index-th switch (1-based), e.g. 'vns3'."""
    return f"{prefix}{index}"


def relay_name(prefix: str, index: int) -> str:
    """Name of the index-th delay relay node (1-based), e.g. 'vnsr2'."""
    return f"{prefix}r{index}"


def host_name(index: int) -> str:
    """Name of the index-th host (1-based), e.g. 'h4'."""
    return f"h{index}"


def host_ip(index: int) -> str:
    """IPv4 address of the index-th host inside 10.0.0.0/8, e.g. 10.0.0.4 (10.0.1.44 for 300)."""
    if not 0 < index < 1 << 24:
        raise ValueError(f"host index out of range for 10.0.0.0/8: {index}")
    return str(ipaddress.IPv4Address(0x0A000000 + index))


def host_mac(index: int) -> str:
    """MAC address of the index-th host: the index in hex over the 6 bytes, 00:00:00:00:01:2c."""
    if not 0 < index < 1 << 40:
        raise ValueError(f"host index out of range for a unicast MAC: {index}")
    raw = index.to_bytes(6, "big")
    return ":".join(f"{b:02x}" for b in raw)


def intf_name(node: str, port: int) -> str:
    """Mininet's name for a node's interface on a port, e.g. 'vns3-eth2'."""
    return f"{node}-eth{port}"


def check_intf_name(name: str) -> None:
    """Raise ValueError if a name is too long for a Linux interface."""
    if len(name) > IFNAMSIZ:
        raise ValueError(f"interface name {name!r} exceeds {IFNAMSIZ} characters: shorten prefix")


def unique_prefix(base: str = "vns", salt: int | None = None) -> str:
    """A run prefix of letters only for this process (base + 4 letters derived from the PID)."""
    value = (os.getpid() if salt is None else salt) % 26**4
    letters = ""
    for _ in range(4):
        value, digit = divmod(value, 26)
        letters += chr(ord("a") + digit)
    return base + letters
