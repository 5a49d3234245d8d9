"""The whole stack for tests, scenarios and benchmarks: our controller plus a Mininet network."""

from __future__ import annotations

import json
import secrets
import tempfile
import urllib.error
import urllib.request
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import networkx as nx

from predictor.curve_client import CurveClient, curve_client
from testbed import naming
from testbed.controller import ControllerProcess, free_tcp_port
from testbed.controller_config import write_config
from testbed.network import Testbed, build_network
from testbed.wait import wait_until

APP = "ryu_apps.vnstitch"


class RestError(Exception):
    """A REST call answered with an error status."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class Stack:
    """ryu-manager running ryu_apps.vnstitch with a generated config, and the network."""

    def __init__(
        self,
        graph: nx.Graph,
        *,
        hosts_per_switch: int = 1,
        switch_zones: Mapping[Hashable, str] | None = None,
        controller: Mapping[str, float] | None = None,
        extra_config: str = "",
        base_prefix: str = "vns",
        predictor: Mapping[str, str | float | bool] | None = None,
        inventory: bool = True,
    ) -> None:
        """``inventory``: False leaves the hosts out of the config (learned from traffic)."""
        self.graph = graph
        self.prefix = naming.unique_prefix(base_prefix)
        self.observations_endpoint = f"tcp://127.0.0.1:{free_tcp_port()}"
        self.forecasts_endpoint = f"tcp://127.0.0.1:{free_tcp_port()}"
        self._dir = Path(tempfile.mkdtemp(prefix="vnstitch-"))
        self.key_dir = self._dir / "curve"  # the controller's CURVE keys; give the predictor
        predictor_options: dict[str, str | float | bool] = {
            "observations_endpoint": self.observations_endpoint,
            "forecasts_endpoint": self.forecasts_endpoint,
            "key_dir": str(self.key_dir),
            **(predictor or {}),
        }
        self.config_path = write_config(
            self._dir / "controller.toml",
            graph,
            self.prefix,
            hosts_per_switch=hosts_per_switch,
            switch_zones=switch_zones,
            controller=controller or {"probe_interval_s": 0.5, "link_timeout_s": 3.5},
            predictor=predictor_options,
            inventory=inventory,
            extra=extra_config + f'\n[api]\nstate_db = "{self._dir / "state.db"}"\n',
        )
        self.hosts_per_switch = hosts_per_switch
        self.token = secrets.token_urlsafe(16)
        self.token_file = self._dir / "api-token"  # owner-only: for a person opening the web view
        self.token_file.touch(mode=0o600)
        self.token_file.write_text(self.token + "\n")
        self.controller = ControllerProcess(
            [APP],
            env={"VNSTITCH_CONFIG": str(self.config_path), "VNSTITCH_API_TOKEN": self.token},
            log_path=self._dir / "ryu.log",
        )
        self.net: Testbed | None = None
        self.restarts = 0

    @property
    def ui_url(self) -> str:
        """The web view of this stack's controller (sign in with the token in ``token_file``)."""
        return f"{self.controller.rest_url}/ui/"

    def curve_client(self, name: str, timeout_s: float = 20.0) -> CurveClient:
        """An authorized client keypair ``name`` for a ZeroMQ socket to this stack's queue."""
        client = curve_client(self.key_dir, name=name, timeout_s=timeout_s)
        assert client is not None
        return client

    def start(self, discover_timeout_s: float = 30.0) -> Stack:
        """Start the controller and the network, and wait until the topology is discovered."""
        self.controller.start()
        try:
            self.net = build_network(
                self.graph,
                self.controller.of_port,
                prefix=self.prefix,
                hosts_per_switch=self.hosts_per_switch,
            )
            self.wait_discovered(discover_timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_discovered(self, timeout_s: float = 30.0) -> dict[str, Any]:
        """Wait until every switch and both directions of every link are in /v1/topology."""
        want_sw, want_links = self.graph.number_of_nodes(), 2 * self.graph.number_of_edges()

        def done() -> dict[str, Any] | None:
            topo = self.get("/v1/topology")
            ok = len(topo["switches"]) == want_sw and len(topo["links"]) == want_links
            return topo if ok else None

        topo: dict[str, Any] = wait_until(done, timeout_s, 0.1, "topology discovery")
        return topo

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = "stack"
    ) -> tuple[int, Any]:
        """Call the REST API; returns (status, decoded body) for success and error alike.

        Sends this stack's bearer token unless ``token`` names another one (None: no header).
        """
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.controller.rest_url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token is not None:
            req.add_header("Authorization", f"Bearer {self.token if token == 'stack' else token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, raw.decode(errors="replace")

    def get(self, path: str) -> Any:
        """GET and return the body; RestError on an error status."""
        status, body = self.request("GET", path)
        if status >= 400:
            raise RestError(status, body)
        return body

    def dump_flows(self, node: Hashable) -> str:
        """``ovs-ofctl dump-flows`` of a switch (by graph node)."""
        assert self.net is not None
        sw = self.net.net[self.net.switch_name[node]]
        return str(sw.cmd(f"ovs-ofctl -O OpenFlow13 dump-flows {sw.name}"))

    def kill_controller(self) -> None:
        """SIGKILL the controller (a crash): switches keep their tables (fail-mode secure)."""
        proc = self.controller._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    def pause_controller(self) -> None:
        """SIGSTOP the controller (a frozen control plane): only the switches react."""
        self.controller.pause()

    def resume_controller(self) -> None:
        """SIGCONT the controller: it handles the port status and events that queued up."""
        self.controller.resume()

    def dump_groups(self, node: Hashable) -> str:
        """``ovs-ofctl dump-groups`` of a switch (by graph node)."""
        assert self.net is not None
        sw = self.net.net[self.net.switch_name[node]]
        return str(sw.cmd(f"ovs-ofctl -O OpenFlow13 dump-groups {sw.name}"))

    def restart_controller(self, discover_timeout_s: float = 30.0) -> None:
        """Start a new controller on the same ports and config; wait for rediscovery."""
        self.restarts += 1
        old = self.controller
        self.controller = ControllerProcess(
            old.apps,
            of_port=old.of_port,
            rest_port=old.rest_port,
            env=old.env,
            log_path=self._dir / f"ryu-restart{self.restarts}.log",
        )
        self.controller.start()
        self.wait_discovered(discover_timeout_s)

    def stop(self) -> None:
        """Stop the network and the controller (only what this stack started)."""
        if self.net is not None:
            self.net.stop()
            self.net = None
        self.controller.stop()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
