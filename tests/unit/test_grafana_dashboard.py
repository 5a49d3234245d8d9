"""The Grafana dashboard queries only what the controller's ``/metrics`` serves.

Every metric name in every PromQL expression of ``vnstitch/northbound/grafana/vnstitch.json``
(panel targets and template variables) must be declared in the exposition the controller
renders (``controller_metrics()``; a histogram's ``_bucket``, ``_sum`` and ``_count``), and every
label a query matches or groups by must be one of that metric's labels (or ``job`` /
``instance``, which Prometheus adds, or ``le`` of a histogram bucket). A renamed metric or label
fails here, not in an operator's empty panel.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vnstitch.northbound.metrics import (
    ControllerMetrics,
    Counter,
    Gauge,
    Histogram,
    controller_metrics,
)

DASHBOARD = (
    Path(__file__).resolve().parents[2] / "vnstitch" / "northbound" / "grafana" / "vnstitch.json"
)
TARGET_LABELS = {"job", "instance"}  # added by Prometheus to every scraped series
PROMQL_WORDS = {
    # functions and aggregations the dashboard may use
    "sum", "avg", "min", "max", "count", "topk", "bottomk", "rate", "irate", "increase",
    "delta", "histogram_quantile", "clamp_min", "clamp_max", "abs", "vector", "label_values",
    "sort_desc",
    # keywords and set operators
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "offset", "bool",
}  # fmt: skip
LABEL_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}")
IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def served() -> dict[str, set[str]]:
    """Each sample name ``/metrics`` declares, with the labels its series carry."""
    metrics = controller_metrics()
    rendered = metrics.render()
    declared = dict(re.findall(r"^# TYPE (\S+) (\S+)$", rendered, re.MULTILINE))
    fields = [getattr(metrics, f.name) for f in dataclasses.fields(ControllerMetrics)]
    families = [m for m in fields if isinstance(m, Counter | Gauge | Histogram)]
    labels = {m.name: set(m.label_names) for m in families}
    assert set(labels) == set(declared), "every family is a field of ControllerMetrics"
    names: dict[str, set[str]] = {}
    for family in families:
        if isinstance(family, Histogram):
            names[f"{family.name}_bucket"] = labels[family.name] | {"le"}
            names[f"{family.name}_sum"] = labels[family.name]
            names[f"{family.name}_count"] = labels[family.name]
        else:
            names[family.name] = labels[family.name]
    return names


def expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) of every panel target and every query variable."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} target {target['refId']}", target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            yield f"variable {variable['name']}", variable["definition"]


def metric_names_and_labels(expr: str) -> tuple[set[str], dict[str, set[str]], set[str]]:
    """Metric names, the labels each selector matches, and the labels grouped on."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values and variables in strings
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors such as [$__rate_interval]
    matched: dict[str, set[str]] = {}
    for name, body in SELECTOR.findall(text):
        matched.setdefault(name, set()).update(LABEL_MATCHER.findall(body))
    text = SELECTOR.sub(lambda m: f" {m.group(1) or ''} ", text)
    grouped = {label.strip() for group in GROUPING.findall(text) for label in group.split(",")}
    text = GROUPING.sub(" ", text)
    if text.lstrip().startswith("label_values("):  # label_values(metric, label): a label name
        text = re.sub(r",\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$", ")", text.strip())
    words = {w for w in IDENTIFIER.findall(text) if not re.fullmatch(r"\d.*", w)}
    names = words - PROMQL_WORDS
    return names, matched, grouped - {""}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def test_every_metric_a_query_uses_is_served(dashboard: dict[str, Any]) -> None:
    names = served()
    found = list(expressions(dashboard))
    assert len(found) >= 20
    for where, expr in found:
        used, matched, grouped = metric_names_and_labels(expr)
        assert used, f"{where}: no metric in {expr!r}"
        unknown = used - set(names)
        assert not unknown, f"{where}: {sorted(unknown)} not in /metrics ({expr!r})"
        allowed = set().union(*(names[n] for n in used)) | TARGET_LABELS
        for metric, labels in matched.items():
            own = (names[metric] if metric else allowed) | TARGET_LABELS
            assert labels <= own, f"{where}: {metric} has no label {sorted(labels - own)}"
        assert grouped <= allowed, f"{where}: grouped by {sorted(grouped - allowed)}"


def test_the_dashboard_shows_what_operators_asked_for(dashboard: dict[str, Any]) -> None:
    used = set()
    for _, expr in expressions(dashboard):
        used |= metric_names_and_labels(expr)[0]
    asked = {
        "vnstitch_reservations",  # reservations by state
        "vnstitch_link_reserved_mbps",  # reserved vs measured per link
        "vnstitch_link_measured_mbps",
        "vnstitch_stitch_seconds_bucket",  # stitch and re-stitch latency
        "vnstitch_restitch_seconds_bucket",
        "vnstitch_packet_in_total",
        "vnstitch_audit_repairs_total",
        "vnstitch_forecast_abs_error_mbps_sum",  # forecast error
        "vnstitch_anomalies_total",
    }
    assert asked <= used, sorted(asked - used)


def test_a_query_naming_an_unknown_metric_or_label_is_caught() -> None:
    names = served()
    used, matched, grouped = metric_names_and_labels(
        'sum by (zone) (rate(vnstitch_packet_ins_total{kind="arp", job=~"$job"}[5m]))'
    )
    assert used == {"vnstitch_packet_ins_total"} and not used <= set(names)
    assert matched == {"vnstitch_packet_ins_total": {"kind", "job"}} and grouped == {"zone"}
    assert "zone" not in names["vnstitch_packet_in_total"]


def test_the_dashboard_is_portable(dashboard: dict[str, Any]) -> None:
    """Its data source is a variable, so importing it into any Grafana needs no editing."""
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
