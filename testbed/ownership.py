"""Who owns a test-bed object: owner PIDs on bridges and per-prefix claim locks.

Two runs may share the machine. Every bridge the test bed creates records the creating process
in `external_ids` (atomically, in the transaction that creates it), and every run holds an
flock on `<LOCK_DIR>/<prefix>.lock` for its lifetime. The kernel drops the flock when the
process dies, so "is this prefix claimed?" is a race-free liveness test even for veths that
exist before their bridge does.
"""

from __future__ import annotations

import fcntl
import os
import re
from dataclasses import dataclass
from pathlib import Path

from testbed.wait import wait_until

OWNER_KEY = "vnstitch-owner"
OWNER_START_KEY = "vnstitch-owner-start"
PREFIX_KEY = "vnstitch-prefix"
LOCK_DIR = Path(os.environ.get("VNSTITCH_LOCK_DIR", "/run/vnstitch"))
_PREFIX_RE = re.compile(r"[a-z]+")


class PrefixInUseError(RuntimeError):
    """Another live process holds the claim on this switch-name prefix."""


def validate_prefix(prefix: str) -> None:
    """Reject prefixes that would make names ambiguous (they must be lowercase letters only)."""
    if not _PREFIX_RE.fullmatch(prefix):
        raise ValueError(f"prefix must be lowercase letters only, got {prefix!r}")


def run_prefix_of(name: str) -> str:
    """Map a bridge or interface name (e.g. 'vns12-eth3') to its run prefix ('vns')."""
    return name.split("-", 1)[0].rstrip("0123456789")


def process_start_time(pid: int) -> str | None:
    """Start time of a process in clock ticks since boot, or None if it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19]  # field 22 of stat; fields[0] is field 3


def owner_is_alive(pid: int, start_time: str | None = None) -> bool:
    """True if the process exists (and, when start_time is given, is the same incarnation)."""
    current = process_start_time(pid)
    if current is None:
        return False
    return start_time is None or start_time == current


def owner_external_ids(prefix: str) -> dict[str, str]:
    """external_ids entries that mark a bridge as created by this process for this run prefix."""
    pid = os.getpid()
    return {
        OWNER_KEY: str(pid),
        OWNER_START_KEY: process_start_time(pid) or "",
        PREFIX_KEY: prefix,
    }


def _lock_path(prefix: str) -> Path:
    return LOCK_DIR / f"{prefix}.lock"


@dataclass
class PrefixClaim:
    """An flock held on a run prefix; released by release() or by the process dying."""

    prefix: str
    fd: int | None

    def release(self) -> None:
        """Give the prefix back."""
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = None


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def claim_prefix(prefix: str) -> PrefixClaim:
    """Take the claim on a run prefix; PrefixInUseError if a live process holds it."""
    validate_prefix(prefix)
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    fd = os.open(_lock_path(prefix), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        # prefix_is_claimed() takes a shared lock for an instant: retry briefly before giving up
        wait_until(lambda: _try_flock(fd), timeout_s=1.0, what=f"the claim on {prefix!r}")
    except TimeoutError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        raise PrefixInUseError(f"prefix {prefix!r} is in use by live process {holder}") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return PrefixClaim(prefix, fd)


def prefix_is_claimed(prefix: str) -> bool:
    """True if some live process (this one included) holds the claim on the run prefix."""
    path = _lock_path(prefix)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
