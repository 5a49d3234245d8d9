#!/usr/bin/env bash
# Idempotent set-up of everything vnstitch needs on a fresh Debian 12 machine:
# Debian packages (Open vSwitch, Mininet, traffic tools), the virtualenv .venv that sees
# Debian's Mininet, pinned Python packages, and the eventlet start-up shim for Ryu 4.34.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
STAMP="$VENV/.vnstitch-setup-done"
# chromium, chromium-driver: the web view's browser test (selenium); nodejs: its view-model tests
APT_PACKAGES="openvswitch-switch mininet iperf3 iperf iputils-ping ethtool iproute2 procps python3-venv python3-dev sqlite3 chromium chromium-driver nodejs"

need_apt=0
for pkg in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt=1
done
if [ "$need_apt" = 1 ]; then
    echo "setup: installing Debian packages: $APT_PACKAGES"
    if [ "$(id -u)" != 0 ]; then echo "setup: must run as root to install Debian packages" >&2; exit 1; fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $APT_PACKAGES >/dev/null
fi

# The stamp records the inputs the venv was built from; rebuild the Python side when they change.
inputs_hash=$(cat requirements/*.txt setup.cfg pyproject.toml vnstitch/compat/*.py | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$inputs_hash" ]; then
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV (Debian python3, with system site packages for Mininet)"
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
PIP="$VENV/bin/pip --disable-pip-version-check -q"
export PIP_CONSTRAINT="$ROOT/requirements/constraints.txt"
echo "setup: installing pinned Python packages"
$PIP install setuptools wheel
# Ryu 4.34's setup.py needs the pinned setuptools, so build it without isolation.
$PIP install --no-build-isolation -r requirements/runtime.txt -r requirements/dev.txt
$PIP install --no-build-isolation --no-deps -e .

# Ryu 4.34 imports eventlet.wsgi.ALREADY_HANDLED, which eventlet 0.33 no longer has.
# ryu-manager imports ryu.app.wsgi before any app, so the fix must run at interpreter start-up:
# a .pth file in the venv imports our shim, which registers an import hook (vnstitch/compat).
purelib=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "import vnstitch.compat.eventlet_wsgi as _v; _v.install()" > "$purelib/vnstitch_compat.pth"
"$VENV/bin/python" -c 'import ryu.app.wsgi' || { echo "setup: Ryu WSGI still fails to import" >&2; exit 1; }

echo "$inputs_hash" > "$STAMP"
echo "setup: done ($VENV)"
