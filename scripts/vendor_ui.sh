#!/usr/bin/env bash
# Refresh the web view's vendored libraries (vnstitch/northbound/ui/vendor/) from the npm
# registry: the pinned versions below, checked against their pinned integrity hashes, built
# files and licences only. No front-end build step: the controller serves these files as they
# are. To upgrade: change a version, run this script (it refuses, printing the registry's
# integrity of the new tarball), check and pin that hash, run it again, then run
# tests/integration/test_ui.py (and tests/unit/test_web_ui.py: Cytoscape's injected style).
set -euo pipefail
cd "$(dirname "$0")/.."
VENDOR=vnstitch/northbound/ui/vendor

# name version integrity (sha512 from the registry) files-to-keep (inside the package)
PACKAGES=(
  "cytoscape 3.35.0 sha512-sMvBIXiGMnhkCaWz2R06FwF/27MNlS+Tqvi17foO9UhnUg3XGZccKjxsvEqQFAQYMSSZmN5SxYzUYlQ0DOJJ3g== dist/cytoscape.min.js LICENSE"
  "uplot 1.6.32 sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw== dist/uPlot.iife.min.js dist/uPlot.min.css LICENSE"
)

command -v npm >/dev/null || { echo "vendor_ui: needs npm (apt-get install npm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

manifest="$work/VERSIONS"
echo "# Vendored by scripts/vendor_ui.sh from the npm registry; do not edit by hand." > "$manifest"
for entry in "${PACKAGES[@]}"; do
    read -r name version integrity files <<<"$entry"
    (cd "$work" && npm pack --silent "$name@$version" >/dev/null)
    tarball="$work/$name-$version.tgz"
    actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
    if [ "$actual" != "$integrity" ]; then
        echo "vendor_ui: $name@$version integrity $actual, pinned $integrity: refusing" >&2
        exit 1
    fi
    mkdir -p "$work/$name"
    tar -xzf "$tarball" -C "$work/$name"
    rm -rf "${VENDOR:?}/$name"
    mkdir -p "$VENDOR/$name"
    for file in $files; do
        cp "$work/$name/package/$file" "$VENDOR/$name/$(basename "$file")"
    done
    echo "$name $version $integrity" >> "$manifest"
    echo "vendor_ui: $name@$version -> $VENDOR/$name ($files)"
done
cp "$manifest" "$VENDOR/VERSIONS"
