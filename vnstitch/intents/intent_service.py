"""The intent service: submitted intents kept true by compiling them to reservations and drops.

Pure orchestration over the stitcher: it returns install jobs and calls ``persist`` (the
durable store, injected) with every intent it changes *before* the change is acknowledged.
Intents are declarative: one that cannot be met now is FAILED with the reason and compiled
again whenever the topology or free capacity changes (:meth:`refresh`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from vnstitch.clock import rfc3339
from vnstitch.intents.compile import Compilation, compile_intent
from vnstitch.intents.conflicts import Conflict, find_conflicts
from vnstitch.intents.lifecycle import (
    advance,
    can_advance,
    is_live,
    new_intent,
    recover,
    with_reservations,
)
from vnstitch.intents.model import Intent, IntentSpec, IntentState, intent_id
from vnstitch.intents.resolve import HostDirectory
from vnstitch.intents.specs import isolates
from vnstitch.intents.windows import WindowBooker, occurrence, over_reason, windowed
from vnstitch.resources.timeline import Window
from vnstitch.rules.cookies import OWNER_MAX
from vnstitch.rules.model import FlowRule
from vnstitch.stitcher.install_jobs import FlowAdd, FlowDelete, Job, JobKind
from vnstitch.stitcher.reservation import Origin, Reservation, ReservationRequest, State
from vnstitch.stitcher.schedule import INSTALL_WAIT
from vnstitch.stitcher.stitch_service import Refusal, StitchService

S = IntentState
DRY_RUN_NUMBER = OWNER_MAX  # a number no stored intent gets: dry runs are never kept
Persist = Callable[[Intent], None]


@dataclass
class Submission:
    """What submitting an intent produced: the intent (or conflicts) and jobs to run.

    ``released``: reservations an isolation withdrew (preempted, or forecast-driven).
    """

    intent: Intent | None
    conflicts: list[Conflict] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    released: list[int] = field(default_factory=list)


@dataclass
class DryRun:
    """What an intent would use now, without installing anything."""

    compilation: Compilation
    paths: list[dict[str, object]]
    refusals: list[dict[str, object]]
    withdraws: list[dict[str, object]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """The ``?dry_run=true`` answer."""
        ok = self.compilation.complete and not self.refusals
        reason = self.compilation.reason or (
            str(self.refusals[0]["reason"]) if self.refusals else None
        )
        return {
            "dry_run": True,
            "satisfiable": ok,
            "reason": None if ok else reason,
            **self.compilation.to_dict(),
            "paths": self.paths,
            "refusals": self.refusals,
            "withdraws": self.withdraws,
        }


class IntentService:
    """Owns every intent; keeps each one compiled, installed and persisted."""

    def __init__(
        self,
        stitcher: StitchService,
        directory: HostDirectory,
        persist: Persist,
        windows: WindowBooker | None = None,
    ) -> None:
        self.stitcher = stitcher
        self.directory = directory
        self.persist = persist
        self.windows = windows  # books windowed intents' reservations (None: refused)
        self.intents: dict[str, Intent] = {}
        self._drops: dict[str, list[FlowRule]] = {}  # installed isolation drops per intent
        self._pending_drops: set[str] = set()
        self.isolated: set[frozenset[str]] = set()  # MAC pairs no one may connect
        self._restored: set[str] = set()  # restored, not INSTALLED since: they claim old rules
        self._breached: set[str] = set()  # isolations the data-plane verification failed

    # ---- submit / withdraw ------------------------------------------------------------------
    def check_conflicts(self, spec: IntentSpec, number: int, now: float) -> list[Conflict]:
        """Conflicts a new intent would have with the live ones."""
        candidate = new_intent(number, spec, now)
        live = [i for i in self.intents.values() if is_live(i)]
        return find_conflicts(candidate, live, self.directory)

    def submit(
        self, spec: IntentSpec, number: int, now: float, preempt: bool = False
    ) -> Submission:
        """Accept an intent (persisted first), then compile and install it.

        An isolation contradicts the intents and reservations that connect its groups: they
        are its conflicts, unless ``preempt`` withdraws them (an intent's reservations through
        the intent). Forecast-driven reservations across it are withdrawn without asking.
        """
        ident = intent_id(number)
        conflicts, withdraw_intents, withdraw = self._contradictions(spec, number, now)
        preempt = preempt and isolates(spec)  # only an isolation preempts
        if conflicts and not preempt:
            return Submission(None, conflicts)
        if not preempt:
            withdraw_intents, withdraw = [], [r for r in withdraw if self._predicted(r)]
        intent = new_intent(number, spec, now)
        self._save(intent)
        jobs: list[Job] = []
        for other in withdraw_intents:
            jobs += self.withdraw(other, now, f"preempted by isolation {ident}")
        released = []
        for res_id in withdraw:
            res = self.stitcher.reservations[res_id]
            if res.state is State.RELEASED:
                continue  # went with its intent
            why = "its hosts are isolated by" if self._predicted(res_id) else "preempted by"
            job = self.stitcher.release(res_id, now, f"{why} isolation {ident}")
            jobs += [job] if job is not None else []
            released.append(res_id)
        jobs += self._install(ident, now)
        return Submission(self.intents[ident], [], jobs, released)

    def _predicted(self, res_id: int) -> bool:
        return self.stitcher.reservations[res_id].request.origin is Origin.PREDICTED

    def _contradictions(
        self, spec: IntentSpec, number: int, now: float
    ) -> tuple[list[Conflict], list[str], list[int]]:
        """Conflicts; the intents and the reservations an isolation would withdraw."""
        conflicts = self.check_conflicts(spec, number, now)
        if not isolates(spec):
            return conflicts, [], []
        ident = intent_id(number)
        pairs = compile_intent(new_intent(number, spec, now), self.directory).isolated_pairs
        named = {c.intent_id for c in conflicts}
        across = []
        for res in self.stitcher.live():
            if res.state is State.FAILED:
                continue
            src = self.directory.find_host(res.request.src)
            dst = self.directory.find_host(res.request.dst)
            if src is None or dst is None or frozenset((src.mac, dst.mac)) not in pairs:
                continue
            across.append(res.id)
            owner = res.request.origin_ref if res.request.origin is Origin.INTENT else None
            if res.request.origin is Origin.PREDICTED or (owner is not None and owner in named):
                continue
            what = f"reservation {res.id}" + (f" of {owner}" if owner else "")
            reason = (
                f"{what} connects {res.request.src} and {res.request.dst}, which {ident}"
                f' would isolate (withdraw it, or submit with "preempt": true)'
            )
            conflicts.append(Conflict(owner, reason, res.id))
            if owner is not None:
                named.add(owner)
        owners = [c.intent_id for c in conflicts if c.intent_id is not None]
        return conflicts, list(dict.fromkeys(owners)), across

    def restore(self, intent: Intent, now: float) -> None:
        """Bring back an intent from durable state.

        An installed one whose reservations were all restored waits for them (INSTALLING);
        any other live one is compiled again on the next refresh.
        """
        kept = all(self._owned(intent.id, r) for r in intent.reservation_ids)
        restored = recover(intent, now, reservations_kept=kept)
        if restored is not intent:
            self.persist(restored)
        booked = [self.stitcher.reservations[r].request for r in intent.reservation_ids if kept]
        if windowed(intent.spec) is not None and booked:  # the occurrence it booked
            start, end = booked[0].start, booked[0].end
            if start is not None and end is not None and end > start:
                restored = replace(restored, occurrence=Window(start, end))
        self.intents[intent.id] = restored
        if is_live(restored):
            self._restored.add(intent.id)

    def _owned(self, ident: str, res_id: int) -> bool:
        res = self.stitcher.reservations.get(res_id)
        return (
            res is not None
            and res.request.origin is Origin.INTENT
            and res.request.origin_ref == ident
            and res.state is not State.RELEASED
        )

    def holds(self, res_id: int) -> bool:
        """True when an intent-owned reservation belongs to a live intent that holds it."""
        res = self.stitcher.reservations.get(res_id)
        if res is None or res.request.origin_ref is None:
            return False
        intent = self.intents.get(res.request.origin_ref)
        return intent is not None and is_live(intent) and res_id in intent.reservation_ids

    def verifiable(self, ident: str) -> bool:
        """True when an isolation claims to hold (INSTALLED) or failed verification."""
        intent = self.intents.get(ident)
        if intent is None:
            return False
        return intent.state is S.INSTALLED or (intent.state is S.FAILED and ident in self._breached)

    def isolation_breached(self, ident: str, reason: str, now: float) -> None:
        """The switches let isolated hosts talk: FAILED with the verification's reason."""
        intent = self.intents.get(ident)
        if intent is None or not can_advance(intent.state, S.FAILED):
            return
        if intent.state is not S.FAILED or intent.reason != reason:
            self._save(advance(intent, S.FAILED, now, reason))
        self._breached.add(ident)

    def isolation_verified(self, ident: str, now: float) -> None:
        """The isolation holds in the switches again: INSTALLED."""
        intent = self.intents.get(ident)
        if intent is None or ident not in self._breached:
            return
        self._breached.discard(ident)
        if intent.state is S.FAILED:
            self._save(advance(intent, S.INSTALLING, now, "verified in the switches"))
            self._save(advance(self.intents[ident], S.INSTALLED, now))

    def claims_rules(self, number: int) -> bool:
        """True when intent ``number`` is being installed, withdrawn or restored."""
        if number < 1:
            return False
        ident = intent_id(number)
        intent = self.intents.get(ident)
        if intent is None or intent.state is S.WITHDRAWN:
            return False
        busy = (S.SUBMITTED, S.COMPILING, S.INSTALLING, S.WITHDRAWING)
        return ident in self._restored or intent.state in busy

    def withdraw(self, ident: str, now: float, reason: str | None = None) -> list[Job]:
        """Withdraw an intent: release its reservations and drops; WITHDRAWN when done."""
        intent = self.intents[ident]
        if not is_live(intent):
            return []
        self._restored.discard(ident)
        self._save(advance(intent, S.WITHDRAWING, now, reason))
        jobs = self._uninstall(ident, now)
        self._save(advance(self.intents[ident], S.WITHDRAWN, now))
        return jobs

    # ---- compile and install ---------------------------------------------------------------
    def _install(self, ident: str, now: float) -> list[Job]:
        intent = self.intents[ident]
        if intent.state is not S.COMPILING:
            self._save(advance(intent, S.COMPILING, now))
        spec = windowed(intent.spec)
        window = None if spec is None else occurrence(spec, now)
        if spec is not None:
            if window is None:
                self._save(advance(self.intents[ident], S.ENDED, now, over_reason(spec)))
                return []
            self._save(replace(self.intents[ident], occurrence=window))
        compilation = compile_intent(self.intents[ident], self.directory)
        if not compilation.complete:
            self._save(advance(self.intents[ident], S.FAILED, now, compilation.reason))
            return []
        requests = compilation.requests  # a latency objective already prefers latency
        if spec is not None and spec.recurrence is not None and window is not None:
            requests = [replace(r, start=window.start, end=window.end) for r in requests]
        jobs: list[Job] = []
        ids: list[int] = []
        for request in requests:
            res, outcome = self._submit(request, now)
            if isinstance(outcome, Refusal) or res is None:
                jobs += self._release_all(ids, now)
                reason = outcome.reason if isinstance(outcome, Refusal) else "refused"
                if spec is not None and spec.recurrence is not None and window is not None:
                    reason = f"the occurrence from {rfc3339(window.start)} is refused: {reason}"
                self._save(advance(self.intents[ident], S.FAILED, now, reason))
                return jobs
            ids.append(res.id)
            if outcome is not None:
                jobs.append(outcome)
        drop_job = self._install_drops(ident, compilation.drops)
        if drop_job is not None:
            jobs.append(drop_job)
        self.isolated |= compilation.isolated_pairs
        intent = with_reservations(self.intents[ident], tuple(ids), now)
        self._save(advance(intent, S.INSTALLING, now))
        self.refresh_states(now)
        return jobs

    def _submit(
        self, request: ReservationRequest, now: float
    ) -> tuple[Reservation | None, Job | Refusal | None]:
        """Submit one request: a windowed one is booked (no job until its install time)."""
        if not request.windowed:
            return self.stitcher.submit_or_refuse(request, now)
        if self.windows is None:
            return None, Refusal("window", "advance reservations are not available here")
        booked = self.windows.book_window(request, now)
        return (None, booked) if isinstance(booked, Refusal) else (booked, None)

    def _install_drops(self, ident: str, drops: list[FlowRule]) -> Job | None:
        installed = {r.key for rules in self._drops.values() for r in rules}
        self._drops[ident] = list(drops)
        new = [FlowAdd(r) for r in drops if r.key not in installed]
        if not new:
            return None
        self._pending_drops.add(ident)
        return Job(0, 0, JobKind.INSTALL, [list(new)], confirm_phase=0, intent_id=ident)

    def drops_confirmed(self, ident: str, now: float, ok: bool, reason: str | None) -> None:
        """The switches answered an intent's drop job."""
        self._pending_drops.discard(ident)
        intent = self.intents.get(ident)
        if intent is None:
            return
        if not ok and can_advance(intent.state, S.FAILED):
            self._save(advance(intent, S.FAILED, now, reason or "a switch refused a drop rule"))
        self.refresh_states(now)

    def _release_all(self, ids: Iterable[int], now: float) -> list[Job]:
        jobs = []
        for res_id in ids:
            res = self.stitcher.reservations.get(res_id)
            if res is not None and res.state is State.ENDED:
                continue  # its window is over: nothing left to release
            if res is not None and res.request.windowed and self.windows is not None:
                job = self.windows.release_window(res_id, now, None)
            else:
                job = self.stitcher.release(res_id, now)
            if job is not None:
                jobs.append(job)
        return jobs

    def _uninstall(self, ident: str, now: float) -> list[Job]:
        jobs = self._release_all(self.intents[ident].reservation_ids, now)
        mine = self._drops.pop(ident, [])
        still_used = Counter(r.key for rules in self._drops.values() for r in rules)
        gone = [FlowDelete(r) for r in mine if still_used[r.key] == 0]
        if gone:
            jobs.append(Job(0, 0, JobKind.REMOVE, [list(gone)], intent_id=ident))
        self._recompute_isolation()
        return jobs

    def _recompute_isolation(self) -> None:
        self.isolated = set()
        for intent in self.intents.values():
            if is_live(intent) and isolates(intent.spec):
                self.isolated |= compile_intent(intent, self.directory).isolated_pairs

    # ---- keeping intents true ----------------------------------------------------------------
    def refresh_states(self, now: float) -> None:
        """Derive SCHEDULED/INSTALLING/INSTALLED/FAILED/ENDED from the reservations and drops.

        Every installing intent reaches a final state: a reservation that failed, degraded or
        vanished (released by someone else) fails the intent, with the reason, and the next
        refresh compiles it again; a failed intent whose reservations all became ACTIVE again
        (repaired) is INSTALLED again. A windowed one waits SCHEDULED while its reservations
        do; when its window ends it is ENDED, or a recurring one books its next occurrence.
        """
        reservations = self.stitcher.reservations
        watched = (S.SCHEDULED, S.INSTALLING, S.INSTALLED, S.FAILED)
        for ident in list(self.intents):
            intent = self.intents[ident]  # read again: a booked occurrence refreshes too
            if intent.state not in watched:
                continue
            held = intent.reservation_ids
            if intent.state is S.FAILED:
                recovered = held and all(
                    self._owned(ident, r) and reservations[r].state is State.ACTIVE for r in held
                )
                if recovered:
                    self._save(advance(intent, S.INSTALLING, now, "its reservations recovered"))
                    intent = self.intents[ident]
                if intent.state is S.FAILED:
                    continue
            gone = [r for r in held if not self._owned(ident, r)]
            states = [reservations[r].state for r in held if r not in gone]
            failed = [
                reservations[r].reason
                for r in held
                if r not in gone and reservations[r].state in (State.FAILED, State.DEGRADED)
            ]
            if gone:
                self._save(advance(intent, S.FAILED, now, f"its reservation {gone[0]} is gone"))
            elif failed:
                self._save(advance(intent, S.FAILED, now, failed[0] or "path lost"))
            elif held and all(st is State.ENDED for st in states):
                self._window_over(ident, now)
            elif held and all(st is State.SCHEDULED for st in states):
                why = [reservations[r].reason or "" for r in held]
                waiting = next((w for w in why if w.startswith(INSTALL_WAIT)), None)
                if intent.state is not S.SCHEDULED:
                    reason = waiting or "waiting for its window"
                    self._save(advance(intent, S.SCHEDULED, now, reason))
                elif waiting is not None and intent.reason != waiting:  # its install refused
                    self._save(replace(intent, reason=waiting, updated_at=now))
            else:
                if intent.state is S.SCHEDULED:
                    self._save(advance(intent, S.INSTALLING, now, "its window begins"))
                    intent = self.intents[ident]
                if (
                    all(st is State.ACTIVE for st in states)
                    and ident not in self._pending_drops
                    and intent.state is S.INSTALLING
                ):
                    self._save(advance(intent, S.INSTALLED, now))
                    self._restored.discard(ident)

    def _window_over(self, ident: str, now: float) -> None:
        """The intent's window ended: ENDED, or (recurring) its next occurrence booked."""
        intent = self.intents[ident]
        spec = windowed(intent.spec)
        self._restored.discard(ident)
        if spec is None or spec.recurrence is None:
            reason = "its window ended" if spec is None else over_reason(spec)
            self._save(advance(intent, S.ENDED, now, reason))
            return
        intent = with_reservations(intent, (), now)
        self._save(advance(intent, S.COMPILING, now, "its occurrence ended: booking the next"))
        self._install(ident, now)  # a windowed booking installs nothing now: no job

    def windows_due(self, now: float) -> list[Job]:
        """A FAILED windowed intent whose tried window is over moves on: the next occurrence
        is tried (a recurring one), or it is ENDED. Called at every scheduling tick."""
        jobs: list[Job] = []
        for ident, intent in list(self.intents.items()):
            window = intent.occurrence
            if intent.state is S.FAILED and window is not None and window.end <= now:
                jobs += self._release_all(intent.reservation_ids, now)
                self._save(with_reservations(self.intents[ident], (), now))
                jobs += self._install(ident, now)
        return jobs

    def refresh(self, now: float) -> list[Job]:
        """After a topology or capacity change: compile again what is FAILED or restored."""
        jobs: list[Job] = []
        for ident, intent in list(self.intents.items()):
            if intent.state in (S.FAILED, S.COMPILING, S.SUBMITTED):
                jobs += self._release_all(intent.reservation_ids, now)
                if intent.reservation_ids:
                    self._save(with_reservations(self.intents[ident], (), now))
                self._drops.pop(ident, None)
                jobs += self._install(ident, now)
        self.refresh_states(now)
        return jobs

    def dry_run(self, spec: IntentSpec, now: float, preempt: bool = False) -> DryRun:
        """Compile and plan without booking or installing anything.

        ``withdraws`` lists what submitting it would withdraw (with ``preempt``, or
        forecast-driven reservations across an isolation); conflicts are among the refusals.
        """
        intent = new_intent(DRY_RUN_NUMBER, spec, now)
        compilation = compile_intent(intent, self.directory)
        found, intents, across = self._contradictions(spec, DRY_RUN_NUMBER, now)
        conflicts = [] if preempt else found
        withdraws: list[dict[str, object]] = [
            {"intent": i, "reservation": None, "reason": "preempted"} for i in intents if preempt
        ]
        for res_id in across:
            if preempt or self._predicted(res_id):
                withdraws.append(
                    {
                        "intent": None,
                        "reservation": str(res_id),
                        "reason": "forecast-driven" if self._predicted(res_id) else "preempted",
                    }
                )
        paths, refusals = [], []
        for request in compilation.requests:
            plan = self.stitcher.dry_plan(request)
            if isinstance(plan, Refusal):
                refusals.append({"src": request.src, "dst": request.dst, **plan.to_dict()})
            else:
                paths.append({"src": request.src, "dst": request.dst, **plan})
        refusals += [{"constraint": "conflict", **c.to_dict()} for c in conflicts]
        return DryRun(compilation, paths, refusals, withdraws)

    def expected_drops(self, dpid: int) -> list[FlowRule]:
        """Isolation drop rules switch ``dpid`` should hold now."""
        return [r for rules in self._drops.values() for r in rules if r.dpid == dpid]

    def settled(self) -> bool:
        """True when no intent is being compiled, restored or installed."""
        busy = (S.SUBMITTED, S.COMPILING, S.INSTALLING, S.WITHDRAWING)
        return not self._pending_drops and not any(i.state in busy for i in self.intents.values())

    def _save(self, intent: Intent) -> None:
        self.persist(intent)
        self.intents[intent.id] = intent
