#!/usr/bin/env bash
# Keeps the README's quick starts true: the C quick start is extracted, compiled against the
# staged install with pkg-config, and run twice (the count must persist); the Swift quick start
# must be the file examples/swift-quickstart/main.swift, which is built and run twice too.
set -euo pipefail
stage="$1"
swift="${SWIFT:-swift}"
root=$(pwd)
work=$(mktemp -d /tmp/botsession-readme-XXXXXX)
trap 'rm -rf "$work"' EXIT

# The first ```c block after "## C quick start".
awk '/^## C quick start/{s=1} s&&/^```c$/{c=1;next} c&&/^```$/{exit} c{print}' README.md > "$work/quickstart.c"
[ -s "$work/quickstart.c" ] || { echo "check-readme: no C quick start found in README.md" >&2; exit 1; }
cc -Wall -Wextra -Werror "$work/quickstart.c" -o "$work/quickstart" \
    $(PKG_CONFIG_PATH="$stage/lib/pkgconfig" pkg-config --cflags --libs botsession)
first=$(cd "$work" && LD_LIBRARY_PATH="$stage/lib" ./quickstart)
second=$(cd "$work" && LD_LIBRARY_PATH="$stage/lib" ./quickstart)
[ "$first" = 'session before: {"count": 0}' ] || { echo "check-readme: C quick start, first run printed: $first" >&2; exit 1; }
[ "$second" = 'session before: {"count": 1}' ] || { echo "check-readme: C quick start, second run printed: $second" >&2; exit 1; }
echo "check-readme: the C quick start compiles with pkg-config and its count persists"

# The section's program: its swift block that starts with `import BotSession` (another shows the
# package dependency).
awk '/^## Swift quick start/{s=1} s&&/^```swift$/{c=1;n=0;next} c&&/^```$/{if(p)exit; c=0;next} c{n++; if(n==1&&$0=="import BotSession")p=1; if(p)print}' README.md > "$work/readme.swift"
if ! diff -u examples/swift-quickstart/main.swift "$work/readme.swift"; then
    echo "check-readme: the README's Swift quick start differs from examples/swift-quickstart/main.swift" >&2
    exit 1
fi
"$swift" build --package-path "$root" --product SwiftQuickStart >/dev/null
bin="$("$swift" build --package-path "$root" --show-bin-path)/SwiftQuickStart"
first=$(cd "$work" && "$bin")
second=$(cd "$work" && "$bin")
[ "$first" = 'chat 42 has sent 1 updates' ] && [ "$second" = 'chat 42 has sent 2 updates' ] || {
    echo "check-readme: Swift quick start printed '$first' then '$second'" >&2; exit 1; }
echo "check-readme: the Swift quick start builds and its count persists"

# The Python quick start, run twice with the test venv's Python, and the adapter examples.
if [ -n "${PYTHON:-}" ]; then
    case "$PYTHON" in /*) python="$PYTHON" ;; *) python="$root/$PYTHON" ;; esac  # not resolved: a venv's python is a link
    export BOTSESSION_LIBRARY="$stage/lib/libbotsession.so.0"
    mkdir "$work/python"
    # As the README says: a fresh venv, `pip install bindings/python`, and the quick start.
    python3 -m venv "$work/fresh"
    "$work/fresh/bin/pip" install --quiet "$root/bindings/python"
    python="$work/fresh/bin/python"
    awk '/^## Python quick start/{s=1} s&&/^```python$/{c=1;next} c&&/^```$/{exit} c{print}' README.md > "$work/python/quickstart.py"
    first=$(cd "$work/python" && "$python" quickstart.py)
    second=$(cd "$work/python" && "$python" quickstart.py)
    [ "$first" = "session before: {'count': 0}" ] && [ "$second" = "session before: {'count': 1}" ] || {
        echo "check-readme: Python quick start printed '$first' then '$second'" >&2; exit 1; }
    echo "check-readme: in a fresh venv, pip install bindings/python, and the Python quick start runs; its count persists"
    case "$PYTHON" in /*) python="$PYTHON" ;; *) python="$root/$PYTHON" ;; esac
    for example in aiogram_bot ptb_bot; do
        counted() { "$python" "$root/examples/$example.py" "$work/$example.db" | sed -n 's/.*pizzas counted in the store: //p'; }
        once=$(counted); twice=$(counted)
        [ -n "$once" ] && [ "$once" -gt 0 ] && [ "$twice" = $((once * 2)) ] || {
            echo "check-readme: examples/$example.py counted '$once' then '$twice' pizzas" >&2; exit 1; }
        echo "check-readme: examples/$example.py replays the updates offline and its counts persist ($once, then $twice)"
    done
fi
