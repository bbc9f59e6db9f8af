#!/usr/bin/env bash
# Instructions per round-trip of each bench/roundtrip.c contender, counted by callgrind (stable
# on shared machines, where wall clock is not): each contender runs alone, its stores filled
# first, and only its loop (the function run_<contender>) is counted. Prints the figures and
# the ratios of issue 12's targets.
#
#     scripts/bench-instructions.sh BUILD/roundtrip [ROUND_TRIPS]   (default 20000)
set -euo pipefail
bin="$1"
n="${2:-20000}"
declare -A per
for contender in sqlite sqlite-best sqlite-jansson memory memory-hand; do
    function="run_${contender//-/_}"
    out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect="$function" "$bin" "$n" "$contender" 2>&1)
    collected=$(printf '%s\n' "$out" | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    [ -n "$collected" ] || { printf '%s\n' "$out" >&2; echo "bench-instructions: no count for $contender" >&2; exit 1; }
    per[$contender]=$(( collected / n ))
    printf '  %-15s %8d instructions per round-trip\n' "$contender" "${per[$contender]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "sqlite: BotSession / best by hand      $(ratio "${per[sqlite]}" "${per[sqlite-best]}")x instructions (target <= 1.15x)"
echo "sqlite: BotSession / Jansson by hand   $(ratio "${per[sqlite]}" "${per[sqlite-jansson]}")x instructions"
echo "memory: BotSession / hash map by hand  $(ratio "${per[memory]}" "${per[memory-hand]}")x instructions"
echo "(valgrind --tool=callgrind --toggle-collect=run_<contender> $bin $n <contender>)"
