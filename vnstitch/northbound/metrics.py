"""Prometheus text exposition (format 0.0.4) and the metric set the controller exports.

A tiny pure builder: :class:`Counter`, :class:`Gauge` and :class:`Histogram` hold series keyed by
label values; :meth:`Registry.render` writes HELP/TYPE lines and samples. Nothing here reads a
clock: callers pass the observed durations. :func:`controller_metrics` defines, in one place,
every metric name and help text the controller serves on ``GET /metrics``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STITCH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
FORECAST_ERROR_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")

LabelValues = tuple[str, ...]
Sample = tuple[str, dict[str, str], float]


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it: ``+Inf``, ``-Inf``, ``NaN`` or a float."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def escape_label_value(value: str) -> str:
    """Escape backslash, double quote and newline in a label value."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """Escape backslash and newline in a HELP text."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


class _Metric:
    """Name, help, label names and the series of one metric family."""

    kind = "untyped"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        if not _METRIC_NAME.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        for label in labels:
            if not _LABEL_NAME.match(label) or label.startswith("__"):
                raise ValueError(f"invalid label name {label!r} in {name}")
        if len(set(labels)) != len(labels):
            raise ValueError(f"duplicate label names in {name}")
        self.name = name
        self.help = help_text
        self.label_names: LabelValues = tuple(labels)

    def _key(self, labels: Mapping[str, str]) -> LabelValues:
        if set(labels) != set(self.label_names):
            raise ValueError(
                f"{self.name} takes labels {list(self.label_names)}, got {sorted(labels)}"
            )
        return tuple(str(labels[n]) for n in self.label_names)

    def _labels(self, key: LabelValues) -> dict[str, str]:
        return dict(zip(self.label_names, key, strict=True))

    def samples(self) -> Iterator[Sample]:
        """Every sample line of this family: (sample name, labels, value)."""
        raise NotImplementedError


class _ScalarMetric(_Metric):
    """A family whose series are single numbers (counters and gauges)."""

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[LabelValues, float] = {} if labels else {(): 0.0}

    def value(self, **labels: str) -> float:
        """The current value of one series (0 if never touched)."""
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> Iterator[Sample]:
        """One sample per series, ordered by label values."""
        for key in sorted(self._values):
            yield self.name, self._labels(key), self._values[key]


class Counter(_ScalarMetric):
    """A monotonically increasing count."""

    kind = "counter"

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` (>= 0) to the series named by ``labels``."""
        if amount < 0 or math.isnan(amount):
            raise ValueError(f"{self.name}: a counter only goes up, got {amount}")
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount


class Gauge(_ScalarMetric):
    """A value that goes up and down."""

    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        """Set the series named by ``labels``."""
        self._values[self._key(labels)] = float(value)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` (may be negative) to the series named by ``labels``."""
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def replace(self, series: Mapping[LabelValues, float]) -> None:
        """Replace every series at once (label values in label-name order); others vanish."""
        for key in series:
            if len(key) != len(self.label_names):
                raise ValueError(f"{self.name} takes {len(self.label_names)} label values")
        self._values = {tuple(str(v) for v in k): float(x) for k, x in series.items()}


@dataclass
class _HistogramSeries:
    counts: list[int]
    total: float = 0.0
    count: int = 0


class Histogram(_Metric):
    """Observations counted in cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, help_text, labels)
        if "le" in self.label_names:
            raise ValueError(f"{name}: 'le' is reserved in histograms")
        bounds = sorted(float(b) for b in buckets if not math.isinf(b))
        if not bounds or len(set(bounds)) != len(bounds) or any(math.isnan(b) for b in bounds):
            raise ValueError(f"{name}: buckets must be distinct finite numbers")
        self.buckets: tuple[float, ...] = (*bounds, math.inf)
        self._series: dict[LabelValues, _HistogramSeries] = {}
        if not labels:
            self._series[()] = self._empty()

    def _empty(self) -> _HistogramSeries:
        return _HistogramSeries(counts=[0] * len(self.buckets))

    def observe(self, value: float, **labels: str) -> None:
        """Count one observation in the series named by ``labels``."""
        if math.isnan(value):
            raise ValueError(f"{self.name}: cannot observe NaN")
        key = self._key(labels)
        series = self._series.setdefault(key, self._empty())
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                series.counts[i] += 1
                break
        series.total += value
        series.count += 1

    def count(self, **labels: str) -> int:
        """How many observations the series named by ``labels`` holds."""
        series = self._series.get(self._key(labels))
        return 0 if series is None else series.count

    def samples(self) -> Iterator[Sample]:
        """Cumulative ``_bucket`` samples with ``le``, then ``_sum`` and ``_count``."""
        for key in sorted(self._series):
            series = self._series[key]
            labels = self._labels(key)
            running = 0
            for bound, n in zip(self.buckets, series.counts, strict=True):
                running += n
                yield f"{self.name}_bucket", {**labels, "le": format_value(bound)}, running
            yield f"{self.name}_sum", labels, series.total
            yield f"{self.name}_count", labels, series.count


M = TypeVar("M", bound=_Metric)


