#!/bin/bash
# The version is written once, in VERSION; the Makefile, botsession.pc and the Python package's
# metadata read it. What cannot read it is checked against it here: the header's macros (SwiftPM
# compiles the checked-in header, so it cannot be generated at build time), the library's own
# string, the Python binding's __version__ and the header version it expects, and any release
# tag on the checked-out commit (SwiftPM resolves `from: "X.Y.Z"` by tags).
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "check-version: $*" >&2; exit 1; }
version=$(cat VERSION)
[[ "$version" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || fail "VERSION holds '$version', not MAJOR.MINOR.PATCH"
number=$(( BASH_REMATCH[1] * 1000000 + BASH_REMATCH[2] * 1000 + BASH_REMATCH[3] ))
grep -qx "#define BOTSESSION_VERSION \"$version\"" include/botsession.h || fail "include/botsession.h: BOTSESSION_VERSION is not \"$version\""
grep -qx "#define BOTSESSION_VERSION_NUMBER $number" include/botsession.h || fail "include/botsession.h: BOTSESSION_VERSION_NUMBER is not $number"
grep -q "versionText: StaticString = \"$version\"" Sources/BotSessionC/LibraryAPI.swift || fail "Sources/BotSessionC/LibraryAPI.swift: versionText is not \"$version\""
grep -qx "let botSessionVersion = \"$version\"" Sources/BotSessionCLI/Version.swift || fail "Sources/BotSessionCLI/Version.swift: botSessionVersion is not \"$version\""
grep -qx "__version__ = \"$version\"" bindings/python/src/botsession/__init__.py || fail "bindings/python/src/botsession/__init__.py: __version__ is not \"$version\""
grep -qx "EXPECTED_VERSION_NUMBER = $number" bindings/python/src/botsession/_native.py || fail "bindings/python/src/botsession/_native.py: EXPECTED_VERSION_NUMBER is not $number"
if git rev-parse --git-dir >/dev/null 2>&1; then
    for tag in $(git tag --points-at HEAD); do
        case "$tag" in
            [0-9]*.[0-9]*.[0-9]*|v[0-9]*.[0-9]*.[0-9]*) [ "${tag#v}" = "$version" ] || fail "HEAD is tagged $tag but VERSION says $version";;
        esac
    done
fi
echo "check-version: $version ($number) in VERSION, the header, the library, the Python binding and any release tag of HEAD"
