#!/usr/bin/env bash
# libFuzzer over the C API (make fuzz):
#
#   scripts/fuzz.sh [TARGET...]      default: every Tests/fuzz/fuzz_*.c; FUZZ_SECONDS per target (60)
#
# The library is built with -sanitize=fuzzer,address (.build-fuzz), so libFuzzer sees the
# engine's coverage and ASan its memory errors; each harness is built with the toolchain's clang
# and -fsanitize=fuzzer,address, which brings libFuzzer's main and the runtimes. A target starts
# from its seed corpus, Tests/fuzz/corpus/<target>/ (read-only here); what it learns goes to
# build/fuzz/corpus/<target>/. A crash, a leak or a failed invariant stops the run and leaves the
# input in build/fuzz/crashes/: add it to Tests/fuzz/corpus/<target>/ so every later run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT="${SWIFT:-swift}"
CLANG="${CLANG:-$(dirname "$(command -v "$SWIFT")")/clang}"
seconds="${FUZZ_SECONDS:-60}"
out=build/fuzz
mkdir -p "$out/lib" "$out/crashes"

echo "== fuzz: libbotsession.so with -sanitize=fuzzer,address (swift build --scratch-path .build-fuzz)"
"$SWIFT" build -c debug --sanitize=address -Xswiftc -sanitize=fuzzer --scratch-path .build-fuzz --product botsession
cp .build-fuzz/debug/libbotsession.so "$out/lib/libbotsession.so.0"
ln -sf libbotsession.so.0 "$out/lib/libbotsession.so"
# Without coverage hooks in the library the fuzzer would only explore the harness.
nm -D --undefined-only "$out/lib/libbotsession.so.0" | grep -c __sanitizer_cov_trace_cmp >/dev/null ||
    { echo "fuzz: the library has no coverage instrumentation" >&2; exit 1; }

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(ls Tests/fuzz/fuzz_*.c | xargs -n1 basename | sed 's/\.c$//'))
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1"
export LD_LIBRARY_PATH="$PWD/$out/lib"
for t in "${targets[@]}"; do
    "$CLANG" -fuse-ld=lld -fsanitize=fuzzer,address -g -O1 -std=c11 -Wall -Wextra -Werror -Iinclude \
        "Tests/fuzz/$t.c" -o "$out/$t" -L"$out/lib" -lbotsession
    mkdir -p "$out/corpus/$t" "Tests/fuzz/corpus/$t"
    tmp=$(mktemp -d /tmp/botsession-fuzz-XXXXXX)
    echo "== fuzz: $t for $seconds s (seeds: Tests/fuzz/corpus/$t, $(ls "Tests/fuzz/corpus/$t" | wc -l) files)"
    # -timeout: an input that hangs for 10 s is a failure too. The log's last lines say what happened.
    # FUZZ_SEED (make test sets it) fixes libFuzzer's random choices, so the short run in
    # make test explores the same inputs on every machine instead of failing at random.
    if ! FUZZ_TMPDIR="$tmp" "$out/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 ${FUZZ_SEED:+-seed="$FUZZ_SEED"} \
            -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" \
            "$out/corpus/$t" "Tests/fuzz/corpus/$t" >"$out/$t.log" 2>&1; then
        rm -rf "$tmp"
        tail -n 60 "$out/$t.log" >&2
        echo "fuzz: $t FAILED; the input is in $out/crashes/ (full log: $out/$t.log)." >&2
        echo "      Reproduce: LD_LIBRARY_PATH=$out/lib $out/$t $out/crashes/<file>; then add it to Tests/fuzz/corpus/$t/" >&2
        exit 1
    fi
    rm -rf "$tmp"
    grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$out/$t.log" | tail -n 2 | sed "s/^/  $t: /"
done
echo "== fuzz: ${targets[*]}: no crash, leak or broken invariant"
