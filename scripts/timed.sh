#!/usr/bin/env bash
# Runs one stage of `make test` and prints how long it took ("== stage NAME took N s"), so that
# a stage growing towards the time budget shows in every log.
#
#   scripts/timed.sh NAME COMMAND [ARGS...]
set -uo pipefail
name="$1"; shift
start=$(date +%s)
"$@"
rc=$?
if [ $rc -ne 0 ]; then
    echo "== stage $name FAILED after $(( $(date +%s) - start )) s" >&2
    exit $rc
fi
echo "== stage $name took $(( $(date +%s) - start )) s"
