"""The one interface of the durable store, whatever keeps it.

Two implementations: ``vnstitch.store.sqlite.StateStore`` (one file, the embedded default) and
``vnstitch.cluster.ovsdb_store.ClusterStore`` (a clustered OVSDB, replicated by Raft across
members). The same contract tests run on both (``tests/unit/test_store_contract.py``). Every
write method commits before it returns (inside ``atomic()`` at the end of the outermost block),
so whatever the controller acknowledged is stored; a write that cannot be committed raises
``StoreError`` (``StoreUnavailable`` when no member can commit it now) and changes nothing.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from vnstitch.store.records import (
    Counter,
    HostRecord,
    IntentRecord,
    ReservationRecord,
    StoredState,
)
from vnstitch.store.schema import StoreError


class StoreUnavailable(StoreError):
    """The store cannot commit now (e.g. no quorum of members); nothing was written."""


class Store(Protocol):
    """What ``vnstitch.core.durable.DurableState`` needs from a store."""

    @property
    def description(self) -> str:
        """Where the state lives, for log lines (a file path, a member list)."""
        ...

    def atomic(self) -> AbstractContextManager[None]:
        """One transaction around the block (nested blocks join the outermost one)."""
        ...

    def close(self) -> None:
        """Release the store (committed data stays)."""
        ...

    def take_id(self, counter: Counter) -> int:
        """The next number of ``counter``, never handed out again."""
        ...

    def raise_counter(self, counter: Counter, next_value: int) -> None:
        """Make the next number of ``counter`` at least ``next_value``."""
        ...

    def add_intent(self, record: IntentRecord) -> None:
        """Store a new intent; AlreadyStored if its id is taken."""
        ...

    def update_intent(self, record: IntentRecord) -> None:
        """Replace a stored intent; StoreError if it is not stored."""
        ...

    def delete_intent(self, intent_id: str) -> bool:
        """Forget an intent; False if it was not stored (True inside ``atomic``)."""
        ...

    def get_intent(self, intent_id: str) -> IntentRecord | None:
        """One committed intent, if present."""
        ...

    def put_reservation(self, record: ReservationRecord) -> None:
        """Store a reservation, replacing the one with the same id."""
        ...

    def delete_reservation(self, reservation_id: int) -> bool:
        """Forget a reservation; False if it was not stored (True inside ``atomic``)."""
        ...

    def put_host(self, record: HostRecord) -> None:
        """Store a host, replacing the one with the same MAC."""
        ...

    def delete_host(self, mac: str) -> bool:
        """Forget a host; False if it was not stored (True inside ``atomic``)."""
        ...

    def load(self) -> StoredState:
        """Everything committed, from one consistent snapshot (intents in creation order)."""
        ...
