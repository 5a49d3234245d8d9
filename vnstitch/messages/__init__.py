"""The wire contract between the controller and the predictor (schema version 1).

Transport (ZeroMQ, one msgpack frame per message). The controller BINDS both sockets, the
predictor CONNECTS, so either side can restart and ZeroMQ reconnects by itself. Both sockets
use CURVE (the controller is the server; a client whose public key is not authorized is refused
during the handshake, before any frame is read: ``vnstitch.northbound.wire_keys``), and every
socket sets ``ZMQ_MAXMSGSIZE`` (:data:`DEFAULT_MAX_MESSAGE_BYTES`, 4 MiB, unless configured),
so a larger frame disconnects its sender at the frame header instead of being read whole:

- observations, controller -> predictor: controller PUB bound at ``tcp://127.0.0.1:5561``,
  predictor SUB subscribed to everything. Kinds ``observations``, ``topology``,
  ``reservation``.
- forecasts, predictor -> controller: controller PULL bound at ``tcp://127.0.0.1:5562``,
  predictor PUSH (``ZMQ_IMMEDIATE``: nothing queues while the controller is away). Kinds
  ``forecasts``, ``anomaly``, ``status``.

Frame: a msgpack map ``{"v": 1, "kind": KIND, "source": str, "seq": int, ...}``. ``source``
names the sending process instance (a new value after a restart), ``seq`` counts that
sender's messages from 0. Pairs are ``[src_ip, dst_ip]``. Times are float seconds since the
epoch on the controller's clock (or a replay's clock): the predictor never reads its own clock
for features. Rates are Mbit/s.

- observations: ``interval_start``, ``interval_end``, ``samples``: list of
  ``{pair, bytes, dscp|nil, port|nil}`` (bytes sent in the interval; absent pairs sent none).
- topology: ``time``, ``topology_version``, ``endpoints``: list of ``{ip, name, zone}``.
- reservation: ``time``, ``reservation_id``, ``pair``, ``rate_mbps``, ``origin``
  (request|intent|forecast), ``active``.
- forecasts: ``model_version``, ``quantile`` (level of ``upper_mbps``), ``issued_at`` (end of the
  last observed interval), ``forecasts``: list of ``{pair, mean_mbps: [..], upper_mbps: [..],
  valid_from, valid_until, traffic_class, latency_bound_ms|nil, zone}``; step i of the lists
  covers ``valid_from + i*step`` with ``step = (valid_until - valid_from) / len(mean_mbps)``.
- anomaly: ``time``, ``pair``, ``observed_mbps``, ``lower_mbps``, ``upper_mbps``,
  ``steps_outside``, ``direction`` (above|below).
- status: ``time``, ``model_version``, ``pairs``, ``forecasts_sent``, ``anomalies``,
  ``dropped`` (reason -> count).

Receivers decode with :func:`decode`, which raises :class:`DecodeError` (reason garbage,
truncated, version, schema or too_large) for anything malformed; the receiver counts it in a
:class:`DropCounter` and carries on. Unknown extra fields are ignored (additive changes keep
version 1); removing or changing a field needs a new version.
"""

from vnstitch.messages.codec import DEFAULT_MAX_MESSAGE_BYTES, DropCounter, decode, encode
from vnstitch.messages.decoding import DROP_REASONS, DecodeError
from vnstitch.messages.types import (
    ABOVE,
    BELOW,
    DEFAULT_FORECASTS_ENDPOINT,
    DEFAULT_OBSERVATIONS_ENDPOINT,
    ORIGIN_FORECAST,
    ORIGIN_INTENT,
    ORIGIN_REQUEST,
    SCHEMA_VERSION,
    Anomaly,
    Endpoint,
    ForecastBatch,
    Message,
    Observations,
    PairForecast,
    PairId,
    PairSample,
    PredictorStatus,
    ReservationChange,
    TopologyChange,
)

__all__ = [
    "ABOVE",
    "BELOW",
    "DEFAULT_FORECASTS_ENDPOINT",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DEFAULT_OBSERVATIONS_ENDPOINT",
    "DROP_REASONS",
    "ORIGIN_FORECAST",
    "ORIGIN_INTENT",
    "ORIGIN_REQUEST",
    "SCHEMA_VERSION",
    "Anomaly",
    "DecodeError",
    "DropCounter",
    "Endpoint",
    "ForecastBatch",
    "Message",
    "Observations",
    "PairForecast",
    "PairId",
    "PairSample",
    "PredictorStatus",
    "ReservationChange",
    "TopologyChange",
    "decode",
    "encode",
]
