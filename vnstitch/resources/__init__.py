"""RM: the resource ledger -- all-or-nothing allocation that never over-books."""

from vnstitch.resources.admission import (
    Admission,
    Holding,
    InsufficientResources,
    LinkUsage,
    MoveInProgress,
    Shortfall,
    Usage,
)
from vnstitch.resources.keys import Demands, NodeResource, ResourceKey, ResourceKind
from vnstitch.resources.ledger import Ledger

__all__ = [
    "Admission",
    "Demands",
    "Holding",
    "InsufficientResources",
    "Ledger",
    "LinkUsage",
    "MoveInProgress",
    "NodeResource",
    "ResourceKey",
    "ResourceKind",
    "Shortfall",
    "Usage",
]
