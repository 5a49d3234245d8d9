"""The wheel built from the repository holds exactly the four packages and runs when installed.

Architecture requirement: ``pip wheel --no-deps .`` yields a wheel whose import names are
exactly ``ryu_apps``, ``predictor``, ``topology`` and ``vnstitch`` (no ``testbed``, ``bench``,
``mininet_scenarios`` or ``tests``), and ``vnstitch --help`` and the Ryu app work from a plain,
not editable, install.

Everything happens offline and outside the repository: the source tree is copied to a
temporary directory (setuptools writes ``build/`` and ``*.egg-info`` next to the sources), the
wheel is built there with the project's virtualenv, and installed with ``--no-deps`` into a
fresh virtualenv. That virtualenv finds the pinned dependencies through a ``.pth`` line naming
the project virtualenv's site-packages: a path line only extends ``sys.path``, the ``.pth``
files inside that directory (among them the editable finder of the repository) are not run, so
only the installed wheel provides the project's packages. Commands run with the temporary
directory as working directory, never the repository.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from testbed.controller import LOOPBACK, free_tcp_port
from testbed.wait import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(120)]

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"ryu_apps", "predictor", "topology", "vnstitch"}
NOT_SHIPPED = ("testbed", "bench", "mininet_scenarios", "tests")
BASE_PYTHON = "/usr/bin/python3"  # what scripts/setup.sh builds .venv from
# The start-up shim line scripts/setup.sh writes into .venv (Ryu 4.34 on eventlet 0.33).
SHIM_LINE = "import vnstitch.compat.eventlet_wsgi as _v; _v.install()"
TOKEN = "wheel-test-token"
# Build outputs and local state that are not sources: never copied for the build.
_NOT_SOURCES = {"build", "dist", "out", "var", "__pycache__"}


def _copy_ignore(directory: str, names: list[str]) -> set[str]:
    top = Path(directory).resolve() == REPO_ROOT
    return {
        n
        for n in names
        if n in _NOT_SOURCES or n.endswith((".egg-info", ".pyc")) or (top and n.startswith("."))
    }


def _run(
    cmd: list[str | Path], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited with {proc.returncode}\n"
        f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    )
    return proc


def _pip(command: str, *args: str | Path, target: Path | None = None) -> list[str | Path]:
    """pip of the project's virtualenv (the interpreter running the tests), offline.

    ``target``: the interpreter whose environment pip acts on. pip reads ``--python`` only
    before the subcommand (after it, the option is silently ignored and pip would act on
    .venv itself), so it is placed there here and nowhere else.
    """
    general: list[str | Path] = ["--disable-pip-version-check", "--no-input"]
    if target is not None:
        general += ["--python", target]
    return [sys.executable, "-m", "pip", *general, command, "--no-index", *args]


@dataclass(frozen=True)
class PlainInstall:
    """A fresh virtualenv with the wheel installed (not editable)."""

    root: Path
    site_packages: Path
    workdir: Path  # empty working directory for every command (not the repository)
    env: dict[str, str]

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.root / "bin" / name


@dataclass(frozen=True)
class BuiltWheel:
    """The wheel and the copy of the source tree it was built from (a consistent snapshot)."""

    path: Path
    source: Path


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> BuiltWheel:
    """``pip wheel --no-deps`` of a copy of the repository."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("run the tests with the project's virtualenv (.venv/bin/python)")
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(REPO_ROOT, src, ignore=_copy_ignore, symlinks=True)
    out = tmp / "dist"
    _run(
        _pip("wheel", "-q", "--no-deps", "--no-build-isolation", "--no-cache-dir", "-w", out, src),
        cwd=tmp,
    )
    wheels = sorted(out.glob("vnstitch-*.whl"))
    assert len(wheels) == 1, f"expected one vnstitch wheel in {out}, found {wheels}"
    return BuiltWheel(wheels[0], src)


