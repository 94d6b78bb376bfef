# tend: one GNU Makefile (STYLE.md section 10). `make` builds ./tend; `make test` installs what
# is missing, builds and runs every test; `make asan` runs the suite under ASan+UBSan.
CC      ?= cc
# libcurl gives only its headers: core/curlx.c dlopen()s it on first use, because linking it made
# every tend process map ~33 more libraries (~3 ms per start, ~5 MiB of daemon RSS).
# libcurl and libcrypto are loaded on first use (core/curlx.h, core/cryptox.h): their headers
# only, so no tend process pays their start-up time and memory unless a feature needs them.
# libpq is loaded on first use too (watch/pqx.h) for the same reason; hiredis has no dependencies.
PKGS_LINK := libuv jansson yaml-0.1 sqlite3 zlib libzstd hiredis
PKGS    := $(PKGS_LINK) libcurl libcrypto libpq
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
OPT     ?= -O2 -g
BUILD   ?= build
CFLAGS  += $(CSTD) $(WARN) $(OPT) -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS_LINK) 2>/dev/null) -lhttp_parser -lm -ldl

# Quiet by default; `make V=1` shows the commands.
Q       := $(if $(V),,@)
# MODULES make ./tend; NEW_MODULES build and unit-test on their own until the daemon wires them.
MODULES := core config supervise logs store api cli backup watch alert
NEW_MODULES :=
SRCS    := $(foreach m,$(MODULES),$(wildcard src/$(m)/*.c)) $(wildcard src/*.c)
OBJS    := $(SRCS:%.c=$(BUILD)/%.o)
NEW_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(foreach m,$(NEW_MODULES),$(wildcard src/$(m)/*.c)))
LIBOBJS := $(filter-out $(BUILD)/src/main.o,$(OBJS)) $(NEW_OBJS)

# Unit tests: tests/unit/<module>/test_<file>.c, each a program linked with every module.
UNIT_SRCS := $(wildcard tests/unit/*/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%)
# Fuzz targets tests/fuzz/fuzz_<t>.c: `make fuzz` runs them under libFuzzer; every test run
# replays them (tests/fuzz/replay.c) over tests/fuzz/corpus/<t>/ and tests/fuzz/regressions/<t>/.
FUZZ_ALL  := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
UNIT_BINS += $(FUZZ_ALL:%=$(BUILD)/fuzz/replay_%)

.PHONY: all deps test unit e2e asan lint clean bench fuzz demo test-asan-inner soak
all: tend

tend: $(OBJS)
	@echo "  LINK  $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

# The same binary inside a build folder (`make BUILD=build-x build-x/tend`), leaving ./tend alone.
$(BUILD)/tend: $(OBJS)
	@echo "  LINK  $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# A module's tests link only the modules it depends on, so each module builds and tests alone.
DEPS_core      := core
DEPS_config    := core config
DEPS_supervise := core config supervise
DEPS_logs      := core config logs
DEPS_store     := core store
DEPS_api       := core api
DEPS_cli       := core config cli
DEPS_backup    := core config backup
DEPS_watch     := core config watch
DEPS_alert     := core config alert
modobjs = $(filter $(foreach d,$(DEPS_$(1)),$(BUILD)/src/$(d)/%),$(LIBOBJS))

.SECONDEXPANSION:
$(BUILD)/unit/%: tests/unit/%.c tests/unit/unit.h $$(call modobjs,$$(firstword $$(subst /, ,$$*)))
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	$(Q)$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(call modobjs,$(firstword $(subst /, ,$*))) $(LDLIBS)

# The module whose objects (with its DEPS_) a fuzz target links.
FUZZ_MOD_config := config
FUZZ_MOD_envfile := config
FUZZ_MOD_pm2 := config
FUZZ_MOD_units := config
FUZZ_MOD_cron := core
FUZZ_MOD_rule := core
FUZZ_MOD_alog := watch
FUZZ_MOD_http := api
$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $$(call modobjs,$$(FUZZ_MOD_$$*))
	@mkdir -p $(dir $@)
	@echo "  FUZZ  $@"
	$(Q)$(CC) $(CFLAGS) -DFUZZ_TARGET='"$*"' -o $@ tests/fuzz/replay.c $< $(call modobjs,$(FUZZ_MOD_$*)) $(LDLIBS)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $$(call modobjs,$$(FUZZ_MOD_$$*))
	@mkdir -p $(dir $@)
	@echo "  FUZZ  $@"
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(call modobjs,$(FUZZ_MOD_$*)) $(LDLIBS)

deps:
	@scripts/deps.sh

unit: $(UNIT_BINS)
	@E2E=0 tests/run_all.sh $(UNIT_BINS)

e2e: tend
	@tests/run_e2e.sh

test: deps
	@$(MAKE) --no-print-directory tend $(UNIT_BINS)
	@tests/run_all.sh $(UNIT_BINS)

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan CC=clang \
	  OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" TEND_BIN=build-asan/tend test-asan-inner

# The valgrind tests run the plain ./tend (valgrind cannot run an ASan binary): `make test` ran
# them already, so the ASan pass leaves them out.
test-asan-inner: $(UNIT_BINS) $(BUILD)/tend
	@rm -rf /tmp/tend-asan-logs && mkdir -p /tmp/tend-asan-logs
	@ASAN_LOG_DIR=/tmp/tend-asan-logs ASAN_OPTIONS=log_path=/tmp/tend-asan-logs/asan:detect_leaks=1 \
	  UBSAN_OPTIONS=log_path=/tmp/tend-asan-logs/ubsan:print_stacktrace=1 \
	  SKIP=valgrind TEND_BIN=$(BUILD)/tend tests/run_all.sh $(UNIT_BINS)

# libFuzzer (clang): `make fuzz [FUZZ_TARGETS="rule cron"] [FUZZ_TIME=600]`, one target after
# another; new inputs go to $(FUZZ_WORK), the table at the end has executions and coverage.
FUZZ_TIME ?= 60
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_WORK ?= /tmp/tend-fuzz
fuzz:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
	  OPT="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  $(FUZZ_TARGETS:%=build-fuzz/fuzz/fuzz_%)
	@FUZZ_TIME=$(FUZZ_TIME) FUZZ_WORK=$(FUZZ_WORK) tests/fuzz/run.sh build-fuzz/fuzz $(FUZZ_TARGETS)

lint:
	@scripts/lint.sh

clean:
	rm -rf build build-* tend

-include $(OBJS:.o=.d) $(NEW_OBJS:.o=.d)

# The quick start: install, build, run examples/demo and show its status.
demo: deps
	@$(MAKE) --no-print-directory tend
	./tend up examples/demo/tend.yaml
	./tend status

bench: tend
	@bench/run.sh

# A 30-minute run under everything at once (tests/soak/run.sh; SOAK_MINUTES, TEND_BIN); not in CI.
soak: tend
	@tests/soak/run.sh
