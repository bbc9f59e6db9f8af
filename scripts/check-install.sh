#!/bin/bash
# make install / make uninstall as packagers and users run them (make install-check):
#  1. a private prefix with its own LIBDIR and INCLUDEDIR: pkg-config gives those directories and
#     the private requirements; a program built against it runs with an rpath or with
#     LD_LIBRARY_PATH, and without either fails to find the library (what the README explains);
#  2. DESTDIR staging: the files land under DESTDIR, and the .pc names the final prefix;
#  3. make uninstall removes exactly what was installed (a file that was there before stays);
#     the botsession command runs from BINDIR with no RUNPATH and no Swift library (the runtime is
#     inside), so it runs on a machine without a Swift toolchain;
#  4. with CI=true as root: an install into /usr/local runs ldconfig, so a program without rpath
#     runs, and uninstall takes it away again.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/botsession-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-install: $*" >&2; exit 1; }
cat > "$tmp/version.c" <<'C'
#include <botsession.h>
#include <stdio.h>
int main(void) { printf("%s\n", botsession_version()); return 0; }
C
version=$(cat VERSION)

# 1. A private prefix.
p="$tmp/prefix"
make --no-print-directory install PREFIX="$p" LIBDIR="$p/lib64" INCLUDEDIR="$p/inc" >/dev/null
export PKG_CONFIG_PATH="$p/lib64/pkgconfig"
[ "$(pkg-config --modversion botsession)" = "$version" ] || fail "pkg-config --modversion is not $version"
[ "$(pkg-config --variable=libdir botsession)" = "$p/lib64" ] || fail "libdir is $(pkg-config --variable=libdir botsession)"
case "$(pkg-config --cflags botsession)" in "-I$p/inc"*) ;; *) fail "cflags: $(pkg-config --cflags botsession)";; esac
requires=$(pkg-config --print-requires-private botsession | tr '\n' ' ')
[ "$requires" = "sqlite3 libpq " ] || fail "Requires.private is '$requires', not 'sqlite3 libpq'"
cc "$tmp/version.c" -o "$tmp/with-rpath" $(pkg-config --cflags --libs botsession) -Wl,-rpath,"$p/lib64"
cc "$tmp/version.c" -o "$tmp/plain" $(pkg-config --cflags --libs botsession)
[ "$(env -u LD_LIBRARY_PATH "$tmp/with-rpath")" = "$version" ] || fail "the program built with an rpath did not run"
[ "$(LD_LIBRARY_PATH="$p/lib64" "$tmp/plain")" = "$version" ] || fail "the program did not run with LD_LIBRARY_PATH"
if env -u LD_LIBRARY_PATH "$tmp/plain" >/dev/null 2>"$tmp/err"; then
    [ -e /usr/local/lib/libbotsession.so.0 ] || [ -e /usr/lib/libbotsession.so.0 ] ||
        fail "a program without rpath found a library of a private prefix"
else
    grep -q "libbotsession.so.0: cannot open shared object file" "$tmp/err" || fail "unexpected error: $(cat "$tmp/err")"
fi
cli="$p/bin/botsession"
[ "$(env -i PATH=/usr/bin:/bin "$cli" --version)" = "$version" ] || fail "$cli --version did not print $version"
readelf -d "$cli" | grep -qE "RPATH|RUNPATH" && fail "$cli has a RUNPATH: $(readelf -d "$cli" | grep -E 'RPATH|RUNPATH')"
readelf -d "$cli" | grep NEEDED | grep -qi swift && fail "$cli needs a Swift library: $(readelf -d "$cli" | grep NEEDED | grep -i swift)"
echo "sentinel" > "$p/lib64/someone-else.so"
make --no-print-directory uninstall PREFIX="$p" LIBDIR="$p/lib64" INCLUDEDIR="$p/inc" >/dev/null
left=$(cd "$p" && find . \( -type f -o -type l \) | sort | tr '\n' ' ')
[ "$left" = "./lib64/someone-else.so " ] || fail "after uninstall the prefix holds: $left"
echo "check-install: private prefix ($p, LIBDIR lib64, INCLUDEDIR inc): pkg-config, rpath, LD_LIBRARY_PATH, the botsession command (no RUNPATH, no Swift library) and uninstall as documented"

# 2. DESTDIR staging into a multiarch layout.
d="$tmp/root"
make --no-print-directory install DESTDIR="$d" PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu >/dev/null
staged=$(cd "$d" && find . \( -type f -o -type l \) | sort | tr '\n' ' ')
expected="./usr/bin/botsession ./usr/include/botsession.h ./usr/lib/x86_64-linux-gnu/libbotsession.so ./usr/lib/x86_64-linux-gnu/libbotsession.so.0 ./usr/lib/x86_64-linux-gnu/libbotsession.so.$version ./usr/lib/x86_64-linux-gnu/pkgconfig/botsession.pc ./usr/share/doc/botsession/LICENSE "
[ "$staged" = "$expected" ] || fail "DESTDIR holds: $staged"
grep -qx "prefix=/usr" "$d/usr/lib/x86_64-linux-gnu/pkgconfig/botsession.pc" || fail "the staged .pc does not say prefix=/usr"
grep -q "$d" "$d/usr/lib/x86_64-linux-gnu/pkgconfig/botsession.pc" && fail "the staged .pc names DESTDIR"
make --no-print-directory uninstall DESTDIR="$d" PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu >/dev/null
[ -z "$(cd "$d" && find . \( -type f -o -type l \))" ] || fail "uninstall from DESTDIR left files"
echo "check-install: DESTDIR=$d PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu: staged and removed exactly"

# 3. A system install as root (CI only: it changes /usr/local).
if [ "${CI:-}" = true ] && [ "$(id -u)" = 0 ]; then
    [ -e /usr/local/lib/libbotsession.so.0 ] && fail "/usr/local already holds libbotsession: not touching it"
    make --no-print-directory install PREFIX=/usr/local | grep -q "^ldconfig" || fail "install into /usr/local did not run ldconfig"
    [ "$(env -u LD_LIBRARY_PATH "$tmp/plain")" = "$version" ] || fail "after a system install the plain program did not run"
    make --no-print-directory uninstall PREFIX=/usr/local >/dev/null
    ldconfig -p | grep -q libbotsession && fail "ldconfig still lists libbotsession after uninstall"
    env -u LD_LIBRARY_PATH "$tmp/plain" >/dev/null 2>&1 && fail "the plain program still runs after uninstall"
    echo "check-install: PREFIX=/usr/local as root: ldconfig ran; the program runs without rpath; uninstall removed it"
else
    echo "check-install: the system install as root is checked in CI only (it changes /usr/local)"
fi