@pytest.fixture(scope="module")
def plain_install(wheel: BuiltWheel, tmp_path_factory: pytest.TempPathFactory) -> PlainInstall:
    """A new virtualenv with the wheel installed plainly; dependencies come from .venv."""
    if not Path(BASE_PYTHON).exists():
        pytest.skip(f"{BASE_PYTHON} is missing")
    tmp = tmp_path_factory.mktemp("plain")
    root = tmp / "venv"
    workdir = tmp / "run"
    workdir.mkdir()
    # System site packages like .venv has them (Debian's dist-packages after ours).
    _run([BASE_PYTHON, "-m", "venv", "--without-pip", "--system-site-packages", root], cwd=tmp)
    python = root / "bin" / "python"
    version = _run(
        [python, "-c", "import sys; print(sys.version_info[:2])"], cwd=workdir
    ).stdout.strip()
    if version != str(sys.version_info[:2]):
        pytest.skip(f"{BASE_PYTHON} is Python {version}, the tests run on {sys.version_info[:2]}")
    # Install before the .pth exists, so pip sees only the new environment.
    _run(_pip("install", "-q", "--no-deps", "--no-cache-dir", wheel.path, target=python), cwd=tmp)
    site = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=workdir,
        ).stdout.strip()
    )
    assert site.is_relative_to(root) and (site / "vnstitch" / "__init__.py").is_file(), (
        f"the wheel was not installed into {root}"
    )
    deps = sysconfig.get_paths()["purelib"]  # .venv's site-packages: the pinned packages
    # One path line (appended to sys.path; the .pth files there are not processed), then the
    # shim, which now imports vnstitch from the installed wheel.
    (site / "vnstitch_deps.pth").write_text(f"{deps}\n{SHIM_LINE}\n")
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("VNSTITCH_")}
    env["PATH"] = os.pathsep.join([str(root / "bin"), os.defpath])
    return PlainInstall(root, site, workdir, env)


def _import_name(member: str) -> str:
    """The import name a wheel member provides: its top directory, or a top module's stem."""
    top, _, rest = member.partition("/")
    return top if rest else top.split(".", 1)[0]


