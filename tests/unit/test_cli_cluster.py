"""``vnstitch controller --store`` and ``vnstitch store serve``: what they hand on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vnstitch.cluster.members import LocalCluster, Member
from vnstitch.northbound import cli


def _run_controller(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(os, "execv", lambda exe, args: seen.extend(args))
    for name in ("VNSTITCH_STORE", "VNSTITCH_INSTANCE", "VNSTITCH_URL"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(argv) == 0
    return seen


def test_a_controller_without_a_store_runs_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = _run_controller(monkeypatch, ["controller", "--rest-port", "8081"])
    assert argv[-1] == "ryu_apps.vnstitch"
    assert "VNSTITCH_STORE" not in os.environ


def test_a_cluster_member_gets_the_store_its_name_and_url(monkeypatch: pytest.MonkeyPatch) -> None:
    store = "tcp:127.0.0.1:6641,tcp:127.0.0.1:6642,tcp:127.0.0.1:6643"
    args = ["controller", "--store", store, "--instance", "c2", "--rest-port", "8082"]
    _run_controller(monkeypatch, [*args, "--advertise-host", "10.0.0.2"])
    assert os.environ["VNSTITCH_STORE"] == store
    assert os.environ["VNSTITCH_INSTANCE"] == "c2"
    assert os.environ["VNSTITCH_URL"] == "http://10.0.0.2:8082"


def test_store_serve_prints_the_address_and_stops_its_members(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started: list[LocalCluster] = []

    def fake_start(folder: str, count: int, **_: object) -> LocalCluster:
        cluster = LocalCluster(Path(folder), [Member(0, Path(folder) / "m1.db", 16641, 16644)])
        started.append(cluster)
        return cluster

    monkeypatch.setattr("vnstitch.cluster.serve.start_local", fake_start)
    monkeypatch.setattr("threading.Event.wait", lambda self, timeout=None: True)
    monkeypatch.setattr("signal.signal", lambda *args: None)  # keep pytest's own handlers
    assert cli.main(["store", "serve", "--members", "3", "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == "tcp:127.0.0.1:16641" == started[0].address


def test_the_client_follows_a_follower_s_307_with_method_body_and_token() -> None:
    import urllib.request
    from http.client import HTTPMessage

    from vnstitch.northbound.client import _FollowLeader

    sent = urllib.request.Request(
        "http://follower:8082/v1/intents",
        data=b'{"kind": "isolation"}',
        headers={"Authorization": "Bearer secret"},
        method="POST",
    )
    leader = "http://leader:8081/v1/intents"
    again = _FollowLeader().redirect_request(sent, None, 307, "", HTTPMessage(), leader)  # type: ignore[arg-type]
    assert again is not None and again.full_url == leader
    assert again.get_method() == "POST" and again.data == b'{"kind": "isolation"}'
    assert again.get_header("Authorization") == "Bearer secret"
