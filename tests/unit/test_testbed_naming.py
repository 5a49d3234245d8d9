"""Names and addresses the test bed gives switches, hosts and relays."""

from __future__ import annotations

import pytest

from testbed import naming
from testbed.ownership import run_prefix_of, validate_prefix


def test_host_addresses_count_up_from_one_inside_10_slash_8() -> None:
    assert naming.host_ip(1) == "10.0.0.1"
    assert naming.host_ip(300) == "10.0.1.44"
    with pytest.raises(ValueError):
        naming.host_ip(0)


def test_host_macs_spell_the_index_in_hex_over_six_bytes() -> None:
    assert naming.host_mac(1) == "00:00:00:00:00:01"
    assert naming.host_mac(300) == "00:00:00:00:01:2c"


def test_switch_relay_and_interface_names() -> None:
    assert naming.switch_name("vns", 3) == "vns3"
    assert naming.relay_name("vns", 2) == "vnsr2"
    assert naming.intf_name("vns3", 2) == "vns3-eth2"
    naming.check_intf_name("vnsabcd12-eth10")
    with pytest.raises(ValueError, match="exceeds 15"):
        naming.check_intf_name("vnsabcdefg12-eth10")


def test_unique_prefix_is_letters_only_and_stable_per_salt() -> None:
    prefix = naming.unique_prefix("vns", salt=123456)
    assert prefix == naming.unique_prefix("vns", salt=123456) != naming.unique_prefix("vns", 1)
    assert prefix.isalpha() and prefix.startswith("vns") and len(prefix) == 7
    validate_prefix(prefix)


def test_run_prefix_is_recovered_from_bridge_and_interface_names() -> None:
    assert run_prefix_of("vns12") == "vns"
    assert run_prefix_of("vnsab3-eth4") == "vnsab"
    assert run_prefix_of("vnsq4242-a") == "vnsq"


@pytest.mark.parametrize("bad", ["", "vns1", "Vns", "vns-x", "vns_"])
def test_prefixes_that_would_make_names_ambiguous_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        validate_prefix(bad)


def test_graphs_whose_interface_names_would_not_fit_are_refused_before_building() -> None:
    nx = pytest.importorskip("networkx")
    network = pytest.importorskip("testbed.network")  # needs Mininet's Python package
    network.check_name_lengths(nx.cycle_graph(11), "vnsabcd", 1)
    with pytest.raises(ValueError, match="exceeds 15"):
        network.check_name_lengths(nx.complete_graph(12), "vnsabcde", 1)
