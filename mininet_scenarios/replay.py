"""The predictor replay: a traffic matrix replayed in Mininet, time-compressed, with forecasts.

1. Prepare the trace (``replay_trace``): real (``--trace``) or generated, scaled so the busiest
   link carries a few Mbit/s, nodes named by host IPs; pick the replay window.
2. Train a model on the first days; write the history before the window as a seed file.
3. Start the predictor process (seeded until the window's start, ``--bytes-scale`` for the
   compressed clock) and the Stack: controller with ``stats_interval_s`` = one step of wall
   time, ``[predictor] time_scale`` = trace seconds per wall second and ``time_origin`` set so
   its traffic clock reaches the window ``lead_in_s`` after it starts.
4. When the controller's clock (read from its observation stamps) reaches the window, every
   host runs ``replay_sender`` with its schedule; a monitor polls reservations and forecasts.
5. Report (``replay_report``), JSON and PNG plots.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mininet_scenarios import replay_plots
from mininet_scenarios.replay_monitor import ControllerMonitor, dump_record
from mininet_scenarios.replay_report import (
    Timeline,
    counters_per_step,
    forecast_errors,
    forecasts_in_force,
    measured_rates,
    pair_results,
    reserved_per_step,
    sent_rates,
    summarize,
)
from mininet_scenarios.replay_schedule import build_schedules, write_schedule
from mininet_scenarios.replay_trace import ReplayOptions, ReplayTrace, prepare
from predictor.models import TrainConfig
from predictor.store import save_model
from predictor.trace import format_time, save_npz
from predictor.training import train
from testbed.stack import Stack
from testbed.wait import wait_until

ROOT = Path(__file__).resolve().parent.parent
Say = Callable[[str], None]


@dataclass(frozen=True)
class RunSettings:
    """How the replay runs (the traffic itself is :class:`ReplayOptions`)."""

    replay: ReplayOptions = field(default_factory=ReplayOptions)
    step_wall_s: float = 1.0  # wall seconds per trace step (= the controller's stats interval)
    threshold_mbps: float | None = None  # reserve above this upper forecast; None: min rate
    hysteresis: float = 0.2
    lead_in_s: float = 15.0  # wall seconds from controller start to the replay's first step
    horizon: int = 3
    model: str = "hgb"
    payload: int = 1400
    probe_every: int = 10


def _train(rt: ReplayTrace, settings: RunSettings, model_dir: Path, say: Say) -> str:
    steps = round(settings.replay.train_days * rt.trace.steps_per_day)
    config = TrainConfig(
        kind=settings.model, horizons=tuple(range(1, settings.horizon + 1)), threads=1
    )
    began = time.monotonic()
    rates = rt.trace.series()[:steps]
    forecaster = train(rates, rt.trace.start, rt.trace.step_seconds, rt.trace.pair_names(), config)
    until = rt.trace.start + steps * rt.trace.step_seconds
    info = save_model(forecaster, model_dir, until, steps, rates.shape[1])
    say(
        f"trained {info.tag} on {steps} steps x {rates.shape[1]} pairs "
        f"in {time.monotonic() - began:.1f} s"
    )
    return info.tag


def _start_predictor(
    stack: Stack, model_dir: Path, seed: Path, rt: ReplayTrace, scale: float, log: Path
) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "predictor", "run", "--no-retrain"]
    argv += ["--observations", stack.observations_endpoint, "--forecasts", stack.forecasts_endpoint]
    argv += ["--model-dir", str(model_dir), "--seed-trace", str(seed)]
    argv += ["--seed-until", repr(rt.start_time), "--bytes-scale", repr(scale)]
    with log.open("wb") as handle:
        return subprocess.Popen(argv, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)


def _launch_senders(
    stack: Stack, rt: ReplayTrace, settings: RunSettings, run_dir: Path, t0: float
) -> dict[str, tuple[subprocess.Popen[bytes], Path]]:
    assert stack.net is not None
    hosts = list(rt.trace.nodes)
    pairs = [(p.src, p.dst) for p in rt.trace.pairs()]
    schedules = build_schedules(
        hosts,
        rt.window().tolist(),
        pairs,
        step_s=settings.step_wall_s,
        payload=settings.payload,
        probe_every=settings.probe_every,
    )
    by_ip = {h.ip: h.name for h in stack.net.hosts}
    out = {}
    for ip, schedule in schedules.items():
        name = by_ip[ip]
        path = write_schedule(schedule, run_dir / f"schedule-{name}.json")
        result = run_dir / f"result-{name}.json"
        argv = [sys.executable, "-m", "mininet_scenarios.replay_sender", str(path), str(result)]
        with (run_dir / f"sender-{name}.log").open("wb") as log:
            proc = stack.net.net[name].popen(
                [*argv, repr(t0)], cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT
            )
        out[ip] = (proc, result)
    return out


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time (user + system) a process has used so far, or None if it is gone."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ovs_pid() -> int | None:
    try:
        return int(Path("/var/run/openvswitch/ovs-vswitchd.pid").read_text().strip())
    except (OSError, ValueError):
        return None


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


def _collect(
    senders: dict[str, tuple[subprocess.Popen[bytes], Path]], deadline: float
) -> dict[str, dict[str, Any]]:
    results = {}
    for ip, (proc, path) in senders.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if path.exists():
            results[ip] = json.loads(path.read_text())
    return results


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
    model_dir = run_dir / "model"
    _train(rt, settings, model_dir, say)
    seed = run_dir / "seed.npz"
    save_npz(rt.trace.slice(0, rt.start_step), seed)
    scale = rt.trace.step_seconds / settings.step_wall_s
    origin = rt.start_time - settings.lead_in_s * scale
    threshold = settings.threshold_mbps or rt.min_rate_mbps
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
            "time_scale": scale,
            "time_origin": origin,
        },
    )
    predictor = _start_predictor(stack, model_dir, seed, rt, scale, run_dir / "predictor.log")
    try:
        with stack:
            assert stack.net is not None
            say(
                f"network up: {rt.graph.number_of_nodes()} switches, "
                f"{rt.graph.number_of_edges()} links ({stack.net.build_time_s:.1f} s); "
                f"predictor pid {predictor.pid}"
            )
            report = _replay(stack, rt, settings, run_dir, origin, scale, say, predictor.pid)
            shutil.copy(stack.controller.log_path, run_dir / "controller.log")
    finally:
        _stop(predictor)
    report["settings"] = {**asdict(settings), "threshold_mbps": threshold}
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
    monitor = ControllerMonitor(stack, origin, scale)
    pids = {"controller": stack.controller.pid, "predictor": predictor_pid, "ovs": _ovs_pid()}
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
        senders = _launch_senders(stack, rt, settings, run_dir, t0)
        wait_until(lambda: time.time() >= t0 - 0.3, t0 - time.time() + 1.0, 0.05, "the start")
        before = stack.get("/v1/stats")
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        _progress(say, monitor, stack, rt, t0, settings)
        cpu = {
            name: round(now - was, 1)
            for name, pid in pids.items()
            if (now := cpu_seconds(pid)) is not None and (was := cpu_before[name]) is not None
        }
        results = _collect(senders, t0 + rt.steps * settings.step_wall_s + 15.0)
        after = stack.get("/v1/stats")
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
    report = _analyse(rt, results, record, timeline, before, after, run_dir)
    report["summary"]["cpu_seconds_during_replay"] = cpu
    return report


def _analyse(
    rt: ReplayTrace,
    results: dict[str, dict[str, Any]],
    record: Any,
    timeline: Timeline,
    before: dict[str, Any],
    after: dict[str, Any],
    run_dir: Path,
) -> dict[str, Any]:
    pairs = [(p.src, p.dst) for p in rt.trace.pairs()]
    sent = sent_rates(results, pairs, rt.steps, timeline.step_s)
    reserved = reserved_per_step(record, pairs, rt.steps, timeline)
    mean, upper, ahead = forecasts_in_force(record, pairs, rt.steps, timeline)
    measured = measured_rates(record, pairs, rt.steps, timeline)
    planned = rt.window()
    previous = rt.trace.series()[rt.start_step - 1]
    per_pair = pair_results(results, record, pairs, sent, reserved, timeline)
    for entry in per_pair:
        entry["names"] = [rt.label(entry["pair"][0]), rt.label(entry["pair"][1])]
    summary = summarize(per_pair, sent, reserved)
    summary["forecast"] = forecast_errors(mean, planned, previous, ahead)
    summary["reservations_made"] = len(record.reservations)
    periods = [(end - start) / timeline.time_scale for start, end, _ in record.observations]
    summary["stats_round_s_median"] = round(float(np.median(periods)), 4) if periods else None
    summary["controller_counted_over_sent"] = (
        round(float(measured.sum() / sent.sum()), 3) if sent.sum() > 0 else None
    )
    summary["packet_in_during_replay"] = {
        kind: after["packet_in"].get(kind, 0) - before["packet_in"].get(kind, 0)
        for kind in sorted(set(after["packet_in"]) | set(before["packet_in"]))
    }
    summary["packet_in_before_replay"] = before["packet_in"]
    summary["audit_repairs"] = after.get("audit_repairs")
    summary["senders"] = {
        "hosts": len(results),
        "max_lag_ms": max((r["max_lag_ms"] for r in results.values()), default=None),
        "send_errors": sum(sum(r["send_errors"].values()) for r in results.values()),
    }
    labels = [f"{rt.label(s)}>{rt.label(d)}" for s, d in pairs]
    first_steps = {pairs.index(tuple(p["pair"])): p["first_step"] for p in per_pair}
    columns = replay_plots.pick_pairs(sent, first_steps)
    plots = [
        replay_plots.plot_pairs(
            run_dir.parent / "replay_pairs.png", columns, labels, sent, reserved, mean, upper
        ),
        replay_plots.plot_network(run_dir.parent / "replay_network.png", sent, reserved, measured),
        replay_plots.plot_first_rtt(run_dir.parent / "replay_first_rtt.png", per_pair),
    ]
    np.savez_compressed(
        run_dir / "series.npz",
        sent=sent,
        reserved=reserved,
        mean=mean,
        upper=upper,
        planned=planned,
        pairs=np.array(labels),
    )
    per_step = {
        "pairs_sending": (sent > 0).sum(axis=1).tolist(),
        "pairs_reserved": (reserved > 0).sum(axis=1).tolist(),
        "sent_mbps": sent.sum(axis=1).round(3).tolist(),
        "reserved_mbps": reserved.sum(axis=1).round(3).tolist(),
        **counters_per_step(record, rt.steps, timeline),
    }
    return {
        "summary": summary,
        "per_step": per_step,
        "pairs": per_pair,
        "plots": [str(p) for p in plots],
    }
