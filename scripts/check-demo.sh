#!/usr/bin/env bash
# Keeps `make demo` true: the pizza bot replays examples/updates.jsonl twice on one fresh SQLite
# file. The stream migrates group -4003 to supergroup -1004003000123: the first run must move
# the group's session (follow_chat_migrations), the second must find the supergroup's session
# and add the group's counts to it, and both runs must end with one session per chat, the
# supergroup's count doubled by the second run.
set -euo pipefail
bot="$1"
work=$(mktemp -d /tmp/botsession-demo-XXXXXX)
trap 'rm -rf "$work"' EXIT
"$bot" "sqlite:$work/sessions.db" examples/updates.jsonl > "$work/first.txt"
"$bot" "sqlite:$work/sessions.db" examples/updates.jsonl > "$work/second.txt"
fail() { echo "check-demo: $*" >&2; exit 1; }
grep -q "group -4003 became supergroup -1004003000123: its session moved along" "$work/first.txt" ||
    fail "the first run did not move the group's session"
grep -q "group -4003 became supergroup -1004003000123, which had a session already: the counts were added to it" "$work/second.txt" ||
    fail "the second run did not add the group's counts to the supergroup's session"
for run in first second; do
    # The listing after "Sessions now in the store:": one line per session, "  KEY  JSON".
    sed -n '/^Sessions now in the store:/,/^$/p' "$work/$run.txt" | sed -n 's/^  \([^ ]*\) .*/\1/p' > "$work/$run.keys"
    ! grep -qx -- "-4003" "$work/$run.keys" || fail "the $run run ended with a session of the old group -4003"
    grep -qx -- "-1004003000123" "$work/$run.keys" || fail "the $run run ended without the supergroup's session"
done
cmp -s "$work/first.keys" "$work/second.keys" || fail "the two runs ended with different sessions"
count() { sed -n 's/^  -1004003000123 *{"pizzaCount":\([0-9]*\).*/\1/p' "$work/$1.txt"; }
once=$(count first); twice=$(count second)
[ -n "$once" ] && [ "$once" -gt 0 ] && [ "$twice" = $((once * 2)) ] ||
    fail "the supergroup counted '$once' pizzas, then '$twice' (expected twice as many)"
echo "check-demo: the demo moves the group's session, merges it on the second run, and ends with one session per chat ($(wc -l < "$work/first.keys") sessions; supergroup count $once, then $twice)"
