"""After a restart or a cluster takeover, predicted reservations wait for the next forecasts.

The forecast book lives only in the leader's memory; the predicted reservations it shaped are
stored with their plans and claimed again in place. Until the predictor's first batch reaches
the new core its book is empty, and provisioning would release every restored predicted
reservation ("no forecast"), and the batch make it again: a new id, new cookies, its rules
deleted and added back. So provisioning leaves predicted reservations as they are until that
batch is taken, for at most ``RESTORED_HOLD_STEPS`` steps (the predictor's default horizon:
no forecast it sent before reaches further); a predictor gone for longer has its reservations
released as before.
"""

from __future__ import annotations

from dataclasses import dataclass

RESTORED_HOLD_STEPS = 3


@dataclass
class RestoredHold:
    """Whether provisioning still waits for the first forecast batch after a start."""

    until: float  # traffic time
    waiting: bool = True

    @classmethod
    def starting(cls, now: float, step_s: float, steps: int = RESTORED_HOLD_STEPS) -> RestoredHold:
        """A hold from ``now`` (traffic time) for ``steps`` forecast steps of ``step_s``."""
        return cls(now + steps * step_s)

    def batch_taken(self) -> None:
        """A forecast batch reached the book: provisioning follows the forecasts again."""
        self.waiting = False

    def holds(self, now: float) -> bool:
        """True while predicted reservations are to be left as they are."""
        return self.waiting and now < self.until
