"""Property test: random interleavings of ledger operations never over-book and never drift.

A plain model (holdings per owner, capacities per key, in integer thousandths) runs beside the
ledger; after every step the ledger's answers must match the model and ``violations()`` must be
empty.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from topology.model import LinkId
from vnstitch.resources import (
    InsufficientResources,
    Ledger,
    MoveInProgress,
    NodeResource,
    ResourceKind,
)
from vnstitch.resources.keys import ResourceKey

LINKS = [LinkId(1, 1, 2, 1), LinkId(2, 1, 1, 1), LinkId(2, 2, 3, 1), LinkId(3, 2, 4, 1)]
NODES = [NodeResource(ResourceKind.METERS, 2), NodeResource(ResourceKind.CPU, "h1")]
UNKNOWN = LinkId(9, 9, 8, 8)
KEYS: list[ResourceKey] = [*LINKS, *NODES]
HEADROOM = 0.1
HEADROOM_PPM = 100_000

owners = st.integers(min_value=0, max_value=4)
# Exact quarters, zero claims included; small against capacities so several owners fit.
amounts = st.one_of(st.just(0.0), st.integers(min_value=1, max_value=160).map(lambda q: q / 4))
demands = st.dictionaries(st.sampled_from(KEYS), amounts, max_size=4)
capacities = st.integers(min_value=0, max_value=150)

Units = dict[ResourceKey, int]


def units_of(amounts_: dict[ResourceKey, float]) -> Units:
    """The model's integer thousandths: demands round up (halving quarters twice gives 62.5)."""
    return {key: math.ceil(amount * 1000 - 1e-9) for key, amount in amounts_.items()}


