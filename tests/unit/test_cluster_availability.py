"""The store's availability as a client sees it: refuse at once without a majority, probe rarely."""

from __future__ import annotations

from vnstitch.cluster.availability import Availability, Check


def test_an_available_store_lets_every_transaction_go() -> None:
    seen = Availability()
    assert seen.available
    assert [seen.check(t) for t in (0.0, 0.1, 100.0)] == [Check.GO] * 3


def test_without_a_majority_one_probe_per_interval_and_refusals_between() -> None:
    seen = Availability(probe_every_s=1.0)
    seen.lost(10.0, "no member leads a majority")
    assert not seen.available
    assert seen.check(10.2) is Check.REFUSE  # the failure itself was the last look
    assert seen.check(10.99) is Check.REFUSE
    assert seen.check(11.0) is Check.PROBE
    assert seen.check(11.01) is Check.REFUSE  # a probe is handed out once per interval
    seen.lost(11.3, "still no majority")  # the probe failed
    assert seen.check(12.0) is Check.REFUSE
    assert seen.check(12.3) is Check.PROBE
    assert seen.down_since == 10.0  # since the first failure
    assert seen.regained(12.4) is not None
    assert seen.check(12.5) is Check.GO


def test_the_refusal_says_why_and_for_how_long() -> None:
    seen = Availability(probe_every_s=1.0)
    seen.lost(5.0, "no member leads a majority (m1: refused)")
    text = seen.refusal(7.5)
    assert text.startswith("no member leads a majority (m1: refused)")
    assert "2.5 s" in text and "refused at once" in text and "every 1 s" in text


def test_regained_reports_the_outage_once() -> None:
    seen = Availability()
    assert seen.regained(3.0) is None  # it was available: nothing to report
    seen.lost(3.0, "timed out")
    seen.lost(4.0, "timed out again")
    assert seen.regained(6.5) == 3.5
    assert seen.regained(7.0) is None
