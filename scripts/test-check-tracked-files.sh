#!/usr/bin/env bash
# Proves that check-tracked-files.sh can fail: in a scratch git repository, a tracked ELF file
# and a tracked SQLite database must make it fail and be named, the same bytes under the fuzz
# corpus must not, and a clean repository (and a plain directory) must pass.
set -euo pipefail

check="$(cd "$(dirname "$0")" && pwd)/check-tracked-files.sh"
tmp=$(mktemp -d /tmp/botsession-hygiene-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-check-tracked-files: $*" >&2; exit 1; }

git init -q "$tmp/repo"
cd "$tmp/repo"
mkdir -p bin Tests/fuzz/corpus/store
printf 'plain text\n' > README
printf '\177ELF\2\1\1\0' > bin/tool
printf 'SQLite format 3\0rest' > "my sessions.db"
printf '\177ELFseed' > Tests/fuzz/corpus/store/seed
git add -f . >/dev/null

if "$check" . >"$tmp/out" 2>&1; then fail "passed with an ELF file and a database tracked"; fi
grep -q 'bin/tool (ELF binary)' "$tmp/out" || fail "did not name bin/tool: $(cat "$tmp/out")"
grep -q 'my sessions.db (SQLite database)' "$tmp/out" || fail "did not name the database: $(cat "$tmp/out")"
! grep -q corpus "$tmp/out" || fail "flagged the fuzz corpus: $(cat "$tmp/out")"

git rm -q --cached bin/tool "my sessions.db"
"$check" . >"$tmp/out" 2>&1 || fail "failed on a clean repository: $(cat "$tmp/out")"
mkdir "$tmp/plain"
"$check" "$tmp/plain" 2>&1 | grep -q skipped || fail "did not skip outside a git checkout"
echo "test-check-tracked-files: the check fails on tracked binaries and databases, passes otherwise"
