# pycorr -- build, test, fuzz, bench, install.
# `make` builds ./pycorr; `make test` runs unit and end-to-end tests;
# `make sanitize` runs the whole suite under ASan+UBSan; `make fuzz` runs each fuzz
# target briefly; `make bench SIZE=256` prints throughput and peak memory.

PREFIX ?= /usr/local
CC ?= cc
PKGS = libpcre2-8 jansson rdkafka libzstd libarchive
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN = -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith -Wstrict-prototypes \
       -Wmissing-prototypes -Wvla -Wno-missing-field-initializers
OPT ?= -O2 -g
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(PKG_CFLAGS) $(CFLAGS) -I.
LDLIBS_ALL = $(PKG_LIBS) -lpthread -lm $(LDLIBS)

BUILD ?= build
LIB_DIRS = correlate parsers patterns rules source cmd
LIB_SRCS = $(filter-out cmd/main.c,$(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c)))
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/rules_shipped.o
LIB = $(BUILD)/libpycorr.a
SHIPPED_RULES = $(sort $(wildcard rules/*.rules))

UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all test check-build unit e2e sanitize fuzz fuzz-build bench install uninstall clean demo tools

all: pycorr

# Copy then rename: a running ./pycorr (a test, a consumer) must not block the build.
pycorr: $(BUILD)/pycorr
	cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/pycorr: $(BUILD)/cmd/main.o $(LIB)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDFLAGS) $(LDLIBS_ALL)

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

# The shipped rule catalog is compiled into the executable.
$(BUILD)/rules_shipped.c: $(SHIPPED_RULES) rules/embed.sh
	@mkdir -p $(dir $@)
	sh rules/embed.sh $(SHIPPED_RULES) > $@.tmp && mv -f $@.tmp $@
$(BUILD)/rules_shipped.o: $(BUILD)/rules_shipped.c
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDFLAGS) -lcmocka $(LDLIBS_ALL)

# Helper programs used by tests and the benchmark.
TOOL_SRCS = $(wildcard tests/tools/*.c)
TOOL_BINS = $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)
$(BUILD)/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS_ALL)
tools: $(TOOL_BINS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; CMOCKA_MESSAGE_OUTPUT=stdout $$t; done

# The tests run $(BUILD)/pycorr, never ./pycorr: `make sanitize` must not leave a
# sanitizer build where users and `make bench` run pycorr.
e2e: $(BUILD)/pycorr tools
	@PYCORR=$(abspath $(BUILD)/pycorr) TOOLS=$(abspath $(BUILD)/tools) sh tests/e2e/run.sh

test: unit e2e

# Everything the tests run, so it can be built in parallel before the serial test run.
check-build: $(BUILD)/pycorr tools $(UNIT_BINS)

# The whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer.
SAN_FLAGS = -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_MAKE = $(MAKE) BUILD=build-san OPT="-O1 -g" CFLAGS="$(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)"
sanitize:
	$(SAN_MAKE) check-build
	$(SAN_MAKE) -j1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 test

# libFuzzer targets (clang): tests/fuzz/fuzz_*.c, seeds in tests/fuzz/seeds/NAME/.
FUZZ_SRCS = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS = $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)
FUZZ_TIME ?= 20
FUZZ_LIB_SRCS = $(filter-out cmd/%,$(LIB_SRCS))
build-fuzz/rules_shipped.c: $(SHIPPED_RULES) rules/embed.sh
	@mkdir -p build-fuzz
	sh rules/embed.sh $(SHIPPED_RULES) > $@
# The library is compiled once (instrumented, without libFuzzer's main) and every
# target links against the same objects, instead of recompiling it per target.
FUZZ_CC = clang -std=c11 -D_GNU_SOURCE -g -O1 -I. $(PKG_CFLAGS) -fno-sanitize-recover=undefined
FUZZ_OBJS = $(FUZZ_LIB_SRCS:%.c=build-fuzz/obj/%.o) build-fuzz/obj/rules_shipped.o
build-fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c -o $@ $<
build-fuzz/obj/rules_shipped.o: build-fuzz/rules_shipped.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<
build-fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJS) $(PKG_LIBS) -lpthread -lm
.SECONDARY: $(FUZZ_OBJS) build-fuzz/rules_shipped.c
fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	@set -e; fail=0; for f in $(FUZZ_BINS); do n=$$(basename $$f); \
		mkdir -p build-fuzz/corpus/$$n; \
		echo "== $$n ($(FUZZ_TIME)s)"; \
		if ! $$f -max_total_time=$(FUZZ_TIME) -max_len=65536 -rss_limit_mb=1024 \
			-artifact_prefix=build-fuzz/$$n- \
			build-fuzz/corpus/$$n tests/fuzz/seeds/$${n#fuzz_} >build-fuzz/$$n.log 2>&1; then \
			grep -E 'ERROR|SUMMARY|runtime error|Test unit written' build-fuzz/$$n.log | head -n 20; \
			echo "fuzz: $$n failed; the input is build-fuzz/$$n-crash-* (add it to tests/fuzz/seeds/$${n#fuzz_} once fixed)"; \
			fail=1; \
		else tail -n 3 build-fuzz/$$n.log; fi; done; exit $$fail

SIZE ?= 256
bench: pycorr tools
	@sh tests/bench/bench.sh $(SIZE)

demo: pycorr
	./pycorr ingest samples/

install: pycorr
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/pycorr/rules
	install -m 0755 pycorr $(DESTDIR)$(PREFIX)/bin/pycorr
	install -m 0644 $(SHIPPED_RULES) $(DESTDIR)$(PREFIX)/share/pycorr/rules/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/pycorr

clean:
	rm -rf build build-san build-fuzz pycorr

-include $(shell find $(BUILD) build-fuzz/obj -name '*.d' 2>/dev/null)
