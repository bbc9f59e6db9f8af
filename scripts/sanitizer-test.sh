#!/usr/bin/env bash
# Builds libbotsession.so with a Swift sanitizer and runs the C tests against it:
#
#   scripts/sanitizer-test.sh address|thread      (make test-asan, make test-tsan)
#
# The library is a debug build in its own scratch path (.build-asan, .build-tsan) so it never
# mixes with the release build. Its sanitizer calls are left undefined in the .so (the Swift
# runtime inside it is not instrumented); the test programs supply the runtime: they are built
# with the toolchain's clang and -fsanitize=..., the same sources and libraries as `make c-test`
# (clang instead of gcc, and without -Werror: gcc's -Werror build in c-test already guards the
# warnings, and clang warns differently). The PostgreSQL test needs scripts/with-postgres.sh,
# as in `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

san="$1"
case "$san" in
    address) short=asan ;;
    thread) short=tsan ;;
    *) echo "usage: $0 address|thread" >&2; exit 2 ;;
esac
SWIFT="${SWIFT:-swift}"
CLANG="${CLANG:-$(dirname "$(command -v "$SWIFT")")/clang}"   # the toolchain's own clang
out="build/$short"
mkdir -p "$out/lib" "$out/tests"

echo "== $short: libbotsession.so with -sanitize=$san (swift build --scratch-path .build-$short)"
"$SWIFT" build -c debug --sanitize="$san" --scratch-path ".build-$short" --product botsession
cp ".build-$short/debug/libbotsession.so" "$out/lib/libbotsession.so.0"
ln -sf libbotsession.so.0 "$out/lib/libbotsession.so"
# A library without the sanitizer's hooks would pass everything and prove nothing.
nm -D --undefined-only "$out/lib/libbotsession.so.0" | grep -c "__${short}_init" >/dev/null ||
    { echo "$short: the library is not instrumented (__${short}_init missing)" >&2; exit 1; }

flags=(-fuse-ld=lld -fsanitize="$san" -g -O1 -std=c11 -Wall -Wextra -Iinclude $(pkg-config --cflags sqlite3 libpq jansson))
libs=(-L"$out/lib" -lbotsession $(pkg-config --libs sqlite3 libpq jansson) -lpthread -ldl)
# The toolchain's TSan runtime carries libdispatch interceptors: link the toolchain's static
# libdispatch and BlocksRuntime, which they call.
[ "$short" = tsan ] && libs+=(-L"$(dirname "$(command -v "$SWIFT")")/../lib/swift_static/linux" -ldispatch -lBlocksRuntime)

# Any report fails the run: ASan aborts, LeakSanitizer and TSan exit non-zero.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
# die_after_fork=0: test_processes.c and counting's `processes` mode fork children that use the
# library (each opens its own handles, as the header asks). TSan's default kills a forked child of
# a multithreaded parent at its first pthread call; its reports stay on.
export TSAN_OPTIONS="die_after_fork=0:halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/Tests/sanitizers/tsan.supp"
export LD_LIBRARY_PATH="$PWD/$out/lib"

for src in Tests/C/test_*.c Tests/C/counting.c Tests/sanitizers/must_fail.c; do
    t="$out/tests/$(basename "$src" .c)"
    "$CLANG" "${flags[@]}" "$src" -o "$t" "${libs[@]}" 2>"$t.log" || { cat "$t.log" >&2; exit 1; }
done
if "$out/tests/must_fail" "$san" 2>"$out/tests/must_fail.log" ||
    ! grep -c "ERROR: AddressSanitizer\|WARNING: ThreadSanitizer" "$out/tests/must_fail.log" >/dev/null; then
    echo "$short: a deliberate bug (Tests/sanitizers/must_fail.c) was not reported; see $out/tests/must_fail.log" >&2
    exit 1
fi

tmp=$(mktemp -d /tmp/botsession-$short-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for src in Tests/C/test_*.c; do
    t="$out/tests/$(basename "$src" .c)"
    echo "-- $t"
    "$t" || { echo "FAILED under $short: $t" >&2; exit 1; }
done
# counting: the threads of one engine and several processes on one store (small: the point is
# the sanitizer, not the count).
c="$out/tests/counting"
"$c" threads memory: 8 500
"$c" threads "sqlite:$tmp/threads.db" 4 200
"$c" threads "file:$tmp/threads-files" 4 200
"$c" processes "sqlite:$tmp/processes.db" 3 100
"$c" processes "file:$tmp/processes-files" 3 100
if [ -n "${BOTSESSION_TEST_POSTGRES_URI:-}" ]; then "$c" threads "$BOTSESSION_TEST_POSTGRES_URI" 4 200; fi
echo "== $short: every C test passed under -fsanitize=$san"
