"""The predictor replay: a traffic matrix replayed in Mininet, time-compressed, with forecasts.

1. Prepare the trace (``replay_trace``): real (``--trace``) or generated, scaled so the busiest
   link carries a few Mbit/s, nodes named by host IPs; pick the replay window.
2. Choose and train a model on the first days as the backtest does (cached under ``var/``,
   ``replay_model``); write the history before the window as a seed file.
3. Start the predictor process (seeded until the window's start, ``--bytes-scale`` for the
   compressed clock) and the Stack: controller with ``stats_interval_s`` = one step of wall
   time, ``[predictor] time_scale`` = trace seconds per wall second and ``time_origin`` set so
   its traffic clock reaches the window ``lead_in_s`` after it starts.
4. When the controller's clock (read from its observation stamps) reaches the window, every
   host runs ``replay_sender`` with its schedule; a monitor polls reservations and forecasts.
5. Report (``replay_analysis``, ``replay_report``): JSON and PNG plots in the output folder.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mininet_scenarios.replay_analysis import analyse
from mininet_scenarios.replay_model import trained_model
from mininet_scenarios.replay_monitor import ControllerMonitor, dump_record
from mininet_scenarios.replay_processes import (
    collect_results,
    cpu_seconds,
    launch_senders,
    ovs_pid,
    start_predictor,
    stop_process,
    stop_senders,
)
from mininet_scenarios.replay_report import Timeline
from mininet_scenarios.replay_schedule import HostSchedule, build_schedules
from mininet_scenarios.replay_trace import ReplayOptions, ReplayTrace, prepare
from predictor.trace import format_time, save_npz
from testbed.revalidator import revalidator_period
from testbed.stack import Stack
from testbed.wait import wait_until
from vnstitch.rules.meters import MIN_METER_KBPS, TCP_HEADROOM

Say = Callable[[str], None]
# OVS sweeps its flow counters every 500 ms by default: half a one-second step. During the
# replay every 100 ms, and the controller takes a counter read to be that old
# (``testbed.revalidator``; the test tests/integration/test_replay_alignment.py).
REVALIDATOR_MS = 100
COUNTER_LAG_S = 0.1
# A reservation's meter never goes below MIN_METER_KBPS: a smaller standing floor would book
# less than its meter lets through and save no capacity on the switch.
SMALLEST_METERED_MBPS = MIN_METER_KBPS / 1000 / TCP_HEADROOM


@dataclass(frozen=True)
class RunSettings:
    """How the replay runs (the traffic itself is :class:`ReplayOptions`)."""

    replay: ReplayOptions = field(default_factory=ReplayOptions)
    step_wall_s: float = 1.0  # wall seconds per trace step (= the controller's stats interval)
    # reserve above this upper forecast; None: a tenth of the min rate (a pair starting from
    # silence has an upper forecast of a few hundredths: at the min rate 80 % of pairs found
    # their rules before their first packet, at a tenth 94 %, reserved / sent 1.24 both)
    threshold_mbps: float | None = None
    hysteresis: float = 0.2
    # standing reservation of every forecast pair (rules before its first packet); None: the
    # smallest a switch meters (MIN_METER_KBPS), booked as what that meter lets through
    floor_mbps: float | None = None
    lead_in_s: float = 15.0  # wall seconds from controller start to the replay's first step
    horizon: int = 3
    quick_selection: bool = False  # validation tries each kind's default only
    payload: int = 1400
    probe_every: int = 10


def _schedules(rt: ReplayTrace, settings: RunSettings) -> dict[str, HostSchedule]:
    return build_schedules(
        list(rt.trace.nodes),
        rt.window().tolist(),
        [(p.src, p.dst) for p in rt.trace.pairs()],
        step_s=settings.step_wall_s,
        payload=settings.payload,
        probe_every=settings.probe_every,
    )


def _progress(
    say: Say, monitor: ControllerMonitor, stack: Stack, rt: ReplayTrace, t0: float, s: RunSettings
) -> None:
    """Print a line every few steps until the replay's last step has passed."""
    every = max(1, rt.steps // 6)
    window = rt.window()
    for step in range(every, rt.steps + 1, every):
        deadline = t0 + step * s.step_wall_s
        time.sleep(max(0.0, deadline - time.time()))
        row = window[min(step, rt.steps) - 1]
        reserved = monitor.record.reserved[-1][1] if monitor.record.reserved else {}
        stats = stack.get("/v1/stats")["packet_in"]
        moment = format_time(rt.start_time + step * rt.trace.step_seconds)
        say(
            f"step {step:3d}/{rt.steps} ({moment}): "
            f"{int((row > 0).sum())} pairs sending {row.sum():.1f} Mbit/s, "
            f"{len(reserved)} reserved {sum(reserved.values()):.1f} Mbit/s, "
            f"packet-ins ipv4 {stats.get('ipv4', 0)} arp {stats.get('arp', 0)}"
        )


def run_replay(
    trace_path: Path | None,
    settings: RunSettings,
    out_dir: Path,
    say: Say,
    topology: Path | None = None,
) -> dict[str, Any]:
    """Run the whole replay; returns the report (also written to ``out_dir/report.json``)."""
    began = time.monotonic()
    rt = prepare(trace_path, settings.replay, topology)
    out_dir.mkdir(parents=True, exist_ok=True)
    run_dir = out_dir / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir()
    say(
        f"trace: {rt.source}; replaying {rt.steps} steps from {format_time(rt.start_time)} "
        f"UTC, rates x {rt.scale:.4g} (busiest link {settings.replay.peak_link_mbps} Mbit/s), "
        f"pairs below {rt.min_rate_mbps} Mbit/s silent"
    )
    model = trained_model(
        rt, settings.replay.train_days, settings.horizon, say, settings.quick_selection
    )
    say(model.describe())
    model_dir = model.directory
    seed = run_dir / "seed.npz"
    save_npz(rt.trace.slice(0, rt.start_step), seed)
    scale = rt.trace.step_seconds / settings.step_wall_s
    origin = rt.start_time - settings.lead_in_s * scale
    threshold = settings.threshold_mbps or rt.min_rate_mbps / 10
    floor = SMALLEST_METERED_MBPS if settings.floor_mbps is None else settings.floor_mbps
    stack = Stack(
        rt.graph,
        controller={
            "probe_interval_s": 0.5,
            "link_timeout_s": 5.0,
            "stats_interval_s": settings.step_wall_s,
        },
        predictor={
            "threshold_mbps": threshold,
            "hysteresis": settings.hysteresis,
            "floor_mbps": floor,
            "time_scale": scale,
            "time_origin": origin,
            "counter_lag_s": COUNTER_LAG_S,
        },
    )
    options = ["--no-retrain", "--model-dir", str(model_dir), "--seed-trace", str(seed)]
    options += ["--seed-until", repr(rt.start_time), "--bytes-scale", repr(scale)]
    predictor = start_predictor(stack, options, run_dir / "predictor.log")
    try:
        with revalidator_period(REVALIDATOR_MS), stack:
            assert stack.net is not None
            say(
                f"network up: {rt.graph.number_of_nodes()} switches, "
                f"{rt.graph.number_of_edges()} links ({stack.net.build_time_s:.1f} s); "
                f"predictor pid {predictor.pid}"
            )
            say(
                f"web view (while the replay runs): {stack.ui_url} -- sign in with the API token "
                f"in {stack.token_file}, or: xdg-open "
                f'"{stack.ui_url}#token=$(cat {stack.token_file})"'
            )
            report = _replay(stack, rt, settings, run_dir, origin, scale, say, predictor.pid)
            shutil.copy(stack.controller.log_path, run_dir / "controller.log")
    finally:
        stop_process(predictor)
    report["settings"] = {**asdict(settings), "threshold_mbps": threshold, "floor_mbps": floor}
    report["model"] = {
        "chosen": model.chosen,
        "tag": model.tag,
        "train_days": model.train_days,
        "train_steps": model.train_steps,
        "cached": model.cached,
        "directory": str(model.directory),
    }
    report["trace"] = {
        "source": rt.source,
        "start": format_time(rt.start_time),
        "steps": rt.steps,
        "scale": rt.scale,
        "min_rate_mbps": rt.min_rate_mbps,
        "notes": rt.notes,
    }
    report["wall_s"] = round(time.monotonic() - began, 1)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def _seeded_forecasts(monitor: ControllerMonitor, deadline: float) -> int:
    """Wait (until ``deadline``) for the forecasts made from the seeded history."""

    def arrived() -> int:
        record = monitor.record.forecasts
        return len(record[-1][1]) if record else 0

    try:
        return wait_until(arrived, max(0.1, deadline - time.time()), 0.2, "seeded forecasts")
    except TimeoutError:
        return 0


def _replay(
    stack: Stack,
    rt: ReplayTrace,
    settings: RunSettings,
    run_dir: Path,
    origin: float,
    scale: float,
    say: Say,
    predictor_pid: int,
) -> dict[str, Any]:
    monitor = ControllerMonitor(stack, origin, scale, round_lag_s=COUNTER_LAG_S)
    pids = {"controller": stack.controller.pid, "predictor": predictor_pid, "ovs": ovs_pid()}
    monitor.start()
    try:
        clock_start = monitor.wait_clock_start()
        t0 = clock_start + settings.lead_in_s
        if t0 - time.time() < 2.0:
            raise RuntimeError(
                f"the lead-in ({settings.lead_in_s} s) is over before the senders could start: "
                "raise --lead-in"
            )
        forecasts = _seeded_forecasts(monitor, t0 - 1.5)
        say(
            f"predictor seeded until {format_time(rt.start_time)}: {forecasts} pairs forecast "
            f"before the replay; it starts in {t0 - time.time():.1f} s"
        )
        senders = launch_senders(stack, _schedules(rt, settings), run_dir, t0)
        try:
            wait_until(lambda: time.time() >= t0 - 0.3, t0 - time.time() + 1.0, 0.05, "t0")
            before = stack.get("/v1/stats")
            cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            _progress(say, monitor, stack, rt, t0, settings)
            cpu = {
                name: round(now - was, 1)
                for name, pid in pids.items()
                if (now := cpu_seconds(pid)) is not None and (was := cpu_before[name]) is not None
            }
            results = collect_results(senders, t0 + rt.steps * settings.step_wall_s + 15.0)
            after = stack.get("/v1/stats")
        finally:
            stop_senders(senders)
    finally:
        record = monitor.stop()
        dump_record(record, run_dir / "monitor.json")
    timeline = Timeline(
        t0,
        settings.step_wall_s,
        time.time() - time.monotonic(),
        monitor.clock_start() or clock_start,
        origin,
        scale,
        rt.start_time,
        rt.trace.step_seconds,
    )
    report = analyse(rt, results, record, timeline, before, after, run_dir)
    report["summary"]["cpu_seconds_during_replay"] = cpu
    return report
