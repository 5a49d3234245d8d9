"""Encode messages to one msgpack frame and decode frames back, dropping anything malformed."""

from __future__ import annotations

from typing import Any

import msgpack

from vnstitch.messages.decoding import (
    DECODERS,
    GARBAGE,
    SCHEMA,
    TOO_LARGE,
    TRUNCATED,
    VERSION,
    DecodeError,
)
from vnstitch.messages.types import (
    SCHEMA_VERSION,
    Anomaly,
    Endpoint,
    ForecastBatch,
    Message,
    Observations,
    PairForecast,
    PairSample,
    PredictorStatus,
    ReservationChange,
    TopologyChange,
)

DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
"""Largest frame either side reads unless configured otherwise (sockets and :func:`decode`)."""


class DropCounter:
    """Counts dropped messages by reason, for either side of the queue."""

    def __init__(self) -> None:
        self.by_reason: dict[str, int] = {}

    def count(self, reason: str) -> None:
        """Record one dropped message."""
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1

    @property
    def total(self) -> int:
        """Messages dropped so far."""
        return sum(self.by_reason.values())


def _sample(s: PairSample) -> dict[str, Any]:
    return {"pair": list(s.pair), "bytes": s.bytes, "dscp": s.dscp, "port": s.l4_port}


def _endpoint(e: Endpoint) -> dict[str, Any]:
    return {"ip": e.ip, "name": e.name, "zone": e.zone}


def _pair_forecast(f: PairForecast) -> dict[str, Any]:
    return {
        "pair": list(f.pair),
        "mean_mbps": list(f.mean_mbps),
        "upper_mbps": list(f.upper_mbps),
        "valid_from": f.valid_from,
        "valid_until": f.valid_until,
        "traffic_class": f.traffic_class,
        "latency_bound_ms": f.latency_bound_ms,
        "zone": f.zone,
    }


def _body(msg: Message) -> tuple[str, dict[str, Any]]:
    """The kind tag and the fields of a message, as msgpack-ready values."""
    head = {"source": msg.source, "seq": msg.seq}
    if isinstance(msg, Observations):
        return "observations", head | {
            "interval_start": msg.interval_start,
            "interval_end": msg.interval_end,
            "samples": [_sample(s) for s in msg.samples],
        }
    if isinstance(msg, TopologyChange):
        return "topology", head | {
            "time": msg.time,
            "topology_version": msg.topology_version,
            "endpoints": [_endpoint(e) for e in msg.endpoints],
        }
    if isinstance(msg, ReservationChange):
        return "reservation", head | {
            "time": msg.time,
            "reservation_id": msg.reservation_id,
            "pair": list(msg.pair),
            "rate_mbps": msg.rate_mbps,
            "origin": msg.origin,
            "active": msg.active,
        }
    if isinstance(msg, ForecastBatch):
        return "forecasts", head | {
            "model_version": msg.model_version,
            "quantile": msg.quantile,
            "issued_at": msg.issued_at,
            "forecasts": [_pair_forecast(f) for f in msg.forecasts],
        }
    if isinstance(msg, Anomaly):
        return "anomaly", head | {
            "time": msg.time,
            "pair": list(msg.pair),
            "observed_mbps": msg.observed_mbps,
            "lower_mbps": msg.lower_mbps,
            "upper_mbps": msg.upper_mbps,
            "steps_outside": msg.steps_outside,
            "direction": msg.direction,
        }
    if isinstance(msg, PredictorStatus):
        return "status", head | {
            "time": msg.time,
            "model_version": msg.model_version,
            "pairs": msg.pairs,
            "forecasts_sent": msg.forecasts_sent,
            "anomalies": msg.anomalies,
            "dropped": dict(msg.dropped),
        }
    raise TypeError(f"not a wire message: {type(msg).__name__}")


def encode(msg: Message) -> bytes:
    """One msgpack frame: a map with ``v`` (schema version), ``kind`` and the message fields."""
    kind, body = _body(msg)
    packed: bytes = msgpack.packb({"v": SCHEMA_VERSION, "kind": kind, **body}, use_bin_type=True)
    return packed


def _unpack(data: bytes) -> Any:
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=True)
    except msgpack.ExtraData as exc:
        raise DecodeError(GARBAGE, "trailing bytes after the message") from exc
    except (ValueError, TypeError) as exc:
        if "incomplete" in str(exc) or "exceeds max_" in str(exc):  # length beyond the data
            raise DecodeError(TRUNCATED, "message ends early") from exc
        raise DecodeError(GARBAGE, f"not msgpack: {exc}") from exc
    except Exception as exc:  # msgpack may raise others on hostile input
        raise DecodeError(GARBAGE, f"not msgpack: {type(exc).__name__}") from exc


def decode(data: bytes, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> Message:
    """Decode one frame; raises DecodeError (with a drop reason) for anything malformed."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError(GARBAGE, "frame is not bytes")
    if len(data) > max_bytes:
        raise DecodeError(TOO_LARGE, f"{len(data)} bytes")
    envelope = _unpack(bytes(data))
    if not isinstance(envelope, dict):
        raise DecodeError(GARBAGE, "top level is not a map")
    version = envelope.get("v")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise DecodeError(VERSION, f"schema version {version!r}, expected {SCHEMA_VERSION}")
    kind = envelope.get("kind")
    decoder = DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None:
        raise DecodeError(SCHEMA, f"unknown kind {kind!r}")
    try:
        return decoder(envelope)
    except DecodeError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise DecodeError(SCHEMA, f"{type(exc).__name__}: {exc}") from exc
