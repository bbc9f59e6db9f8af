#!/usr/bin/env bash
# Fails when a file tracked by git is a build output that slipped into a commit: an ELF binary
# (first bytes \x7fELF) or a SQLite database (first bytes "SQLite format 3\0"). The fuzz corpus
# may hold any bytes, so Tests/fuzz/corpus/ is allowed.
#
#   scripts/check-tracked-files.sh [REPO_DIR]     (default: the current directory)
#
# Outside a git checkout (a source tarball) there is nothing tracked to check: it skips.
set -euo pipefail

cd "${1:-.}"
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # A checkout that git refuses (no git, "dubious ownership") must not pass as "no checkout".
    if [ -e .git ]; then echo "check-tracked-files: git cannot read this checkout" >&2; exit 1; fi
    echo "check-tracked-files: not a git checkout, skipped"
    exit 0
fi

# The magic numbers, as the hex of their first bytes (od keeps NUL bytes, which bash strings can't).
elf=7f454c46
sqlite=53514c69746520666f726d6174203300
bad=()
while IFS= read -r -d '' f; do
    case "$f" in Tests/fuzz/corpus/*) continue ;; esac
    [ -f "$f" ] && [ ! -L "$f" ] || continue   # deleted in the worktree, or a symlink
    head=$(od -An -tx1 -N16 -- "$f" | tr -d ' \n')
    case "$head" in
        "$elf"*) bad+=("$f (ELF binary)") ;;
        "$sqlite"*) bad+=("$f (SQLite database)") ;;
    esac
done < <(git ls-files -z)

if [ ${#bad[@]} -gt 0 ]; then
    echo "check-tracked-files: build outputs are tracked by git; git rm --cached them:" >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
fi
echo "check-tracked-files: $(git ls-files | wc -l) tracked files, no ELF binary or SQLite database"
