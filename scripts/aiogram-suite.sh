#!/usr/bin/env bash
# aiogram's own FSM storage tests, run against BotSessionStorage:
#
#   scripts/aiogram-suite.sh [PYTEST ARGS...]
#
# PYTHON (default build/venv/bin/python) is a Python with the binding and
# bindings/python/requirements-test.txt installed; BOTSESSION_LIBRARY as for the binding's tests.
# The source distribution of the installed aiogram version is downloaded from PyPI once (pip
# download) into build/aiogram-suite/, and only its tests/ and pyproject.toml are extracted: the
# tests then import the installed aiogram, not the sdist's copy. They run from there under
# aiogram's own pytest settings (pyproject.toml: asyncio_mode=auto, filterwarnings=error, so a
# warning fails a test), with the plugin bindings/python/tests/aiogram_suite/
# botsession_aiogram_fixtures.py, which adds the BotSession fixtures to aiogram's storage and
# isolation parametrisations. With BOTSESSION_TEST_POSTGRES_URI (scripts/with-postgres.sh) a
# PostgreSQL store runs too.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$root/build/venv/bin/python}
case "$python" in /*) ;; */*) python=$root/$python ;; esac
version=$("$python" -c 'import aiogram; print(aiogram.__version__)')
cache=$root/build/aiogram-suite
dir=$cache/aiogram-$version

if [ ! -f "$dir/.extracted" ]; then
    echo "== downloading aiogram $version's source distribution (its tests) from PyPI"
    rm -rf "$dir" && mkdir -p "$cache"
    "$python" -m pip download --quiet --no-deps --no-binary :all: "aiogram==$version" -d "$cache"
    tar -xzf "$cache/aiogram-$version.tar.gz" -C "$cache" "aiogram-$version/tests" "aiogram-$version/pyproject.toml"
    touch "$dir/.extracted"
fi

echo "== aiogram $version's storage and isolation tests, with BotSessionStorage added"
cd "$dir"
PYTHONPATH=$root/bindings/python/tests/aiogram_suite${PYTHONPATH:+:$PYTHONPATH} \
    exec "$python" -m pytest -p botsession_aiogram_fixtures -p no:cacheprovider -v -rs \
    tests/test_fsm/storage/test_storages.py "tests/test_fsm/storage/test_isolation.py::TestIsolations" "$@"
