"""Wire codec: round trips, and rejection of garbage, truncation, wrong versions and types."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vnstitch.messages import (
    SCHEMA_VERSION,
    Anomaly,
    DecodeError,
    DropCounter,
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
    decode,
    encode,
)

texts = st.text(max_size=20)
ips = st.ip_addresses(v=4).map(str)
counts = st.integers(min_value=0, max_value=2**63 - 1)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False)
rates = st.floats(min_value=0, max_value=1e6, allow_nan=False)
pairs = st.builds(PairId, ips, ips)
optional_small = st.none() | st.integers(min_value=0, max_value=65535)

samples = st.builds(PairSample, pairs, counts, optional_small, optional_small)
observations = st.builds(
    lambda src, seq, start, length, s: Observations(src, seq, start, start + length, tuple(s)),
    texts,
    counts,
    times,
    st.floats(min_value=0.001, max_value=1e5),
    st.lists(samples, max_size=5),
)
topology = st.builds(
    TopologyChange,
    texts,
    counts,
    times,
    counts,
    st.lists(st.builds(Endpoint, ips, texts, texts), max_size=4).map(tuple),
)
reservations = st.builds(
    ReservationChange,
    texts,
    counts,
    times,
    texts,
    pairs,
    rates,
    st.sampled_from(["request", "intent", "forecast"]),
    st.booleans(),
)


@st.composite
def pair_forecasts(draw: st.DrawFn) -> PairForecast:
    steps = draw(st.integers(min_value=1, max_value=6))
    start = draw(times)
    return PairForecast(
        draw(pairs),
        tuple(draw(st.lists(rates, min_size=steps, max_size=steps))),
        tuple(draw(st.lists(rates, min_size=steps, max_size=steps))),
        start,
        start + draw(st.floats(min_value=1.0, max_value=1e4)),
        draw(texts),
        draw(st.none() | rates),
        draw(texts),
    )


forecasts = st.builds(
    ForecastBatch,
    texts,
    counts,
    texts,
    st.floats(min_value=0, max_value=0.999),
    times,
    st.lists(pair_forecasts(), max_size=4).map(tuple),
)
anomalies = st.builds(
    Anomaly,
    texts,
    counts,
    times,
    pairs,
    rates,
    rates,
    rates,
    st.integers(min_value=1, max_value=100),
    st.sampled_from(["above", "below"]),
)
statuses = st.builds(
    PredictorStatus,
    texts,
    counts,
    times,
    texts,
    counts,
    counts,
    counts,
    st.dictionaries(texts, counts, max_size=3),
)
messages = observations | topology | reservations | forecasts | anomalies | statuses


@given(messages)
def test_every_message_kind_survives_a_round_trip(msg: Message) -> None:
    assert decode(encode(msg)) == msg


@given(messages, st.data())
def test_a_truncated_frame_is_rejected(msg: Message, data: st.DataObject) -> None:
    frame = encode(msg)
    cut = data.draw(st.integers(min_value=0, max_value=len(frame) - 1))
    with pytest.raises(DecodeError):
        decode(frame[:cut])


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_the_decoder(frame: bytes) -> None:
    try:
        decode(frame)
    except DecodeError as exc:
        assert exc.reason in {"garbage", "truncated", "version", "schema", "too_large"}


@given(
    messages,
    st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.none()
    | st.text(max_size=3)
    | st.booleans(),
)
def test_a_wrong_schema_version_is_rejected(msg: Message, version: object) -> None:
    body = msgpack.unpackb(encode(msg))
    if version == SCHEMA_VERSION and type(version) is int:
        version = SCHEMA_VERSION + 1
    body["v"] = version
    with pytest.raises(DecodeError) as caught:
        decode(msgpack.packb(body))
    assert caught.value.reason == "version"


@given(messages, st.data())
def test_a_field_of_the_wrong_type_is_rejected(msg: Message, data: st.DataObject) -> None:
    body = msgpack.unpackb(encode(msg))
    key = data.draw(st.sampled_from(sorted(k for k in body if k not in ("v", "kind"))))
    original = body[key]
    candidates = [{"x": 1}, [1, "a"], "text", True, None, -5, 1.5]
    if isinstance(original, float):  # an int is a fine value for a float field
        candidates = candidates[:-2]
    wrong = data.draw(st.sampled_from(candidates).filter(lambda w: type(w) is not type(original)))
    body[key] = wrong
    with pytest.raises(DecodeError) as caught:
        decode(msgpack.packb(body))
    assert caught.value.reason == "schema"


def test_a_missing_field_and_an_unknown_kind_are_schema_errors() -> None:
    body = msgpack.unpackb(encode(Observations("c", 1, 0.0, 5.0)))
    del body["interval_end"]
    with pytest.raises(DecodeError, match="interval_end"):
        decode(msgpack.packb(body))
    with pytest.raises(DecodeError, match="unknown kind"):
        decode(msgpack.packb({"v": SCHEMA_VERSION, "kind": "bogus"}))


def test_unknown_extra_fields_are_ignored() -> None:
    msg = Observations("c", 1, 0.0, 5.0, (PairSample(PairId("10.0.0.1", "10.0.0.2"), 1000),))
    body = msgpack.unpackb(encode(msg))
    body["added_in_a_later_release"] = [1, 2, 3]
    assert decode(msgpack.packb(body)) == msg


def test_negative_bytes_and_inverted_intervals_are_rejected() -> None:
    bad_sample = msgpack.unpackb(
        encode(Observations("c", 1, 0.0, 5.0, (PairSample(PairId("a", "b"), 1),)))
    )
    bad_sample["samples"][0]["bytes"] = -1
    inverted = msgpack.unpackb(encode(Observations("c", 1, 0.0, 5.0)))
    inverted["interval_end"] = -1.0
    for body in (bad_sample, inverted):
        with pytest.raises(DecodeError):
            decode(msgpack.packb(body))


def test_drop_counter_counts_per_reason() -> None:
    counter = DropCounter()
    for frame in (b"\xc1", b"\x92", msgpack.packb({"v": 99})):
        try:
            decode(frame)
        except DecodeError as exc:
            counter.count(exc.reason)
    assert counter.by_reason == {"garbage": 1, "truncated": 1, "version": 1}
    assert counter.total == 3


def test_forecast_step_lookup_follows_the_validity_window() -> None:
    forecast = PairForecast(PairId("a", "b"), (1.0, 2.0), (3.0, 4.0), 100.0, 120.0)
    assert forecast.upper_at(95.0) == 3.0
    assert forecast.upper_at(109.9) == 3.0
    assert forecast.upper_at(110.0) == 4.0
    assert forecast.mean_at(119.0) == 2.0
    assert forecast.upper_at(120.0) is None
