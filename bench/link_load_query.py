"""One link's peak over a window: the index (``LinkLoad``) against the sweep it replaced.

Usage: python -m bench.link_load_query [--sizes 100,1000,10000,100000] [--probes N] [--seed S]

For each size, that many bookings on one link (windows starting uniformly within 24 h, lasting
10 min to 4 h, as in ``bench.advance_admission``; 1-15 Mbit/s in thousandths), then
``--probes`` windows drawn the same way. Timed per call, in the same run: ``LinkLoad.peak``
(as admission and path search ask), the same with one booking left out (as the re-check of a
booking does), the sweep over every booking (sort the overlapping bookings' start and end
points, add up: what ``Timeline`` did before the index; fewer probes above 10,000 bookings),
and one booking added and taken back. Every answer of the index is checked against the
sweep's. Printed: median and p99 per size, and the ratio sweep / index.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

from bench.restitch_scale import percentile
from vnstitch.resources.link_load import LinkLoad, Span

DAY_S = 86_400.0
MIN_LEN_S, MAX_LEN_S = 600.0, 4 * 3600.0


def sweep(spans: list[Span], start: float, end: float, skip: int) -> tuple[int, float, float]:
    """The largest sum in ``[start, end)`` (``spans[skip]`` left out), where it first holds and
    the end of that elementary interval: the pass over every booking."""
    kept = [s for n, s in enumerate(spans) if n != skip and s[0] < end and start < s[1]]
    points = sorted(
        [(max(s, start), u) for s, _, u in kept] + [(min(e, end), -u) for _, e, u in kept]
    )
    best, best_at, total = 0, start, 0
    for index, (when, delta) in enumerate(points):
        total += delta
        following = points[index + 1][0] if index + 1 < len(points) else end
        if total > best and following > when:
            best, best_at = total, when
    if not best:
        return 0, start, end
    after = [t for s, e, _ in kept for t in (s, e) if best_at < t < end]
    return best, best_at, min(after, default=end)


def draw(rng: random.Random) -> Span:
    """A window in the next day of 10 min to 4 h, 1-15 Mbit/s in thousandths."""
    start = rng.uniform(0.0, DAY_S)
    return start, start + rng.uniform(MIN_LEN_S, MAX_LEN_S), rng.randint(1_000, 15_000)


def timed_us(calls: list[float], fn: object, *args: object) -> object:
    """Call ``fn(*args)``, append its wall time in µs to ``calls``, return its result."""
    assert callable(fn)
    t0 = time.perf_counter()
    out = fn(*args)
    calls.append((time.perf_counter() - t0) * 1e6)
    return out


def run(size: int, probes: int, seed: int) -> str:
    """One size's line of figures."""
    rng = random.Random(seed)
    spans = [draw(rng) for _ in range(size)]
    load = LinkLoad()
    t0 = time.perf_counter()
    for span in spans:
        load.add(*span)
    built_s = time.perf_counter() - t0
    index_us: list[float] = []
    skip_us: list[float] = []
    sweep_us: list[float] = []
    update_us: list[float] = []
    swept = probes if size <= 10_000 else max(20, probes // 20)
    for n in range(probes):
        start, end, units = draw(rng)
        skip = rng.randrange(size)
        got = timed_us(index_us, load.peak, start, end)
        got_skip = timed_us(skip_us, load.peak, start, end, spans[skip])
        if n < swept:
            want = timed_us(sweep_us, sweep, spans, start, end, -1)
            assert got == want, (got, want)
            assert got_skip == sweep(spans, start, end, skip), got_skip
        t0 = time.perf_counter()
        load.add(start, end, units)
        load.remove(start, end, units)
        update_us.append((time.perf_counter() - t0) * 1e6)

    def fig(calls: list[float]) -> str:
        return f"{statistics.median(calls):.1f} / {percentile(calls, 0.99):.1f} us"

    ratio = statistics.median(sweep_us) / statistics.median(index_us)
    return (
        f"{size} bookings ({load.points} breakpoints, built in {built_s * 1e3:.0f} ms):"
        f" index median / p99 {fig(index_us)}, one booking left out {fig(skip_us)};"
        f" sweep {fig(sweep_us)} ({len(sweep_us)} probes); sweep / index {ratio:.0f}x;"
        f" add + remove {fig(update_us)}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--probes", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    for size in (int(s) for s in args.sizes.split(",")):
        print(run(size, args.probes, args.seed), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