class Registry:
    """An ordered set of metric families rendered as one exposition document."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def register(self, metric: M) -> M:
        """Add a family; names must be unique."""
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} registered twice")
        self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Counter:
        """Register and return a counter."""
        return self.register(Counter(name, help_text, labels))

    def gauge(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Gauge:
        """Register and return a gauge."""
        return self.register(Gauge(name, help_text, labels))

    def histogram(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        """Register and return a histogram."""
        return self.register(Histogram(name, help_text, labels, buckets))

    def render(self) -> str:
        """The text exposition format 0.0.4 of every family, in registration order."""
        lines: list[str] = []
        for metric in self._metrics.values():
            lines.append(f"# HELP {metric.name} {escape_help(metric.help)}")
            lines.append(f"# TYPE {metric.name} {metric.kind}")
            for name, labels, value in metric.samples():
                lines.append(f"{name}{_label_text(labels)} {format_value(value)}")
        return "\n".join(lines) + "\n" if lines else ""


def _label_text(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    body = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels.items())
    return "{" + body + "}"


@dataclass(frozen=True)
class ControllerMetrics:
    """Every metric the controller exports, registered in :attr:`registry`."""

    registry: Registry
    reservations: Gauge
    protected_reservations: Gauge
    link_reserved_mbps: Gauge
    link_measured_mbps: Gauge
    stitch_seconds: Histogram
    restitch_seconds: Histogram
    packet_in: Counter
    audit_repairs: Counter
    forecast_abs_error_mbps: Histogram
    anomalies: Counter
    predictor_dropped: Counter
    predictor_rejected: Counter
    verification_failures: Counter
    verification_checks: Counter
    adjustment_moves: Counter
    adjustment_refused: Counter

    def render(self) -> str:
        """The ``GET /metrics`` body."""
        return self.registry.render()


def controller_metrics() -> ControllerMetrics:
    """A fresh registry with the controller's metric set: the one place names and help live."""
    reg = Registry()
    return ControllerMetrics(
        registry=reg,
        reservations=reg.gauge(
            "vnstitch_reservations",
            "Reservations not released, by lifecycle state and origin.",
            ("state", "origin"),
        ),
        protected_reservations=reg.gauge(
            "vnstitch_protected_reservations",
            "Live reservations that asked for protection, by whether their backup is in place"
            " (backup=intact) or they run without one (backup=missing).",
            ("backup",),
        ),
        link_reserved_mbps=reg.gauge(
            "vnstitch_link_reserved_mbps",
            "Bandwidth booked on a directed link by reservations, in Mbit/s.",
            ("src", "dst"),
        ),
        link_measured_mbps=reg.gauge(
            "vnstitch_link_measured_mbps",
            "Bandwidth measured on a directed link from port counters, in Mbit/s.",
            ("src", "dst"),
        ),
        stitch_seconds=reg.histogram(
            "vnstitch_stitch_seconds",
            "Time from a reservation request to ACTIVE (ingress barriers answered), in seconds.",
            buckets=STITCH_BUCKETS,
        ),
        restitch_seconds=reg.histogram(
            "vnstitch_restitch_seconds",
            "Time from a link loss to the re-stitched reservation ACTIVE again, in seconds.",
            buckets=STITCH_BUCKETS,
        ),
        packet_in=reg.counter(
            "vnstitch_packet_in_total",
            "Packets sent to the controller by the switches, by kind.",
            ("kind",),
        ),
        audit_repairs=reg.counter(
            "vnstitch_audit_repairs_total",
            "Flow entries the audit re-installed or deleted.",
        ),
        forecast_abs_error_mbps=reg.histogram(
            "vnstitch_forecast_abs_error_mbps",
            "Absolute error of a forecast mean against the measured rate, in Mbit/s.",
            buckets=FORECAST_ERROR_BUCKETS,
        ),
        anomalies=reg.counter(
            "vnstitch_anomalies_total",
            "Pairs reported by the predictor for staying outside their forecast interval.",
        ),
        predictor_dropped=reg.counter(
            "vnstitch_predictor_dropped_total",
            "Messages from the predictor dropped unread or refused, by reason.",
            ("reason",),
        ),
        predictor_rejected=reg.counter(
            "vnstitch_predictor_rejected_total",
            "Connections to the predictor sockets refused in the CURVE handshake, by reason.",
            ("reason",),
        ),
        verification_failures=reg.counter(
            "vnstitch_verification_failures_total",
            "Reservation directions and isolations the data-plane verification found untrue,"
            " by kind (dropped, table_miss, misdelivered, meter_missing, isolation_breach...).",
            ("kind",),
        ),
        verification_checks=reg.counter(
            "vnstitch_verification_checks_total",
            "Data-plane verification checks run, by verdict (ok, failure, unverified).",
            ("verdict",),
        ),
        adjustment_moves=reg.counter(
            "vnstitch_adjustment_moves_total",
            "Reservations moved or grown by dynamic adjustment, by reason "
            "(congestion, reoptimise, anomaly).",
            ("reason",),
        ),
        adjustment_refused=reg.counter(
            "vnstitch_adjustment_refused_total",
            "Adjustments not made, by reason (no_safe_order, no_path, refused).",
            ("reason",),
        ),
    )