class LedgerMachine(RuleBasedStateMachine):
    """Drives one ledger and an independent model through random operations."""

    def __init__(self) -> None:
        super().__init__()
        self.ledger: Ledger[int] = Ledger(link_headroom=HEADROOM)
        self.capacity: Units = {}
        self.holdings: dict[int, Units] = {}
        self.moves: dict[int, tuple[Units, Units]] = {}
        self.cut_holders: dict[ResourceKey, set[int]] = {}
        self.last_step_was_cut = False
        self.previous_overbooked: dict[ResourceKey, float] = {}

    @initialize(caps=st.lists(st.integers(50, 150), min_size=len(KEYS), max_size=len(KEYS)))
    def set_capacities(self, caps: list[int]) -> None:
        for key, cap in zip(KEYS, caps, strict=True):
            assert self.ledger.set_capacity(key, cap) == set()
            self.capacity[key] = cap * 1000

    # ---- model ----------------------------------------------------------------------------
    def usable(self, key: ResourceKey) -> int:
        cap = self.capacity.get(key, 0)
        return cap * (1_000_000 - HEADROOM_PPM) // 1_000_000 if isinstance(key, LinkId) else cap

    def reserved(self, key: ResourceKey) -> int:
        return sum(held.get(key, 0) for held in self.holdings.values())

    def fits(self, wanted: Units, held: Units) -> bool:
        for key, units in wanted.items():
            mine = held.get(key, 0)
            if units > mine and units - mine > self.usable(key) - self.reserved(key):
                return False
        return True

    # ---- rules ----------------------------------------------------------------------------
    @rule(owner=owners, asked=demands)
    def allocate(self, owner: int, asked: dict[ResourceKey, float]) -> None:
        self.last_step_was_cut = False
        wanted = units_of(asked)
        if owner in self.holdings:
            try:
                self.ledger.allocate(owner, asked)
            except ValueError:
                return
            raise AssertionError("a second allocation to one owner was granted")
        if self.fits(wanted, {}):
            assert self.ledger.allocate(owner, asked).amounts == asked
            self.holdings[owner] = wanted
        else:
            try:
                self.ledger.allocate(owner, asked)
            except InsufficientResources as err:
                assert err.shortfalls and set(err.shortfalls) <= set(asked)
            else:
                raise AssertionError("allocation that does not fit was granted")

    @rule(owner=owners, amount=amounts)
    def allocate_on_unknown_key(self, owner: int, amount: float) -> None:
        """A key with no capacity is a shortfall unless nothing is asked of it."""
        self.allocate(owner, {UNKNOWN: amount})

    @rule(owner=owners)
    def release(self, owner: int) -> None:
        self.last_step_was_cut = False
        released = self.ledger.release(owner)
        if owner not in self.holdings:
            assert released is None
            return
        assert released is not None
        assert units_of(dict(released.amounts)) == self.holdings.pop(owner)
        self.moves.pop(owner, None)

    @rule(owner=owners, asked=demands)
    def resize(self, owner: int, asked: dict[ResourceKey, float]) -> None:
        self.last_step_was_cut = False
        if owner not in self.holdings or owner in self.moves:
            return
        wanted = units_of(asked)
        if self.fits(wanted, self.holdings[owner]):
            self.ledger.resize(owner, asked)
            self.holdings[owner] = wanted
        else:
            try:
                self.ledger.resize(owner, asked)
            except InsufficientResources:
                pass
            else:
                raise AssertionError("resize that does not fit was granted")

    @rule(owner=owners, factor=st.sampled_from([0.0, 0.5, 1.0, 2.0]))
    def rescale(self, owner: int, factor: float) -> None:
        """Resize on the same keys (a forecast going down or up), halving exact quarters."""
        held = self.ledger.holding(owner)
        if held is None or owner in self.moves:
            return
        self.resize(owner, {key: amount * factor for key, amount in held.amounts.items()})

    @rule(owner=owners, asked=demands)
    def begin_move(self, owner: int, asked: dict[ResourceKey, float]) -> None:
        self.last_step_was_cut = False
        if owner not in self.holdings:
            return
        if owner in self.moves:
            try:
                self.ledger.begin_move(owner, asked)
            except MoveInProgress:
                return
            raise AssertionError("second move was started")
        old, new = self.holdings[owner], units_of(asked)
        both = dict(old)
        for key, units in new.items():
            both[key] = max(units, old.get(key, 0))
        if self.fits(both, old):
            self.ledger.begin_move(owner, asked)
            self.holdings[owner] = both
            self.moves[owner] = (old, new)
        else:
            try:
                self.ledger.begin_move(owner, asked)
            except InsufficientResources:
                pass
            else:
                raise AssertionError("move that does not fit was started")

    @rule(owner=owners, commit=st.booleans())
    def end_move(self, owner: int, commit: bool) -> None:
        self.last_step_was_cut = False
        if owner not in self.moves:
            return
        old, new = self.moves.pop(owner)
        if commit:
            self.ledger.commit_move(owner)
            self.holdings[owner] = new
        else:
            self.ledger.abort_move(owner)
            self.holdings[owner] = old

    @rule(key=st.sampled_from(KEYS), cap=capacities)
    def change_capacity(self, key: ResourceKey, cap: int) -> None:
        """A capacity cut (link down when 0) or restore."""
        self.last_step_was_cut = True
        self.capacity[key] = cap * 1000
        displaced = self.ledger.set_capacity(key, cap)
        if self.reserved(key) > self.usable(key):
            assert displaced == {o for o, h in self.holdings.items() if h.get(key, 0) > 0}
        else:
            assert displaced == set()

    @rule(key=st.sampled_from(KEYS))
    def remove_resource(self, key: ResourceKey) -> None:
        self.last_step_was_cut = True
        self.capacity.pop(key, None)
        displaced = self.ledger.remove_resource(key)
        assert displaced == {o for o, h in self.holdings.items() if key in h}

    # ---- invariants -----------------------------------------------------------------------
    @invariant()
    def no_violations(self) -> None:
        assert self.ledger.violations() == []

    @invariant()
    def ledger_matches_model(self) -> None:
        for key in [*KEYS, UNKNOWN]:
            assert round(self.ledger.reserved(key) * 1000) == self.reserved(key)
            assert round(self.ledger.usable(key) * 1000) == self.usable(key)
            free = max(0, self.usable(key) - self.reserved(key))
            assert round(self.ledger.free(key) * 1000) == free
            assert self.ledger.owners_of(key) == {o for o, h in self.holdings.items() if key in h}
        assert self.ledger.owners() == set(self.holdings)
        for owner, held in self.holdings.items():
            holding = self.ledger.holding(owner)
            assert holding is not None and units_of(dict(holding.amounts)) == held
            assert self.ledger.in_move(owner) == (owner in self.moves)

    @invariant()
    def never_overbooked_except_after_a_cut(self) -> None:
        overbooked = {k: self.ledger.reserved(k) for k in self.ledger.overbooked()}
        for key in [*KEYS, UNKNOWN]:
            if self.reserved(key) > self.usable(key):
                assert key in overbooked
        for key, reserved in overbooked.items():
            if key in self.previous_overbooked:
                assert reserved <= self.previous_overbooked[key], "over-booked key grew"
            else:
                assert self.last_step_was_cut, "a key became over-booked without a cut"
        self.previous_overbooked = overbooked


LedgerMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerProperties = LedgerMachine.TestCase
