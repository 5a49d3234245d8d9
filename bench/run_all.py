"""Run every benchmark in turn (``make bench``); Mininet ones only as root with ``--mininet``.

Each benchmark prints its own figures; this prints a header per benchmark and the exit codes.
Benchmarks that need ``../shared/data`` are skipped with a note when it is absent.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
PURE = [
    "zoo_load",
    "stitch_planning",
    "ledger_scale",
    "forecast_round",
    "restitch_scale",
    "verify_trace",
    "audit_lookup",
    "backup_bookings",
    "te_optimum",
    "store_commit",
    "advance_admission",
    "state_flush",
    "link_load_query",
]
NEEDS_DATA = {
    "zoo_load",
    "stitch_planning",
    "restitch_scale",
    "verify_trace",
    "audit_lookup",
    "backup_bookings",
    "te_optimum",
    "advance_admission",
}
MININET = [
    "discovery",
    "stitch_mininet",
    "restitch_mininet",
    "restart_learned",
    "failover_loss",
    "cluster_takeover",
]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; returns non-zero if any failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mininet", action="store_true", help="also run the Mininet benchmarks")
    args = parser.parse_args(argv)
    names = PURE + (MININET if args.mininet else [])
    failed = []
    for name in names:
        if name in NEEDS_DATA and not DATA.exists():
            print(f"=== {name}: skipped, {DATA} not found", flush=True)
            continue
        if name in MININET and os.geteuid() != 0:
            print(f"=== {name}: skipped, needs root", flush=True)
            continue
        print(f"=== {name}", flush=True)
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"])
        if code:
            failed.append(name)
    print(f"=== done: {len(names) - len(failed)} ok, failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
