"""Config validation: good files load, bad ones name the field and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from vnstitch.northbound.config import ConfigError, load_config

GOOD = """
[controller]
probe_interval_s = 0.5

[[switch]]
name = "vns1"
zone = "blue"

[[switch]]
dpid = "0000000000000002"

[[link]]
a = "vns1"
b = "vns2"
capacity_mbps = 20
zone = "blue"

[[host]]
name = "h1"
mac = "00:00:00:00:00:01"
ip = "10.0.0.1"
switch = "vns1"
port = 1
zone = "pci"
cpu = 4
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_good_config_loads_zones_capacities_and_inventory(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, GOOD))
    assert cfg.controller.probe_interval_s == 0.5
    zones = cfg.zone_map()
    assert zones.switch_zone(1, "vns1") == "blue"
    assert zones.switch_zone(2, "vns2") == "default"
    assert zones.link_capacity("vns2", "vns1") == 20
    assert zones.link_zone("vns1", "vns2") == "blue"
    assert zones.host_zone("h1", None, "x") == "pci"
    assert zones.host_name_for("10.0.0.1", "zz") == "h1"
    assert cfg.hosts[0].cpu == 4


def test_no_path_means_defaults() -> None:
    cfg = load_config(None)
    assert cfg.hosts == () and cfg.controller.link_timeout_s > cfg.controller.probe_interval_s
    assert cfg.predictor.curve and cfg.predictor.key_dir is None  # CURVE unless said otherwise
    assert cfg.predictor.max_message_bytes == 4 * 1024 * 1024
    assert cfg.predictor.max_forecast_horizon_s == 6 * 3600


def test_adjustment_options_load(tmp_path: Path) -> None:
    assert not load_config(None).adjustment.enabled  # off unless configured
    text = (
        "[adjustment]\nenabled = true\ncongestion_threshold = 0.8\ncongestion_rounds = 2\n"
        "reoptimise_interval_s = 60\nreoptimise_min_gain_ms = 0.5\nanomaly_growth = 0.3\n"
    )
    opts = load_config(_write(tmp_path, text)).adjustment
    assert (opts.enabled, opts.congestion_threshold, opts.congestion_rounds) == (True, 0.8, 2)
    assert (opts.reoptimise_interval_s, opts.reoptimise_min_gain_ms) == (60.0, 0.5)
    assert opts.anomaly_growth == 0.3


def test_predictor_security_options_load(tmp_path: Path) -> None:
    text = (
        "[predictor]\ncurve = false\nkey_dir = '/k'\nauthorized_keys_dir = '/k/ok'\n"
        "max_message_bytes = 1048576\nmax_forecast_horizon_s = 3600\n"
    )
    opts = load_config(_write(tmp_path, text)).predictor
    assert (opts.curve, opts.key_dir, opts.authorized_keys_dir) == (False, "/k", "/k/ok")
    assert (opts.max_message_bytes, opts.max_forecast_horizon_s) == (1048576, 3600.0)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[controller]\nprobe_interval = 1\n", "unknown option 'probe_interval'"),
        ("[controller]\nprobe_interval_s = -1\n", "probe_interval_s must be a number"),
        ("[[host]]\nname='h1'\nmac='zz'\nswitch='s'\nport=1\n", "mac is not a MAC"),
        (
            "[[host]]\nname='h1'\nmac='00:00:00:00:00:01'\nswitch='nowhere'\nport=1\n",
            "switch 'nowhere', which no [[switch]] declares",
        ),
        ("[[switch]]\nzone='a'\n", "needs a name or a dpid"),
        ("[[switch]]\ndpid='xyz'\n", "dpid must be up to 16 hex digits"),
        ("this is = = not toml", "not valid TOML"),
        ("bogus = 1\n", "unknown option 'bogus'"),
        ("[predictor]\ncurve = 'no'\n", "curve must be true or false"),
        ("[predictor]\nmax_message_bytes = 1000\n", "max_message_bytes must be a number >= 65536"),
        ("[predictor]\nmax_forecast_horizon_s = 0\n", "max_forecast_horizon_s must be a number"),
        ("[predictor]\nkey_dir = ''\n", "key_dir must be a non-empty string"),
        ("[adjustment]\nthreshold = 0.9\n", "unknown option 'threshold'"),
        ("[adjustment]\ncongestion_threshold = 1.5\n", "share of capacity in (0, 1]"),
        ("[adjustment]\ncongestion_threshold = 0\n", "congestion_threshold must be a number"),
        ("[adjustment]\ncongestion_rounds = 2.5\n", "whole number of rounds"),
        ("[adjustment]\ncongestion_rounds = 0\n", "congestion_rounds must be a number >= 1"),
        ("[adjustment]\nreoptimise_min_gain_ms = -1\n", "reoptimise_min_gain_ms must be"),
        ("[adjustment]\nenabled = 1\n", "enabled must be true or false"),
        ("adjustment = 3\n", "[adjustment] must be a table"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert needle in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "absent.toml")


def test_switch_coordinates_are_read_checked_and_shown(tmp_path: Path) -> None:
    """[[switch]] latitude/longitude reach GET /v1/topology; bad ones are a clear error."""
    from topology.database import TopologyDatabase
    from topology.model import Port

    path = tmp_path / "c.toml"
    path.write_text('[[switch]]\nname = "s1"\nlatitude = 40.7\nlongitude = -74.0\n')
    config = load_config(path)
    db = TopologyDatabase(config.zone_map())
    db.add_switch(1, [Port(1)], 0.0, "s1")
    (switch,) = db.to_dict()["switches"]
    assert (switch["latitude"], switch["longitude"]) == (40.7, -74.0)
    path.write_text('[[switch]]\nname = "s1"\nlatitude = 95\nlongitude = 0\n')
    with pytest.raises(ConfigError, match="latitude"):
        load_config(path)
    path.write_text('[[switch]]\nname = "s1"\nlatitude = 40\n')
    with pytest.raises(ConfigError, match="both"):
        load_config(path)
