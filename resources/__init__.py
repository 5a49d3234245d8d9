"""RM: the resource ledger -- all-or-nothing allocation that never over-books."""

from resources.admission import (
    Admission,
    Holding,
    InsufficientResources,
    LinkUsage,
    MoveInProgress,
    Shortfall,
    Usage,
)
from resources.keys import Demands, NodeResource, ResourceKey, ResourceKind
from resources.ledger import Ledger

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
