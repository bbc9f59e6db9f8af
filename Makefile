# BotSession
#
#   make build     builds libbotsession.so (release) into .build/release
#   make test      every test suite: Swift tests, C tests under valgrind, the ABI check
#   make demo      the pizza-counter bot replaying examples/updates.jsonl on sqlite:./sessions.db
#   make bench     SPEC §12's round-trip benchmark: BotSession against hand-written C, as ratios
#   make install   installs the library, header and botsession.pc under PREFIX (/usr/local)
#   make clean     removes what the build made
#
# Missing Debian packages are installed by scripts/ensure-deps.sh (it says what it installs).

VERSION   := 0.1.0
SOVERSION := 0
PREFIX    ?= /usr/local
SWIFT     ?= swift
CC        ?= cc
CFLAGS    ?= -O2 -g -Wall -Wextra -Werror -std=c11
# STRIP=1 installs a stripped library; the test stage keeps symbols for valgrind and gdb.
STRIP     ?= 1
# How many round-trips `make bench` runs per contender.
ROUND_TRIPS ?= 200000

RELEASE_LIB := .build/release/libbotsession.so
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

.PHONY: all build deps test-deps test swift-test c-test python-test venv abi-check readme-check stage demo bench install clean

all: build

deps:
	@scripts/ensure-deps.sh build

test-deps:
	@scripts/ensure-deps.sh test

build: deps
	$(SWIFT) build -c release --product botsession --disable-local-rpath

install: build
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(RELEASE_LIB) $(DESTDIR)$(PREFIX)/lib/libbotsession.so.$(VERSION)
	if [ "$(STRIP)" = 1 ]; then strip --strip-unneeded $(DESTDIR)$(PREFIX)/lib/libbotsession.so.$(VERSION); fi
	ln -sf libbotsession.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libbotsession.so.$(SOVERSION)
	ln -sf libbotsession.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libbotsession.so
	install -m 644 include/botsession.h $(DESTDIR)$(PREFIX)/include/botsession.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' pkgconfig/botsession.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/botsession.pc

# The unstripped library, header and .pc in build/stage.
stage: build
	@$(MAKE) --no-print-directory install PREFIX=$(STAGE) STRIP=0 DESTDIR= >/dev/null

test: test-deps
	@echo "== Swift tests (swift test)"
	$(SWIFT) test
	@$(MAKE) --no-print-directory abi-check
	@$(MAKE) --no-print-directory c-test
	@$(MAKE) --no-print-directory python-test
	@$(MAKE) --no-print-directory readme-check
	@echo "== all test suites passed"

swift-test: test-deps
	$(SWIFT) test

abi-check: stage
	@echo "== ABI check of the built library"
	scripts/check-abi.sh $(RELEASE_LIB) include/botsession.h

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

# The dlopen test loads the library itself: it must not be linked against it.
build/tests/test_dlopen: Tests/C/test_dlopen.c Tests/C/check.h $(STAGE)/lib/pkgconfig/botsession.pc
	@mkdir -p build/tests
	$(CC) $(CFLAGS) $< -o $@ $$($(STAGE_PC) --cflags botsession) -ldl

build/tests/%: Tests/C/%.c Tests/C/check.h $(STAGE)/lib/pkgconfig/botsession.pc
	@mkdir -p build/tests
	$(CC) $(CFLAGS) $< -o $@ $$($(STAGE_PC) --cflags --libs botsession sqlite3) -lpthread -ldl

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

build/roundtrip: bench/roundtrip.c $(STAGE)/lib/pkgconfig/botsession.pc
	@mkdir -p build
	$(CC) $(CFLAGS) $< -o $@ $$($(STAGE_PC) --cflags --libs botsession sqlite3 jansson) -Wl,-rpath,$(STAGE)/lib

bench: stage venv
	@$(MAKE) --no-print-directory build/roundtrip
	./build/roundtrip $(ROUND_TRIPS)
	$(PYTHON_ENV) $(PYTHON) bench/python_roundtrip.py $$(( $(ROUND_TRIPS) / 4 ))

clean:
	rm -rf .build build sessions.db sessions.db-wal sessions.db-shm
