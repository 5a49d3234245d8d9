"""The flow cookie layout: every rule on a switch names the owner that installed it.

64 bits: ``kind`` (8) | ``owner`` (40) | ``version`` (16). Kinds are the named constants below;
``owner`` is the owner's numeric id (a reservation or intent number, 0 for infrastructure);
``version`` counts re-stitches of one owner, so old and new paths differ during a move.
"""

from __future__ import annotations

from dataclasses import dataclass

KIND_CONTROL = 0x01  # LLDP/ARP to controller, table-miss
KIND_BASELINE = 0x02  # reactive shortest-path unicast and spanning-tree flooding
KIND_EDGE_POLICER = 0x03  # best-effort policing at edge ports
KIND_RESERVATION = 0x10
KIND_PREDICTED = 0x11
KIND_ARP_RESPONDER = 0x12  # a stitched pair's ARP answered in the data plane (shared by pairs)
KIND_INTENT = 0x20
KIND_ISOLATION = 0x21

OWNER_BITS = 40
VERSION_BITS = 16
OWNER_MAX = (1 << OWNER_BITS) - 1
VERSION_MAX = (1 << VERSION_BITS) - 1

MASK_KIND = 0xFF << (OWNER_BITS + VERSION_BITS)
MASK_KIND_OWNER = ((1 << (8 + OWNER_BITS)) - 1) << VERSION_BITS
MASK_ALL = (1 << 64) - 1


@dataclass(frozen=True)
class Cookie:
    """A decoded cookie."""

    kind: int
    owner: int = 0
    version: int = 0

    def encode(self) -> int:
        """The 64-bit cookie value."""
        if not 0 <= self.kind <= 0xFF:
            raise ValueError(f"cookie kind {self.kind} out of range 0..255")
        if not 0 <= self.owner <= OWNER_MAX:
            raise ValueError(f"cookie owner {self.owner} out of range 0..{OWNER_MAX}")
        if not 0 <= self.version <= VERSION_MAX:
            raise ValueError(f"cookie version {self.version} out of range 0..{VERSION_MAX}")
        return (
            (self.kind << (OWNER_BITS + VERSION_BITS)) | (self.owner << VERSION_BITS) | self.version
        )

    @staticmethod
    def decode(value: int) -> Cookie:
        """Split a 64-bit cookie into its parts."""
        return Cookie(
            kind=(value >> (OWNER_BITS + VERSION_BITS)) & 0xFF,
            owner=(value >> VERSION_BITS) & OWNER_MAX,
            version=value & VERSION_MAX,
        )


ARP_RESPONDER_COOKIE = Cookie(KIND_ARP_RESPONDER).encode()  # one entry serves every owner
