# BotSession
#
#   make build     builds libbotsession.so and the botsession command (release) into .build/release
#   make test      every test suite: the tracked-files check, Swift tests, the ABI check, C tests
#                  under valgrind, Python, counting, the README, the demo, the botsession command
#                  (make cli-test), and short forms of the four below
#                  (each stage prints "== stage X took N s")
#   make aiogram-suite  aiogram's own storage tests against BotSessionStorage (also in make test)
#   make test-asan the C tests against the library built with AddressSanitizer (and LeakSanitizer)
#   make test-tsan the C tests against the library built with ThreadSanitizer
#   make fuzz      libFuzzer on the C API, FUZZ_SECONDS per target (default 60; Tests/fuzz/)
#   make test-crash  kill -9 during commits on sqlite: and file: stores, CRASH_KILLS times (300)
#   make demo      the pizza-counter bot replaying examples/updates.jsonl on sqlite:./sessions.db
#   make bench     SPEC §12's round-trip benchmark: BotSession against hand-written C, as ratios
#   make install   installs the library, header, botsession.pc and the botsession command:
#                  PREFIX (/usr/local), BINDIR (PREFIX/bin), LIBDIR
#                  (PREFIX/lib), INCLUDEDIR (PREFIX/include), PKGCONFIGDIR (LIBDIR/pkgconfig),
#                  DOCDIR (PREFIX/share/doc/botsession: the LICENSE),
#                  DESTDIR (a staging root for packagers); ldconfig after a system install as root
#   make uninstall removes exactly what make install put there (same variables)
#   make wheel     dist/botsession-VERSION-py3-none-manylinux_*.whl, the library inside
#   make clean     removes what the build made
#
# Missing Debian packages are installed by scripts/ensure-deps.sh (it says what it installs).

# The one place the version is written; the header's macros and the Swift and Python sources
# that cannot read it are checked against it (scripts/check-version.sh).
VERSION   := $(shell cat VERSION)
SOVERSION := 0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
LIBDIR    ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DOCDIR    ?= $(PREFIX)/share/doc/botsession
SWIFT     ?= swift
CC        ?= cc
CFLAGS    ?= -O2 -g -Wall -Wextra -Werror -std=c11
# STRIP=1 installs a stripped library; the test stage keeps symbols for valgrind and gdb.
STRIP     ?= 1
# How many round-trips `make bench` runs per contender.
ROUND_TRIPS ?= 200000
# The full forms of `make fuzz` and `make test-crash`; `make test` runs short ones.
FUZZ_SECONDS ?= 60
CRASH_KILLS  ?= 300
TEST_FUZZ_SECONDS ?= 12
TEST_CRASH_KILLS  ?= 40
TIMED := scripts/timed.sh

RELEASE_LIB := .build/release/libbotsession.so
# The operators' command (Sources/BotSessionCLI), installed as $(BINDIR)/botsession.
RELEASE_CLI := .build/release/botsession-cli
# A private install that the C tests and the demo build against, exactly as a user would.
STAGE       := $(CURDIR)/build/stage
STAGE_PC    := PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig pkg-config
VALGRIND    := valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
               --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
               --suppressions=Tests/C/valgrind.supp --child-silent-after-fork=yes

# The Python binding is tested in this venv, with the packages of requirements-test.txt.
VENV        := build/venv
PYTHON      := $(VENV)/bin/python
PYTHON_ENV  := BOTSESSION_LIBRARY=$(STAGE)/lib/libbotsession.so.0 \
               BOTSESSION_TEST_PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig

C_TEST_SOURCES := $(wildcard Tests/C/test_*.c)
C_TESTS        := $(patsubst Tests/C/%.c,build/tests/%,$(C_TEST_SOURCES))

.PHONY: all build deps test-deps test swift-test c-test python-test aiogram-suite stress venv abi-check readme-check demo-check cli-test stage demo bench install uninstall ldconfig install-check wheel wheel-check clean \
        hygiene test-asan test-tsan fuzz test-crash

all: build

deps:
	@scripts/ensure-deps.sh build

test-deps:
	@scripts/ensure-deps.sh test

build: deps
	$(SWIFT) build -c release --product botsession --disable-local-rpath
	$(SWIFT) build -c release --product botsession-cli --disable-local-rpath

# The .pc names its directories relative to ${prefix} when they are under PREFIX.
PC_LIBDIR     = $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
PC_INCLUDEDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))
INSTALLED := $(LIBDIR)/libbotsession.so.$(VERSION) $(LIBDIR)/libbotsession.so.$(SOVERSION) \
             $(LIBDIR)/libbotsession.so $(INCLUDEDIR)/botsession.h $(PKGCONFIGDIR)/botsession.pc \
             $(DOCDIR)/LICENSE $(BINDIR)/botsession

