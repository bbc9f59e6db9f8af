#!/bin/bash
# The wheel of `make wheel`, as a Python user gets it: a fresh venv with nothing but the wheel,
# run with no BOTSESSION_LIBRARY, LD_LIBRARY_PATH or PKG_CONFIG_PATH (and, in CI, no library
# installed on the system). The README's Python quick start runs (twice: its count persists),
# the library is the package's own copy, and libsqlite3 and libpq come from the wheel's
# botsession.libs/, not from the system.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
fail() { echo "check-wheel: $*" >&2; exit 1; }
wheel=$(ls dist/botsession-*-py3-none-manylinux_*_x86_64.whl 2>/dev/null | head -1)
[ -n "$wheel" ] || fail "no manylinux wheel in dist/: run make wheel"
work=$(mktemp -d /tmp/botsession-wheel-XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --no-index "$wheel"
awk '/^## Python quick start/{s=1} s&&/^```python$/{c=1;next} c&&/^```$/{exit} c{print}' README.md > "$work/quickstart.py"
cat > "$work/where.py" <<'PY'
import os, sys
import botsession
from botsession import Store
package = os.path.dirname(botsession.__file__)
assert botsession.library_path == os.path.join(package, "_lib", "libbotsession.so.0"), botsession.library_path
Store.open("sqlite::memory:").close()
maps = open("/proc/self/maps").read()
for name in ("libsqlite3", "libpq"):
    paths = {line.split()[-1] for line in maps.splitlines() if f"/{name}" in line}
    assert paths and all(p.startswith(os.path.dirname(package) + "/botsession.libs/") for p in paths), (name, paths)
print(botsession.__version__, botsession.library_version, botsession.library_path)
PY
clean_env=(env -i "PATH=/usr/bin:/bin" "HOME=$work" "LANG=C.UTF-8")
where=$(cd "$work" && "${clean_env[@]}" "$work/venv/bin/python" where.py) || fail "the installed wheel did not load its own library"
first=$(cd "$work" && "${clean_env[@]}" "$work/venv/bin/python" quickstart.py)
second=$(cd "$work" && "${clean_env[@]}" "$work/venv/bin/python" quickstart.py)
[ -n "$first" ] && [ "$first" != "$second" ] || fail "the quick start printed '$first' then '$second'"
grep -qx "License-Expression: MIT" "$work"/venv/lib/python3*/site-packages/botsession-*.dist-info/METADATA || fail "the wheel's metadata has no MIT license"
# BOTSESSION_LIBRARY still says otherwise.
override=$(cd "$work" && "${clean_env[@]}" "BOTSESSION_LIBRARY=$root/build/stage/lib/libbotsession.so.0" \
    "$work/venv/bin/python" -c "import botsession; print(botsession.library_path)")
[ "$override" = "$root/build/stage/lib/libbotsession.so.0" ] || fail "BOTSESSION_LIBRARY did not take precedence: $override"
echo "check-wheel: $(basename "$wheel") in a fresh venv, clean environment: $where; quick start ran ('$first', then '$second')"
