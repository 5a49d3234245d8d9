"""Run ryu-manager as a child process on loopback ports, for tests, scenarios and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from testbed.wait import wait_until

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = Path(tempfile.gettempdir()) / f"vnstitch-logs-{os.getuid()}"


def free_tcp_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def is_listening(port: int, pid: int | None = None) -> bool:
    """True if a socket listens on TCP port in our (or pid's) network namespace; no connecting."""
    wanted = f":{port:04X}"
    return any(row[1].endswith(wanted) and row[3] == "0A" for row in _tcp_table(pid))


def _tcp_table(pid: int | None) -> list[list[str]]:
    proc_dir = f"/proc/{pid}" if pid is not None else "/proc"
    rows = []
    for table in ("net/tcp", "net/tcp6"):
        try:
            rows += [line.split() for line in Path(proc_dir, table).read_text().splitlines()[1:]]
        except OSError:
            continue
    return rows


def established_to(port: int) -> int:
    """Number of ESTABLISHED TCP connections in our namespace whose remote end is port."""
    wanted = f":{port:04X}"
    return sum(1 for row in _tcp_table(None) if row[2].endswith(wanted) and row[3] == "01")


def ryu_manager_path() -> Path:
    """The ryu-manager script next to the running interpreter (the project's virtualenv)."""
    return Path(sys.executable).parent / "ryu-manager"


class ControllerProcess:
    """A ryu-manager child process bound to loopback; stop() or the context manager ends it."""

    def __init__(
        self,
        apps: list[str],
        of_port: int | None = None,
        rest_port: int | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        extra_args: Sequence[str] = (),
        startup_timeout_s: float = 20.0,
    ) -> None:
        self.apps = list(apps)
        self.of_port = of_port if of_port is not None else free_tcp_port()
        self.rest_port = rest_port if rest_port is not None else free_tcp_port()
        while self.rest_port == self.of_port:
            self.rest_port = free_tcp_port()
        self.env = dict(env or {})
        self.log_path = log_path or LOG_DIR / f"ryu-{os.getpid()}-{self.of_port}.log"
        self.extra_args = list(extra_args)
        self.startup_timeout_s = startup_timeout_s
        self.has_rest = False
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """PID of the running ryu-manager, or None before start()."""
        return self._proc.pid if self._proc else None

    @property
    def rest_url(self) -> str:
        """Base URL of the REST API (served only if an app uses Ryu's WSGI context)."""
        return f"http://{LOOPBACK}:{self.rest_port}"

    def command(self) -> list[str]:
        """The ryu-manager command line this controller runs."""
        return [
            str(ryu_manager_path()),
            "--ofp-listen-host",
            LOOPBACK,
            "--ofp-tcp-listen-port",
            str(self.of_port),
            "--wsapi-host",
            LOOPBACK,
            "--wsapi-port",
            str(self.rest_port),
            *self.extra_args,
            *self.apps,
        ]

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        env.update(self.env)
        return env

    def is_running(self) -> bool:
        """True while the child process has not exited."""
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the controller's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def start(self) -> ControllerProcess:
        """Start ryu-manager and return once its OpenFlow port listens (RuntimeError if it dies)."""
        if self.is_running():
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log_file:
            self._proc = subprocess.Popen(
                self.command(),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=REPO_ROOT,
                env=self._environment(),
                start_new_session=True,
            )

        def ready() -> bool:
            if not self.is_running():
                raise RuntimeError(
                    f"ryu-manager exited with {self._proc and self._proc.returncode} during "
                    f"startup; log {self.log_path}:\n{self.log_tail()}"
                )
            return is_listening(self.of_port)

        try:
            wait_until(ready, self.startup_timeout_s, what=f"ryu-manager on port {self.of_port}")
        except TimeoutError:
            self.stop()
            raise
        # ryu-manager binds the WSGI socket before its OpenFlow server thread runs, so by now
        # the REST port listens if (and only if) some app asked for the wsgi context.
        self.has_rest = is_listening(self.rest_port)
        return self

    def pause(self) -> None:
        """SIGSTOP the controller: it reads and answers nothing (the switches forward by their
        tables alone) until :meth:`resume`."""
        if self.is_running():
            assert self._proc is not None
            self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT a paused controller: it handles what queued up meanwhile."""
        if self.is_running():
            assert self._proc is not None
            self._proc.send_signal(signal.SIGCONT)

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """SIGTERM the controller, SIGKILL it after timeout_s; return its exit code."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # a paused one could not act on SIGTERM
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout_s)
        return proc.returncode

    def __enter__(self) -> ControllerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
