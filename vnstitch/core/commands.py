"""Northbound commands: what a REST route asks the core, and the interface routes call.

A route turns an HTTP request into one of these commands (path parameters and the decoded
JSON body, unvalidated) and calls :meth:`ControllerApi.call`; the core validates, acts on its
own event queue and answers with a :class:`~vnstitch.core.actions.Reply`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from vnstitch.core.actions import Reply


@dataclass(frozen=True, slots=True)
class GetTopology:
    """Switches, directed links and hosts."""


@dataclass(frozen=True, slots=True)
class GetTopologyEvents:
    """Topology events newer than ``since`` (a text from the query string, checked by the core)."""

    since: str


@dataclass(frozen=True, slots=True)
class GetLinks:
    """Every directed link with capacity, reserved and measured Mbit/s."""


@dataclass(frozen=True, slots=True)
class ListReservations:
    """Every reservation not released."""


@dataclass(frozen=True, slots=True)
class GetReservation:
    """One reservation by id (as given in the path)."""

    res_id: str


@dataclass(frozen=True, slots=True)
class CreateReservation:
    """Stitch a reservation from a request body."""

    body: Any


@dataclass(frozen=True, slots=True)
class ModifyReservation:
    """Change a reservation (make-before-break) with the fields of ``body``.

    ``force`` allows changing a forecast-driven reservation; an intent's never changes here.
    """

    res_id: str
    body: Any
    force: bool = False


@dataclass(frozen=True, slots=True)
class TraceReservation:
    """The hop-by-hop path a reservation's packets take in the switches' reported tables."""

    res_id: str


@dataclass(frozen=True, slots=True)
class DeleteReservation:
    """Withdraw a reservation (``force``: also a forecast-driven one)."""

    res_id: str
    force: bool = False


@dataclass(frozen=True, slots=True)
class ListIntents:
    """Every intent, withdrawn ones included."""


@dataclass(frozen=True, slots=True)
class GetIntent:
    """One intent by id."""

    intent_id: str


@dataclass(frozen=True, slots=True)
class CreateIntent:
    """Submit an intent body, or only plan it (``dry_run``)."""

    body: Any
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class DeleteIntent:
    """Withdraw an intent."""

    intent_id: str


@dataclass(frozen=True, slots=True)
class GetForecasts:
    """The latest forecast of every pair."""


@dataclass(frozen=True, slots=True)
class ReservationAvailability:
    """The earliest window that fits a request (``POST /v1/reservations/availability``)."""

    body: Any


@dataclass(frozen=True, slots=True)
class GetStats:
    """Controller counters."""


@dataclass(frozen=True, slots=True)
class GetMetrics:
    """The Prometheus text exposition."""


Command = (
    GetTopology
    | GetTopologyEvents
    | GetLinks
    | ListReservations
    | GetReservation
    | CreateReservation
    | ModifyReservation
    | DeleteReservation
    | TraceReservation
    | ReservationAvailability
    | ListIntents
    | GetIntent
    | CreateIntent
    | DeleteIntent
    | GetForecasts
    | GetStats
    | GetMetrics
)
# the commands that change durable state (refused at once while a cluster store cannot commit)
WRITES = (CreateReservation, ModifyReservation, DeleteReservation, CreateIntent, DeleteIntent)


class ControllerApi(Protocol):
    """What the REST routes may use of the controller: nothing else."""

    @property
    def open_reads(self) -> bool:
        """True when reads need no bearer token."""
        ...

    def authorize(self, header: str | None) -> int:
        """200 for a valid bearer token, 401 when it is missing, 403 when it is wrong."""
        ...

    def call(self, command: Command) -> Reply:
        """Run ``command`` on the controller's event queue and wait for its reply."""
        ...
