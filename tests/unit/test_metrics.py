"""Prometheus text exposition: render format parsed back, escaping, histogram cumulativeness."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vnstitch.northbound.metrics import Counter, Gauge, Histogram, Registry, controller_metrics

SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)\Z")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|\})')


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            out.append({"\\": "\\", '"': '"', "n": "\n"}[value[i + 1]])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _labels(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    assert text.startswith("{")
    labels, pos = {}, 1
    while pos < len(text):
        match = LABEL.match(text, pos)
        assert match, f"bad label text at {text[pos:]!r}"
        labels[match.group(1)] = _unescape(match.group(2))
        pos = match.end()
    return labels


def parse(text: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, dict[str, str], float]]]:
    """Families (name -> (help, type)) and samples of an exposition, checked line by line."""
    assert text.endswith("\n")
    families: dict[str, tuple[str, str]] = {}
    helps: dict[str, str] = {}
    samples = []
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            helps[name] = help_text.replace("\\n", "\n").replace("\\\\", "\\")
        elif line.startswith("# TYPE "):
            name, kind = line[7:].split(" ")
            assert name in helps, "HELP comes before TYPE"
            assert kind in {"counter", "gauge", "histogram"}
            families[name] = (helps[name], kind)
        else:
            match = SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            name = match.group(1)
            family = re.sub(r"_(bucket|sum|count)\Z", "", name)
            assert name in families or family in families, f"sample before its TYPE: {name}"
            samples.append((name, _labels(match.group(2)), float(match.group(3))))
    return families, samples


def test_counter_and_gauge_render_help_type_and_labelled_samples() -> None:
    reg = Registry()
    hits = reg.counter("app_hits_total", "Hits by kind.", ("kind",))
    temp = reg.gauge("app_temp", "Temperature.")
    hits.inc(kind="arp")
    hits.inc(2, kind="arp")
    hits.inc(kind="ipv4")
    temp.set(21.5)
    families, samples = parse(reg.render())
    assert families == {
        "app_hits_total": ("Hits by kind.", "counter"),
        "app_temp": ("Temperature.", "gauge"),
    }
    assert samples == [
        ("app_hits_total", {"kind": "arp"}, 3.0),
        ("app_hits_total", {"kind": "ipv4"}, 1.0),
        ("app_temp", {}, 21.5),
    ]


def test_unlabelled_metrics_render_zero_before_any_update() -> None:
    reg = Registry()
    reg.counter("c_total", "c")
    reg.gauge("g", "g")
    _, samples = parse(reg.render())
    assert samples == [("c_total", {}, 0.0), ("g", {}, 0.0)]


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=20))
def test_label_values_round_trip_through_escaping(value: str) -> None:
    reg = Registry()
    reg.gauge("g", "help", ("name",)).set(1, name=value)
    text = reg.render()
    assert len(text.split("\n")) == 4, "a newline in a label value must stay on one line"
    _, samples = parse(text)
    assert samples == [("g", {"name": value}, 1.0)]


def test_escaping_of_backslash_quote_and_newline_is_exact() -> None:
    reg = Registry()
    reg.gauge("g", 'multi\nline \\ "help"', ("v",)).set(1, v='a\\b"c\nd')
    lines = reg.render().split("\n")
    assert lines[0] == '# HELP g multi\\nline \\\\ "help"'
    assert lines[2] == 'g{v="a\\\\b\\"c\\nd"} 1.0'


def test_histogram_buckets_are_cumulative_with_inf_sum_and_count() -> None:
    reg = Registry()
    hist = reg.histogram("lat_seconds", "Latency.", ("op",), buckets=(1.0, 0.1, 0.5))
    for value in (0.05, 0.1, 0.3, 0.7, 3.0):
        hist.observe(value, op="stitch")
    _, samples = parse(reg.render())
    buckets = [(s[1]["le"], s[2]) for s in samples if s[0] == "lat_seconds_bucket"]
    assert buckets == [("0.1", 2.0), ("0.5", 3.0), ("1.0", 4.0), ("+Inf", 5.0)]
    assert ("lat_seconds_sum", {"op": "stitch"}, pytest.approx(4.15)) in samples
    assert ("lat_seconds_count", {"op": "stitch"}, 5.0) in samples


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), max_size=50))
def test_histogram_bucket_counts_never_decrease_and_end_at_count(values: list[float]) -> None:
    reg = Registry()
    hist = reg.histogram("h", "h", buckets=(-1.0, 0.0, 1.0, 100.0))
    for value in values:
        hist.observe(value)
    _, samples = parse(reg.render())
    counts = [v for name, _, v in samples if name == "h_bucket"]
    les = [float(labels["le"]) for name, labels, _ in samples if name == "h_bucket"]
    assert les == sorted(les) and math.isinf(les[-1])
    assert counts == sorted(counts)
    assert counts[-1] == len(values) == dict((n, v) for n, _, v in samples)["h_count"]
    for le, count in zip(les, counts, strict=True):
        assert count == sum(1 for v in values if v <= le)


def test_wrong_labels_negative_counter_and_bad_names_are_refused() -> None:
    counter = Counter("c_total", "c", ("kind",))
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc(other="x")
    with pytest.raises(ValueError, match="only goes up"):
        counter.inc(-1, kind="x")
    with pytest.raises(ValueError, match="invalid metric name"):
        Gauge("1bad", "x")
    with pytest.raises(ValueError, match="reserved"):
        Histogram("h", "h", ("le",))
    reg = Registry()
    reg.gauge("g", "g")
    with pytest.raises(ValueError, match="twice"):
        reg.gauge("g", "g")


def test_gauge_replace_drops_series_not_given() -> None:
    gauge = Gauge("link_mbps", "x", ("src", "dst"))
    gauge.set(5, src="1", dst="2")
    gauge.replace({("2", "3"): 7.0})
    assert [(labels, v) for _, labels, v in gauge.samples()] == [({"src": "2", "dst": "3"}, 7.0)]


def test_controller_metric_set_names_types_and_labels() -> None:
    metrics = controller_metrics()
    metrics.reservations.set(2, state="ACTIVE", origin="request")
    metrics.link_reserved_mbps.set(11.2, src="0000000000000001", dst="0000000000000002")
    metrics.link_measured_mbps.set(9.5, src="0000000000000001", dst="0000000000000002")
    metrics.stitch_seconds.observe(0.04)
    metrics.restitch_seconds.observe(0.8)
    metrics.packet_in.inc(kind="arp")
    metrics.audit_repairs.inc(3)
    metrics.forecast_abs_error_mbps.observe(1.5)
    metrics.predictor_rejected.inc(reason="unauthorized_key")
    metrics.verification_failures.inc(kind="dropped")
    metrics.verification_checks.inc(verdict="ok")
    metrics.adjustment_moves.inc(reason="congestion")
    metrics.adjustment_refused.inc(reason="no_safe_order")
    families, samples = parse(metrics.render())
    assert {name: kind for name, (_, kind) in families.items()} == {
        "vnstitch_reservations": "gauge",
        "vnstitch_protected_reservations": "gauge",
        "vnstitch_link_reserved_mbps": "gauge",
        "vnstitch_link_measured_mbps": "gauge",
        "vnstitch_stitch_seconds": "histogram",
        "vnstitch_restitch_seconds": "histogram",
        "vnstitch_packet_in_total": "counter",
        "vnstitch_audit_repairs_total": "counter",
        "vnstitch_forecast_abs_error_mbps": "histogram",
        "vnstitch_anomalies_total": "counter",
        "vnstitch_predictor_dropped_total": "counter",
        "vnstitch_predictor_rejected_total": "counter",
        "vnstitch_verification_failures_total": "counter",
        "vnstitch_verification_checks_total": "counter",
        "vnstitch_adjustment_moves_total": "counter",
        "vnstitch_adjustment_refused_total": "counter",
    }
    assert all(help_text for help_text, _ in families.values())
    assert ("vnstitch_reservations", {"state": "ACTIVE", "origin": "request"}, 2.0) in samples
    assert ("vnstitch_audit_repairs_total", {}, 3.0) in samples
    assert ("vnstitch_predictor_rejected_total", {"reason": "unauthorized_key"}, 1.0) in samples
    assert ("vnstitch_verification_failures_total", {"kind": "dropped"}, 1.0) in samples
    assert ("vnstitch_stitch_seconds_count", {}, 1.0) in samples
    assert ("vnstitch_adjustment_moves_total", {"reason": "congestion"}, 1.0) in samples
