"""`python -m testbed.cleanup`: remove bridges and veths left behind by dead test-bed runs."""

from __future__ import annotations

import argparse
import logging

from testbed.ovs import cleanup_leftovers


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, clean up, print what was removed and kept."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prefix", default="vns", help="name prefix of test-bed objects")
    parser.add_argument(
        "--include-ownerless",
        action="store_true",
        help="also remove prefix bridges that record no owner process",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    report = cleanup_leftovers(args.prefix, include_ownerless=args.include_ownerless)
    print(f"removed bridges: {' '.join(report.removed_bridges) or '-'}")
    print(f"removed interfaces: {' '.join(report.removed_interfaces) or '-'}")
    print(f"kept (owner alive): {' '.join(report.kept_bridges + report.kept_interfaces) or '-'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
