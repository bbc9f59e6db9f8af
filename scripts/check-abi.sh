#!/usr/bin/env bash
# Checks the built library's ABI:
#   - it depends on no Swift runtime library (libswift*, libFoundation*, libdispatch): the
#     runtime is linked in statically;
#   - `ldd -r` finds no undefined symbol;
#   - `nm -D --defined-only` lists only botsession_* symbols;
#   - every function the header declares is exported, and nothing else is.
set -euo pipefail
lib="$1"
header="$2"
fail=0

deps=$(ldd "$lib")
if echo "$deps" | grep -E 'libswift|libFoundation|libdispatch'; then
    echo "check-abi: $lib depends on the Swift runtime (above); link it with -static-stdlib" >&2
    fail=1
fi

undefined=$(ldd -r "$lib" 2>&1 | grep -i 'undefined symbol' || true)
if [ -n "$undefined" ]; then
    echo "$undefined" | head -20
    echo "check-abi: $lib has undefined symbols (above)" >&2
    fail=1
fi

exported=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sort)
stray=$(echo "$exported" | grep -v '^botsession_' || true)
if [ -n "$stray" ]; then
    echo "$stray" | head -20
    echo "check-abi: $lib exports symbols other than botsession_* (above); check the version script" >&2
    fail=1
fi

declared=$(grep -oE '\bbotsession_[a-z_]+\(' "$header" | tr -d '(' | sort -u)
if [ "$declared" != "$exported" ]; then
    diff <(echo "$declared") <(echo "$exported") | sed 's/^</declared, not exported:/; s/^>/exported, not declared:/' | grep ':' || true
    echo "check-abi: the header and the exports differ (above)" >&2
    fail=1
fi

if [ "$fail" = 0 ]; then
    echo "check-abi: OK: $(echo "$exported" | wc -l) botsession_* functions exported, no Swift runtime dependency, no undefined symbols"
fi
exit "$fail"
