"""A controller cluster for tests and benchmarks: a 3-member store, N controllers, one network.

Every switch is given every controller (``ovs-vsctl set-controller BR tcp:A tcp:B tcp:C``);
the controllers elect a leader through the store. Only processes and bridges this object
started are stopped.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import networkx as nx

from testbed import naming
from testbed.controller import ControllerProcess, free_tcp_port
from testbed.controller_config import write_config
from testbed.network import Testbed, build_network
from testbed.wait import wait_until
from vnstitch.cluster.members import LocalCluster, start_local
from vnstitch.northbound.config import load_config

APP = "ryu_apps.vnstitch"


class ClusterStack:
    """The store, the controllers (``c1``..``cN``) and the Mininet network."""

    def __init__(
        self,
        graph: nx.Graph,
        *,
        controllers: int = 3,
        options: dict[str, float] | None = None,
        inventory: bool = True,
        predictor: Mapping[str, str | float | bool] | None = None,
        queue_per_instance: bool = False,
    ) -> None:
        """``predictor``: more ``[predictor]`` options; ``queue_per_instance``: each controller
        its own predictor endpoints (``queue_endpoints``), as on separate hosts."""
        self.graph = graph
        self.prefix = naming.unique_prefix("vcl")
        self.dir = Path(tempfile.mkdtemp(prefix="vnstitch-cluster-"))
        self.token = secrets.token_urlsafe(16)
        self.queue_endpoints: dict[str, tuple[str, str]] = {}
        self._config_paths: dict[str, Path] = {}

        def config(path: Path) -> Path:
            endpoints = (f"tcp://127.0.0.1:{free_tcp_port()}" for _ in range(2))
            return write_config(
                path,
                graph,
                self.prefix,
                controller=options or {"probe_interval_s": 0.5, "link_timeout_s": 3.5},
                predictor={  # only the leader binds these (a predictor follows it)
                    "observations_endpoint": next(endpoints),
                    "forecasts_endpoint": next(endpoints),
                    "curve": False,
                    **(predictor or {}),
                },
                inventory=inventory,
                extra=f'\n[api]\nstate_db = "{self.dir / "unused.db"}"\n',
            )

        self.config_path = config(self.dir / "controller.toml")
        for index in range(1, controllers + 1) if queue_per_instance else ():
            name = f"c{index}"
            self._config_paths[name] = config(self.dir / f"controller-{name}.toml")
        for index in range(1, controllers + 1):
            path = self._config_paths.get(f"c{index}", self.config_path)
            opts = load_config(str(path)).predictor
            self.queue_endpoints[f"c{index}"] = (
                opts.observations_endpoint,
                opts.forecasts_endpoint,
            )
        self.store: LocalCluster | None = None
        self.controllers: dict[str, ControllerProcess] = {}
        self.count = controllers
        self.net: Testbed | None = None
        self.restarts = 0

    # ---- life cycle -----------------------------------------------------------------------
    def start(self, discover_timeout_s: float = 30.0) -> ClusterStack:
        """Start the store, the controllers and the network; wait for a leader and topology."""
        try:
            self.store = start_local(self.dir / "store", 3)
            for index in range(1, self.count + 1):
                self.start_controller(f"c{index}")
            first = next(iter(self.controllers.values()))
            self.net = build_network(self.graph, first.of_port, prefix=self.prefix)
            targets = " ".join(f"tcp:127.0.0.1:{c.of_port}" for c in self.controllers.values())
            for name in self.net.switch_name.values():
                _vsctl(f"set-controller {name} {targets}")
                for uuid in _vsctl(f"get bridge {name} controller").strip("[]\n").split(","):
                    # reconnect to a restarted controller within 1 s (OVS backs off up to 8 s)
                    _vsctl(f"set controller {uuid.strip()} max_backoff=1000")
            self.wait_discovered(discover_timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def start_controller(self, name: str) -> ControllerProcess:
        """Start (or start again, on the same ports) controller ``name``."""
        assert self.store is not None
        old = self.controllers.get(name)
        self.restarts += old is not None
        proc = ControllerProcess(
            [APP],
            of_port=old.of_port if old else None,
            rest_port=old.rest_port if old else None,
            env={
                "VNSTITCH_CONFIG": str(self._config_paths.get(name, self.config_path)),
                "VNSTITCH_API_TOKEN": self.token,
                "VNSTITCH_STORE": self.store.address,
                "VNSTITCH_INSTANCE": name,
            },
            log_path=self.dir / f"{name}-{self.restarts}.log",
        )
        proc.env["VNSTITCH_URL"] = proc.rest_url
        self.controllers[name] = proc.start()
        return proc

    def stop(self) -> None:
        """Stop the network, the controllers and the store (only what this object started)."""
        if self.net is not None:
            self.net.stop()
            self.net = None
        for proc in self.controllers.values():
            proc.stop()
        if self.store is not None:
            self.store.stop()

    def __enter__(self) -> ClusterStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_switches_connected(self, name: str, timeout_s: float = 15.0) -> None:
        """Wait until every switch is connected to controller ``name``."""
        target = f"tcp:127.0.0.1:{self.controllers[name].of_port}"
        assert self.net is not None
        bridges = list(self.net.switch_name.values())

        def connected() -> bool:
            for bridge in bridges:
                for uuid in _vsctl(f"get bridge {bridge} controller").strip("[]\n").split(","):
                    row = _vsctl(f"--columns=target,is_connected list controller {uuid.strip()}")
                    if target in row and "true" not in row:
                        return False
            return True

        wait_until(connected, timeout_s, 0.1, f"every switch connected to {name}")

    # ---- leadership -----------------------------------------------------------------------
    def cluster(self, name: str) -> dict[str, Any]:
        """``GET /v1/cluster`` of controller ``name``."""
        status, body = self.request(name, "GET", "/v1/cluster")
        assert status == 200, body
        return dict(body)

    def leader(self, timeout_s: float = 10.0, not_: str | None = None) -> str:
        """The instance every live controller names as leader (other than ``not_``)."""

        def agreed() -> str | None:
            seen = set()
            for name, proc in self.controllers.items():
                if proc.is_running() and name != not_:
                    try:
                        body = self.cluster(name)
                    except OSError:
                        return None
                    seen.add(body["leader"] if body["role"] != "leader" else name)
                    if body["leader"] != name and body["role"] == "leader":
                        return None
            found = seen.pop() if len(seen) == 1 else None
            if found is None or found == not_:
                return None
            status, _ = self.request(found, "GET", "/v1/stats")
            return found if status == 200 else None

        leader: str = wait_until(agreed, timeout_s, 0.02, "one leader named by every instance")
        return leader

    def kill(self, name: str) -> None:
        """SIGKILL controller ``name``."""
        proc = self.controllers[name]._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    def signal(self, name: str, sig: int) -> None:
        """Send ``sig`` (SIGSTOP, SIGCONT) to controller ``name``."""
        proc = self.controllers[name]._proc
        assert proc is not None
        proc.send_signal(sig)

    # ---- REST -----------------------------------------------------------------------------
    def request(
        self, name: str, method: str, path: str, body: Any = None, timeout_s: float = 10.0
    ) -> tuple[int, Any]:
        """A call to controller ``name`` (307 not followed); (status, decoded body)."""
        url = self.controllers[name].rest_url + path
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        req.add_header("Authorization", f"Bearer {self.token}")
        opener = urllib.request.build_opener(_NoRedirect())
        try:
            with opener.open(req, timeout=timeout_s) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, raw.decode(errors="replace")

    def get(self, name: str, path: str) -> Any:
        """GET from ``name``; AssertionError on an error status."""
        status, body = self.request(name, "GET", path)
        assert status < 400, (status, body)
        return body

    def wait_discovered(self, timeout_s: float = 30.0) -> None:
        """Wait until the leader sees every switch and both directions of every link."""
        want = (self.graph.number_of_nodes(), 2 * self.graph.number_of_edges())
        deadline = time.monotonic() + timeout_s
        leader = self.leader(timeout_s)

        def done() -> bool:
            topo = self.get(leader, "/v1/topology")
            return (len(topo["switches"]), len(topo["links"])) == want

        wait_until(done, max(1.0, deadline - time.monotonic()), 0.1, "topology discovery")

    def dump_flows(self, node: Any) -> str:
        """``ovs-ofctl dump-flows`` of a switch (by graph node)."""
        assert self.net is not None
        sw = self.net.net[self.net.switch_name[node]]
        return str(sw.cmd(f"ovs-ofctl -O OpenFlow13 dump-flows {sw.name}"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _vsctl(args: str) -> str:
    proc = subprocess.run(
        f"ovs-vsctl {args}", shell=True, check=True, timeout=10, capture_output=True, text=True
    )
    return proc.stdout