def test_wheel_contains_exactly_the_four_packages(wheel: BuiltWheel) -> None:
    with zipfile.ZipFile(wheel.path) as zf:
        names = zf.namelist()
        dist_info = {n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")}
        assert len(dist_info) == 1, dist_info
        meta = dist_info.pop()
        shipped = {n for n in names if not n.split("/", 1)[0].endswith((".dist-info", ".data"))}
        assert not [n for n in names if n.split("/", 1)[0].endswith(".data")], (
            "the wheel installs files outside site-packages"
        )
        assert {_import_name(n) for n in shipped} == PACKAGES
        top_level = set(zf.read(f"{meta}/top_level.txt").decode().split())
        assert top_level == PACKAGES
        openapi = "vnstitch/northbound/openapi.json"
        assert openapi in names
        assert json.loads(zf.read(openapi)).get("openapi"), "openapi.json is not an OpenAPI doc"
        entry_points = configparser.ConfigParser()
        entry_points.read_string(zf.read(f"{meta}/entry_points.txt").decode())
        assert entry_points.get("console_scripts", "vnstitch") == "vnstitch.northbound.cli:main"
    for name in NOT_SHIPPED:
        assert not [n for n in names if n.startswith(f"{name}/")], f"{name} is in the wheel"
    # Every module of the four packages is shipped.
    source = {
        p.relative_to(wheel.source).as_posix()
        for pkg in PACKAGES
        for p in (wheel.source / pkg).rglob("*.py")
        if "__pycache__" not in p.parts
    }
    missing = sorted(source - shipped)
    assert not missing, (
        "modules left out of the wheel (`packages = find:` skips a directory without "
        f"__init__.py): {missing}"
    )
    # The web view and the Grafana dashboard are package data: every file of them ships.
    northbound = wheel.source / "vnstitch" / "northbound"
    data = {
        p.relative_to(wheel.source).as_posix()
        for folder in ("ui", "grafana")
        for p in (northbound / folder).rglob("*")
        if p.is_file()
    }
    assert "vnstitch/northbound/ui/index.html" in data
    assert "vnstitch/northbound/ui/vendor/cytoscape/LICENSE" in data
    assert "vnstitch/northbound/grafana/vnstitch.json" in data
    missing_data = sorted(data - shipped)
    assert not missing_data, f"package data left out (setup.cfg package_data): {missing_data}"


PROBE = """
import importlib, importlib.metadata, json, sys
out = {"found": {}, "missing": {}, "meta_path": [type(f).__module__ for f in sys.meta_path]}
for name in ("vnstitch", "ryu_apps", "predictor", "topology", "ryu.app.wsgi"):
    out["found"][name] = importlib.import_module(name).__file__
for name in ("testbed", "bench", "mininet_scenarios"):
    try:
        out["missing"][name] = importlib.import_module(name).__file__
    except ImportError as exc:
        out["missing"][name] = None
out["dist"] = str(importlib.metadata.distribution("vnstitch").locate_file(""))
out["direct_url"] = importlib.metadata.distribution("vnstitch").read_text("direct_url.json")
out["sys_path"] = sys.path
print(json.dumps(out))
"""


def test_plain_install_provides_only_the_packages(plain_install: PlainInstall) -> None:
    proc = _run(
        [plain_install.python, "-c", PROBE], cwd=plain_install.workdir, env=plain_install.env
    )
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    site = plain_install.site_packages
    for name in PACKAGES:
        assert Path(probe["found"][name]).is_relative_to(site), (name, probe["found"][name])
    assert probe["missing"] == {"testbed": None, "bench": None, "mininet_scenarios": None}
    assert Path(probe["dist"]) == site
    assert not (probe["direct_url"] and "editable" in probe["direct_url"])
    assert not [m for m in probe["meta_path"] if "editable" in m], probe["meta_path"]
    assert str(REPO_ROOT) not in probe["sys_path"]


def test_cli_help_from_plain_install(plain_install: PlainInstall) -> None:
    script = plain_install.bin("vnstitch")
    assert script.exists(), "the wheel did not install the vnstitch console script"
    proc = _run([script, "--help"], cwd=plain_install.workdir, env=plain_install.env)
    assert proc.stdout.startswith("usage: vnstitch")
    for command in ("controller", "intent", "topology", "reservations", "forecasts"):
        assert command in proc.stdout, f"subcommand {command!r} missing from:\n{proc.stdout}"


def test_app_starts_from_plain_install(plain_install: PlainInstall) -> None:
    tmp = plain_install.workdir.parent
    config = tmp / "controller.toml"
    config.write_text(
        "[predictor]\nenabled = false\n\n"
        f'[api]\ntoken = "{TOKEN}"\nstate_db = "{tmp / "state.db"}"\n'
    )
    of_port = free_tcp_port()
    rest_port = free_tcp_port()
    while rest_port == of_port:
        rest_port = free_tcp_port()
    log_path = tmp / "ryu-manager.log"
    env = {**plain_install.env, "VNSTITCH_CONFIG": str(config)}
    # ryu-manager of the plain install: Ryu's own entry module, run by the new venv's python.
    command = [
        str(plain_install.python),
        "-m",
        "ryu.cmd.manager",
        "--ofp-listen-host",
        LOOPBACK,
        "--ofp-tcp-listen-port",
        str(of_port),
        "--wsapi-host",
        LOOPBACK,
        "--wsapi-port",
        str(rest_port),
        "ryu_apps.vnstitch",
    ]
    url = f"http://{LOOPBACK}:{rest_port}/v1/topology"

    def log_tail() -> str:
        try:
            return "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return "(no log)"

    def get(token: str | None) -> tuple[int, bytes]:
        req = urllib.request.Request(url)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            command,
            cwd=plain_install.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def answered() -> tuple[int, bytes] | None:
            if proc.poll() is not None:
                raise AssertionError(
                    f"ryu-manager exited with {proc.returncode} during start-up:\n{log_tail()}"
                )
            try:
                return get(TOKEN)
            except (urllib.error.URLError, OSError):
                return None  # not listening yet

        try:
            status, body = wait_until(answered, 30.0, interval_s=0.1, what=f"GET {url}")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; log:\n{log_tail()}") from exc
        assert status == 200, f"GET /v1/topology answered {status}: {body[:300]!r}\n{log_tail()}"
        topology = json.loads(body)
        assert {"switches", "links", "hosts"} <= set(topology), topology
        assert get(None)[0] == 401, "the config's token is not enforced"
        # The web view comes from the installed package data (its files need no token).
        base = f"http://{LOOPBACK}:{rest_port}/ui/"
        for name in ("", "app.mjs", "vendor/cytoscape/cytoscape.min.js"):
            with urllib.request.urlopen(base + name, timeout=2) as resp:
                assert resp.status == 200 and resp.read(), f"/ui/{name} from the plain install"
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
