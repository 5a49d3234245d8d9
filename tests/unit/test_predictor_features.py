"""Features: no look-ahead, meaning of the columns, time from timestamps only."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from predictor.features import FeatureSpec, build_features, rates_from_change, scaled_change

SPEC = FeatureSpec(step_seconds=3600.0)  # hourly steps: a day is 24 rows
START = 1_700_000_000.0


def random_rates(seed: int, steps: int = 24 * 5, pairs: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.gamma(2.0, 10.0, (steps, pairs))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 1000),
    origin=st.integers(0, 24 * 5 - 2),
    horizon=st.integers(1, SPEC.max_horizon),
)
def test_a_feature_at_t_uses_nothing_after_t(seed: int, origin: int, horizon: int) -> None:
    rates = random_rates(seed)
    future_changed = rates.copy()
    rng = np.random.default_rng(seed + 1)
    future_changed[origin + 1 :] = rng.gamma(2.0, 500.0, future_changed[origin + 1 :].shape)
    future_changed[-1, 0] = np.nan
    origins = np.array([origin])
    before = build_features(rates, START, SPEC, origins, horizon)
    after = build_features(future_changed, START, SPEC, origins, horizon)
    np.testing.assert_array_equal(before.x, after.x)
    np.testing.assert_array_equal(before.scale, after.scale)


def test_features_of_many_origins_equal_those_computed_one_at_a_time() -> None:
    rates = random_rates(3)
    origins = np.arange(30, 100, 7)
    together = build_features(rates, START, SPEC, origins, 2)
    for k, origin in enumerate(origins):
        alone = build_features(rates[: origin + 1], START, SPEC, np.array([origin]), 2)
        np.testing.assert_allclose(together.x[k], alone.x[0], rtol=1e-5, equal_nan=True)


def test_level_and_lags_are_scaled_by_the_pairs_daily_mean() -> None:
    rates = random_rates(5)
    origin = 60
    block = build_features(rates, START, SPEC, np.array([origin]), 1)
    names = SPEC.names()
    scale = rates[origin - 23 : origin + 1].mean(axis=0) + 0.01
    np.testing.assert_allclose(block.scale[0], scale)
    np.testing.assert_allclose(block.x[0, :, names.index("level")], rates[origin] / scale, 1e-5)
    lag2 = (rates[origin - 2] - rates[origin]) / scale
    np.testing.assert_allclose(block.x[0, :, names.index("lag2")], lag2, rtol=1e-4, atol=1e-6)
    day_lag = (rates[origin + 1 - 24] - rates[origin]) / scale
    np.testing.assert_allclose(block.x[0, :, names.index("day_lag")], day_lag, 1e-4, 1e-6)


def test_history_before_the_start_is_missing_not_zero() -> None:
    rates = random_rates(7)
    block = build_features(rates, START, SPEC, np.array([3]), 1)
    names = SPEC.names()
    assert np.isnan(block.x[0, :, names.index("lag5")]).all()
    assert np.isnan(block.x[0, :, names.index("two_day_lag")]).all()


def test_calendar_features_follow_the_stamped_times_not_a_clock() -> None:
    rates = random_rates(9)
    names = SPEC.names()
    origin = np.array([50])
    today = build_features(rates, START, SPEC, origin, 1).x[0, 0]
    next_day = build_features(rates, START + 86400, SPEC, origin, 1).x[0, 0]
    six_hours_on = build_features(rates, START + 6 * 3600, SPEC, origin, 1).x[0, 0]
    tod, dow = names.index("tod_sin"), names.index("dow_sin")
    assert today[tod] == next_day[tod]
    assert today[dow] != next_day[dow]
    assert today[tod] != six_hours_on[tod]


def test_target_change_inverts_back_to_rates() -> None:
    rates = random_rates(11)
    origins = np.arange(30, 90)
    block = build_features(rates, START, SPEC, origins, 3)
    change = scaled_change(rates, block, origins + 3)
    np.testing.assert_allclose(rates_from_change(change, block), rates[origins + 3])


WINDOWED = FeatureSpec(step_seconds=300.0, window=12)  # 5-minute steps, the protocol's window


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), origin=st.integers(12, 600), horizon=st.integers(1, 12))
def test_a_windowed_feature_reads_only_the_last_window_rows(
    seed: int, origin: int, horizon: int
) -> None:
    rates = random_rates(seed, steps=620)
    older_changed = rates.copy()
    rng = np.random.default_rng(seed + 1)
    older_changed[: origin - 11] = rng.gamma(2.0, 500.0, older_changed[: origin - 11].shape)
    origins = np.array([origin])
    before = build_features(rates, START, WINDOWED, origins, horizon)
    after = build_features(older_changed, START, WINDOWED, origins, horizon)
    # window means come from running sums: older rows change only the rounding
    np.testing.assert_allclose(before.x, after.x, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(before.scale, after.scale, rtol=1e-9)
    np.testing.assert_allclose(before.scale[0], rates[origin - 11 : origin + 1].mean(axis=0) + 0.01)


def test_a_window_leaves_the_columns_it_cannot_read_missing() -> None:
    block = build_features(random_rates(1, steps=700), START, WINDOWED, np.arange(650, 660), 1)
    names = WINDOWED.names()
    missing = {names[k] for k in np.flatnonzero(np.isnan(block.x).all(axis=(0, 1)))}
    assert {"day_lag", "two_day_lag", "mean_3hours", "hour_lag2", "rough_day"} <= missing
    assert not missing & {"level", "lag1", "lag5", "mean_hour", "hour_lag1", "rough_step"}