install: build
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(BINDIR)
	install -m 644 LICENSE $(DESTDIR)$(DOCDIR)/LICENSE
	install -m 755 $(RELEASE_CLI) $(DESTDIR)$(BINDIR)/botsession
	if [ "$(STRIP)" = 1 ]; then strip $(DESTDIR)$(BINDIR)/botsession; fi
	install -m 755 $(RELEASE_LIB) $(DESTDIR)$(LIBDIR)/libbotsession.so.$(VERSION)
	if [ "$(STRIP)" = 1 ]; then strip --strip-unneeded $(DESTDIR)$(LIBDIR)/libbotsession.so.$(VERSION); fi
	ln -sf libbotsession.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libbotsession.so.$(SOVERSION)
	ln -sf libbotsession.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libbotsession.so
	install -m 644 include/botsession.h $(DESTDIR)$(INCLUDEDIR)/botsession.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(PC_LIBDIR)|g' -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' pkgconfig/botsession.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/botsession.pc
	@$(MAKE) --no-print-directory ldconfig

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	@$(MAKE) --no-print-directory ldconfig

# After a system install or uninstall as root (no DESTDIR, LIBDIR one the loader searches), the
# loader's cache is refreshed, so programs find libbotsession.so.0 without LD_LIBRARY_PATH.
ldconfig:
	@case "$(LIBDIR)" in /lib|/lib/*|/lib64|/usr/lib|/usr/lib/*|/usr/lib64|/usr/local/lib|/usr/local/lib/*) \
	    if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
	        echo "ldconfig  (refreshing the loader's cache for $(LIBDIR))"; ldconfig; fi;; \
	esac

# The unstripped library, header and .pc in build/stage.
stage: build
	@$(MAKE) --no-print-directory install PREFIX=$(STAGE) STRIP=0 DESTDIR= >/dev/null

# The C, Python, stress and sanitizer tests run with a private PostgreSQL server
# (scripts/with-postgres.sh). The sanitizer, fuzz and crash stages run in short forms here; their
# own targets run the full ones. Each stage prints its time (scripts/timed.sh).
test: test-deps
	@start=$$(date +%s); set -e; \
	$(TIMED) hygiene $(MAKE) --no-print-directory hygiene; \
	echo "== Swift tests (swift test)"; \
	$(TIMED) swift-test $(SWIFT) test; \
	$(TIMED) swift-package scripts/check-swift-package.sh; \
	$(TIMED) abi-check $(MAKE) --no-print-directory abi-check; \
	$(TIMED) stage $(MAKE) --no-print-directory stage venv build/tests/counting; \
	$(TIMED) c-python-stress scripts/with-postgres.sh $(MAKE) --no-print-directory c-test python-test stress; \
	$(TIMED) readme-check $(MAKE) --no-print-directory readme-check; \
	$(TIMED) demo-check $(MAKE) --no-print-directory demo-check; \
	$(TIMED) cli-test scripts/with-postgres.sh $(MAKE) --no-print-directory cli-test; \
	$(TIMED) install-check $(MAKE) --no-print-directory install-check; \
	$(TIMED) wheel $(MAKE) --no-print-directory wheel-check; \
	$(TIMED) test-asan $(MAKE) --no-print-directory test-asan; \
	$(TIMED) test-tsan $(MAKE) --no-print-directory test-tsan; \
	$(TIMED) fuzz $(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) FUZZ_SEED=1; \
	$(TIMED) test-crash $(MAKE) --no-print-directory test-crash CRASH_KILLS=$(TEST_CRASH_KILLS); \
	echo "== all test suites passed in $$(( $$(date +%s) - start )) s"

# Build outputs (ELF binaries, SQLite databases) must never be tracked by git; the self-test
# proves the check can fail.
hygiene:
	@echo "== tracked files: no binaries or databases; one version"
	scripts/test-check-tracked-files.sh
	scripts/check-tracked-files.sh
	scripts/check-version.sh

# The C tests against the library built with a sanitizer (scripts/sanitizer-test.sh says how).
test-asan: test-deps
	SWIFT=$(SWIFT) scripts/with-postgres.sh scripts/sanitizer-test.sh address

test-tsan: test-deps
	SWIFT=$(SWIFT) scripts/with-postgres.sh scripts/sanitizer-test.sh thread

# libFuzzer targets in Tests/fuzz/, seeds in Tests/fuzz/corpus/<target>/ (scripts/fuzz.sh).
fuzz: test-deps
	SWIFT=$(SWIFT) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_SEED=$(FUZZ_SEED) scripts/fuzz.sh

# kill -9 at random points of commits; every acknowledged commit must survive, untorn.
test-crash: stage build/tests/crash_kill
	@echo "== kill -9 during commits: $(CRASH_KILLS) kills per store"
	@tmp=$$(mktemp -d /tmp/botsession-crash-XXXXXX); trap 'rm -rf $$tmp' EXIT; set -e; \
	LD_LIBRARY_PATH=$(STAGE)/lib build/tests/crash_kill sqlite:$$tmp/crash.db $(CRASH_KILLS); \
	LD_LIBRARY_PATH=$(STAGE)/lib build/tests/crash_kill file:$$tmp/crash-files $(CRASH_KILLS)

swift-test: test-deps
	$(SWIFT) test

# The Python wheel with the library inside (scripts/build-wheel.sh says how), and its check: a
# fresh venv with only the wheel, in a clean environment, runs the Python quick start.
wheel: stage
	@echo "== make wheel: dist/botsession-$(VERSION)-py3-none-manylinux_*.whl, libbotsession and its libraries inside"
	scripts/build-wheel.sh $(STAGE)/lib/libbotsession.so.0

wheel-check: wheel
	scripts/check-wheel.sh

# make install and make uninstall in a private prefix, a DESTDIR and (CI) /usr/local.
install-check: build
	@echo "== make install / uninstall: PREFIX, LIBDIR, INCLUDEDIR, DESTDIR, ldconfig"
	scripts/check-install.sh

abi-check: stage
	@echo "== ABI check of the built library"
	scripts/check-abi.sh $(RELEASE_LIB) include/botsession.h

# SPEC §8's counting at full size, natively (valgrind would take hours), then small under valgrind.
stress: stage build/tests/counting
	@echo "== counting without losing an increment: threads through one engine, processes through their own"
	@tmp=$$(mktemp -d /tmp/botsession-stress-XXXXXX); trap 'rm -rf $$tmp' EXIT; set -e; \
	run() { LD_LIBRARY_PATH=$(STAGE)/lib build/tests/counting "$$@"; }; \
	run threads memory: 8 10000; \
	run threads sqlite:$$tmp/threads.db 8 10000; \
	run threads file:$$tmp/threads-files 8 1000; \
	run processes sqlite:$$tmp/processes.db 4 5000; \
	run processes file:$$tmp/processes-files 4 5000; \
	if [ -n "$$BOTSESSION_TEST_POSTGRES_URI" ]; then \
	    run threads "$$BOTSESSION_TEST_POSTGRES_URI" 8 10000; \
	    run processes "$$BOTSESSION_TEST_POSTGRES_URI" 4 5000; \
	elif [ -n "$$CI" ]; then echo "stress: no PostgreSQL server (run through scripts/with-postgres.sh)"; exit 1; fi; \
	LD_LIBRARY_PATH=$(STAGE)/lib $(VALGRIND) build/tests/counting threads sqlite:$$tmp/small.db 4 100; \
	LD_LIBRARY_PATH=$(STAGE)/lib $(VALGRIND) build/tests/counting processes sqlite:$$tmp/small.db 3 100

readme-check: stage venv
	@echo "== the README's quick starts"
	SWIFT=$(SWIFT) PYTHON=$(PYTHON) scripts/check-readme.sh $(STAGE)

# A venv with the binding installed as users install it (pip install bindings/python) and the
# test packages; made once, the binding reinstalled every time.
$(VENV)/.test-requirements: bindings/python/requirements-test.txt
	@echo "== creating $(VENV) and installing $(notdir $<) from PyPI"
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r $<
	@touch $@

venv: $(VENV)/.test-requirements
	@$(PYTHON) -m pip install --quiet --force-reinstall --no-deps ./bindings/python

python-test: stage venv
	@echo "== Python binding and adapters (pytest, real aiogram and python-telegram-bot)"
	cd bindings/python && $(PYTHON_ENV) ../../$(PYTHON) -m pytest -q -p no:cacheprovider tests
	$(PYTHON_ENV) PYTHON=$(PYTHON) scripts/aiogram-suite.sh

# aiogram's own storage tests (from its sdist, downloaded once) with BotSessionStorage added.
aiogram-suite: stage venv
	$(PYTHON_ENV) PYTHON=$(PYTHON) scripts/aiogram-suite.sh

# The dlopen test loads the library itself: it must not be linked against it.
build/tests/test_dlopen: Tests/C/test_dlopen.c Tests/C/check.h $(STAGE)/lib/pkgconfig/botsession.pc
	@mkdir -p build/tests
	$(CC) $(CFLAGS) $< -o $@ $$($(STAGE_PC) --cflags botsession) -ldl

build/tests/counting: Tests/C/counting.c Tests/C/check.h $(STAGE)/lib/pkgconfig/botsession.pc
	@mkdir -p build/tests
	$(CC) $(CFLAGS) $< -o $@ $$($(STAGE_PC) --cflags --libs botsession) -lpthread

build/tests/crash_kill: Tests/crash/crash_kill.c $(STAGE)/lib/pkgconfig/botsession.pc
	@mkdir -p build/tests
	$(CC) $(CFLAGS) $< -o $@ $$($(STAGE_PC) --cflags --libs botsession)

build/tests/%: Tests/C/%.c Tests/C/check.h $(STAGE)/lib/pkgconfig/botsession.pc
	@mkdir -p build/tests
	$(CC) $(CFLAGS) $< -o $@ $$($(STAGE_PC) --cflags --libs botsession sqlite3 libpq jansson) -lpthread -ldl

$(STAGE)/lib/pkgconfig/botsession.pc: stage

c-test: stage
	@echo "== C tests, built with pkg-config against build/stage, under valgrind"
	@$(MAKE) --no-print-directory $(C_TESTS)
	@for t in $(C_TESTS); do \
	    echo "-- $$t"; \
	    LD_LIBRARY_PATH=$(STAGE)/lib $(VALGRIND) $$t || { echo "FAILED: $$t"; exit 1; }; \
	done

build/pizza_bot: examples/pizza_bot.c $(STAGE)/lib/pkgconfig/botsession.pc
	@mkdir -p build
	$(CC) $(CFLAGS) $< -o $@ $$($(STAGE_PC) --cflags --libs botsession jansson) -Wl,-rpath,$(STAGE)/lib

demo: stage
	@$(MAKE) --no-print-directory build/pizza_bot
	@echo "== the pizza bot replays examples/updates.jsonl on sqlite:./sessions.db"
	./build/pizza_bot sqlite:./sessions.db examples/updates.jsonl

# The botsession command as users get it: installed by make install into a private prefix, and
# driven by Tests/cli/test_cli.py (SQLite files, and PostgreSQL through scripts/with-postgres.sh).
CLI_PREFIX := $(CURDIR)/build/cli-prefix
cli-test: stage venv
	@echo "== the botsession command, installed into build/cli-prefix, driven by Tests/cli"
	@$(MAKE) --no-print-directory install PREFIX=$(CLI_PREFIX) >/dev/null
	$(PYTHON_ENV) BOTSESSION_CLI=$(CLI_PREFIX)/bin/botsession $(PYTHON) -m pytest -q -p no:cacheprovider Tests/cli

# make demo, run twice on a fresh SQLite file: the group in its stream moves to its supergroup
# and every chat ends with one session (scripts/check-demo.sh).
demo-check: stage build/pizza_bot
	@echo "== make demo: the pizza bot twice on a fresh SQLite file, following the chat migration in its stream"
	scripts/check-demo.sh build/pizza_bot

build/roundtrip: bench/roundtrip.c $(STAGE)/lib/pkgconfig/botsession.pc
	@mkdir -p build
	$(CC) $(CFLAGS) $< -o $@ $$($(STAGE_PC) --cflags --libs botsession sqlite3 jansson) -Wl,-rpath,$(STAGE)/lib

build/memory_rss: bench/memory_rss.c $(STAGE)/lib/pkgconfig/botsession.pc
	@mkdir -p build
	$(CC) $(CFLAGS) $< -o $@ $$($(STAGE_PC) --cflags --libs botsession) -Wl,-rpath,$(STAGE)/lib

bench: stage venv
	@$(MAKE) --no-print-directory build/roundtrip build/memory_rss
	./build/roundtrip $(ROUND_TRIPS)
	./build/memory_rss
	@scripts/ensure-deps.sh bench  # Debian's redis-server, for aiogram's RedisStorage baseline
	@$(PYTHON) -m pip install --quiet "redis==7.4.1" "hiredis==3.5.0"  # RedisStorage's client (aiogram[redis]), for the benchmark only
	$(PYTHON_ENV) $(PYTHON) bench/python_roundtrip.py $$(( $(ROUND_TRIPS) / 4 )) --aiogram $$(( $(ROUND_TRIPS) / 20 ))
	@$(PYTHON) -m pip install --quiet "psycopg[binary]==3.3.9"  # the PostgreSQL baseline, for the benchmark only
	$(PYTHON_ENV) scripts/with-postgres.sh sh -c '$(PYTHON) bench/postgres_roundtrip.py "$$BOTSESSION_TEST_POSTGRES_URI" $$(( $(ROUND_TRIPS) / 20 ))' 

clean:
	rm -rf .build .build-asan .build-tsan .build-fuzz build dist bindings/python/build sessions.db sessions.db-wal sessions.db-shm
