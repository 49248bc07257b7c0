# gomapwatch build. `make` builds build/gomapwatch; `make demo` and `make test`
# install what is missing first (scripts/install-deps.sh), then build.
# Out-of-tree builds with O=dir, verbose commands with V=1.

O ?= build
PREFIX ?= /usr/local
ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PKGS := libbpf libelf libdw capstone yyjson libcurl

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -g -O2
CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -std=gnu11 -D_GNU_SOURCE -MMD -MP \
	  -I$(O) -Ibpf -Iuser $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lz
# STATIC=1 (set by `make static`): linked -static against Debian's archives
# and the yyjson one scripts/install-static.sh builds into $(O)/yyjson.
# libcurl stays out: its static archive would bring a TLS stack along, so
# user/otlp_none.c stands in for user/otlp.c there and refuses --otlp.
OTLP_OUT := user/otlp_none.c
ifeq ($(STATIC),1)
OTLP_OUT := user/otlp.c
PKGS := $(filter-out yyjson libcurl,$(PKGS))
CFLAGS += -I$(O)/yyjson
LDLIBS := -static $(shell pkg-config --static --libs $(PKGS) 2>/dev/null)
STATIC_LIBS := $(O)/yyjson/libyyjson.a
endif
# CROSS_SYSROOT (set by `make arm64`): the target's headers and archives,
# unpacked from its Debian packages; the compiler's own sysroot has libc.
ifneq ($(CROSS_SYSROOT),)
CFLAGS += -I$(CROSS_SYSROOT)/usr/include
LDLIBS := -L$(CROSS_SYSROOT)/usr/lib/$(shell $(CC) -dumpmachine) $(LDLIBS)
endif
# SANITIZE=1 (set by `make asan`): AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer, every report fatal. Built by clang, whose
# single runtime (linked in, from Debian's clang package) writes both kinds
# of report to ASAN_OPTIONS' log_path; gcc's separate libubsan ignores it
# beside libasan and prints to stderr, where a test may discard it.
ifeq ($(SANITIZE),1)
CC := $(CLANG)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux/$(ARCH) -Ibpf \
	      -Wall -Wno-unused-function

# Modules that need neither libbpf nor root; unit tests link against these.
LIB_SRCS := $(filter-out user/main.c user/tracer.c $(OTLP_OUT),$(wildcard user/*.c))
LIB_OBJS := $(LIB_SRCS:user/%.c=$(O)/user/%.o)
APP_OBJS := $(O)/user/main.o $(O)/user/tracer.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%)

.PHONY: all deps fixtures unit integration test demo bench bench-budget bench-startup large clean install \
	offsets-table vmlinux bpf-arm64 vmlinux-arm64 static static-test man otelcol k8scheck \
	asan asan-test
all: $(O)/gomapwatch

$(O)/gomapwatch: $(LIB_OBJS) $(APP_OBJS) $(STATIC_LIBS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(O)/user/%.o: user/%.c | $(O)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(O)/user/tracer.o: $(O)/gomapwatch.skel.h

$(O)/gomapwatch.bpf.o: bpf/gomapwatch.bpf.c | $(O)/user
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -MT $@ -MF $@.d -c -o $@.tmp $<
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(O)/gomapwatch.skel.h: $(O)/gomapwatch.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name gomapwatch_bpf > $@

$(O)/tests/test_%: tests/unit/test_%.c $(LIB_OBJS) | $(O)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS) -lcmocka

$(O)/user $(O)/tests:
	$(Q)mkdir -p $@

deps:
	$(Q)scripts/install-deps.sh

fixtures: deps
	$(Q)scripts/build-fixtures.sh $(O)/fixtures

# Unit tests run without root against the fixtures.
unit: fixtures
	$(Q)$(MAKE) --no-print-directory $(UNIT_BINS)
	$(Q)set -e; for t in $(UNIT_BINS); do \
		GMW_FIXTURES=$(abspath $(O)/fixtures) $$t; done

# The tests' OpenTelemetry Collector and Kubernetes manifest checker: Go
# modules of their own (tests/otelcol, tests/k8scheck), fetched through the
# Go module proxy on a first build, kept while current.
otelcol: deps
	$(Q)scripts/build-otelcol.sh $(O)/otelcol

k8scheck: deps
	$(Q)scripts/build-k8scheck.sh $(O)/k8scheck

integration: fixtures otelcol k8scheck
	$(Q)$(MAKE) --no-print-directory all
	$(Q)GMW=$(abspath $(O)/gomapwatch) GMW_FIXTURES=$(abspath $(O)/fixtures) \
		OTELCOL=$(abspath $(O)/otelcol/otelcol) K8SCHECK=$(abspath $(O)/k8scheck/k8scheck) \
		tests/integration/run.sh

test: deps
	$(Q)$(MAKE) --no-print-directory unit fuzz-smoke integration asan-test static-test vm-test arm64-test

# The tracer and the unit tests built with the sanitizers: $(O)/asan
asan: deps
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 O=$(O)/asan all $(UNIT_BINS:$(O)/%=$(O)/asan/%)

# The unit tests and a subset of the integration tests against it; any
# sanitizer report fails the stage (tests/integration/asan.sh).
asan-test: asan fixtures otelcol k8scheck
	$(Q)GMW=$(abspath $(O)/asan/gomapwatch) GMW_FIXTURES=$(abspath $(O)/fixtures) \
		OTELCOL=$(abspath $(O)/otelcol/otelcol) K8SCHECK=$(abspath $(O)/k8scheck/k8scheck) \
		tests/integration/asan.sh $(abspath $(UNIT_BINS:$(O)/%=$(O)/asan/%))

# libFuzzer targets (tests/fuzz) for the readers of untrusted binaries, built
# by clang with ASan and UBSan into $(O)/fuzz. Seeds are cut from the
# fixtures (scripts/fuzz-seeds.sh), never committed; what a run finds goes to
# $(O)/fuzz/corpus/<target>. `make fuzz` runs each target FUZZ_SECONDS;
# `make fuzz-smoke` (in `make test`) FUZZ_SMOKE_SECONDS each from the seeds
# alone, after replaying tests/fuzz/regress/<target>; either fails on any
# finding.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_TARGETS:%=$(O)/fuzz/fuzz_%)
FUZZ_OBJS := $(LIB_SRCS:user/%.c=$(O)/fuzz/user/%.o)
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	       $(filter-out -g -O2,$(CFLAGS))
FUZZ_RUN = GMW_FIXTURES=$(abspath $(O)/fixtures) scripts/fuzz-run.sh
.PHONY: fuzz-build fuzz-seeds fuzz fuzz-smoke
.SECONDARY: $(FUZZ_OBJS)

$(O)/fuzz/user/%.o: user/%.c | $(O)/fuzz/user
	$(call msg,FUZZCC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(O)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS) | $(O)/fuzz/user
	$(call msg,FUZZLD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

$(O)/fuzz/user:
	$(Q)mkdir -p $@

fuzz-build: deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_BINS)

# cut again only when the fixtures or the cutting change
fuzz-seeds: fixtures
	$(Q)$(MAKE) --no-print-directory $(O)/fuzz/seeds/.done

$(O)/fuzz/seeds/.done: $(O)/fixtures/matrix.txt scripts/fuzz-seeds.sh tests/fuzz/fuzz_plan.c
	$(call msg,SEEDS,$(O)/fuzz/seeds)
	$(Q)rm -rf $(O)/fuzz/seeds
	$(Q)scripts/fuzz-seeds.sh $(O)/fixtures $(O)/fuzz/seeds
	$(Q)touch $@

fuzz: fuzz-build fuzz-seeds
	$(Q)$(FUZZ_RUN) $(O)/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build fuzz-seeds
	$(Q)FUZZ_FRESH=1 $(FUZZ_RUN) $(O)/fuzz $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

# One self-contained binary to copy onto a production box: $(O)/static/gomapwatch
static: deps
	$(Q)scripts/install-static.sh $(O)/static/yyjson
	$(Q)$(MAKE) --no-print-directory STATIC=1 O=$(O)/static all

# It is static and runs where there is no shared library at all.
static-test: static fixtures
	$(Q)GMW=$(abspath $(O)/static/gomapwatch) GMW_FIXTURES=$(abspath $(O)/fixtures) \
		tests/integration/static.sh

# The kernel matrix (tests/vm): Debian's 5.10, 6.1 and 6.12 booted under
# QEMU, a smoke set in each. QEMU and vng come from scripts/install-vm.sh,
# the kernels from scripts/kernels.sh (cached outside $(O)).
.PHONY: vm-deps kernels vm-test
vm-deps:
	$(Q)scripts/install-vm.sh

kernels: vm-deps
	$(Q)scripts/kernels.sh

# The guests run the static binary: what gets copied onto a box.
vm-test: vm-deps fixtures static
	$(Q)GMW=$(abspath $(O)/static/gomapwatch) GMW_FIXTURES=$(abspath $(O)/fixtures) \
		tests/vm/run.sh $(O)/vm

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh $(abspath $(O))

bench: deps
	$(Q)$(MAKE) --no-print-directory all fixtures
	$(Q)bench/run.sh $(abspath $(O))

# --max-overhead on the net/http fixture under load: throughput plain, in
# full and under a 5% budget; how soon a recurring race is reported.
bench-budget: deps
	$(Q)$(MAKE) --no-print-directory all fixtures
	$(Q)bench/budget.sh $(abspath $(O))

# A large real Go server (caddy, ~80 MB with DWARF), from the Go module proxy.
large:
	$(Q)scripts/build-large.sh $(O)/large

# Start-up time to probes live and peak memory on it, inspect and traced.
bench-startup: deps
	$(Q)$(MAKE) --no-print-directory all large
	$(Q)bench/startup.sh $(abspath $(O))

# Regenerate user/offsets_table.h from real toolchains' DWARF (fetches them).
offsets-table:
	$(Q)scripts/gen-offsets.sh

vmlinux:
	$(Q)scripts/gen-vmlinux.sh

vmlinux-arm64:
	$(Q)scripts/gen-vmlinux.sh arm64

# Build check: the BPF programs also compile for arm64 (vmlinux/arm64), on any host.
bpf-arm64:
	$(Q)$(MAKE) --no-print-directory ARCH=arm64 O=$(O)/arm64 $(O)/arm64/gomapwatch.skel.h

# arm64, cross-built on an x86-64 host: one static binary to copy onto an
# arm64 box, $(O)/arm64/gomapwatch. The cross compiler, QEMU and an arm64
# sysroot of Debian's static libraries and kernel come from
# scripts/install-arm64.sh (the sysroot cached in ARM64_CACHE).
ARM64_CACHE ?= $(or $(GMW_ARM64_CACHE),/var/cache/gomapwatch/arm64)
ARM64_CC ?= aarch64-linux-gnu-gcc
ARM64_SYSROOT = $(ARM64_CACHE)/sysroot
ARM64_PC := PKG_CONFIG_SYSROOT_DIR=$(ARM64_SYSROOT) \
	PKG_CONFIG_LIBDIR=$(ARM64_SYSROOT)/usr/lib/aarch64-linux-gnu/pkgconfig:$(ARM64_SYSROOT)/usr/share/pkgconfig
.PHONY: arm64-deps arm64 arm64-test
arm64-deps:
	$(Q)GMW_ARM64_CACHE=$(ARM64_CACHE) scripts/install-arm64.sh >/dev/null

arm64: deps arm64-deps
	$(Q)DEB_HOST_ARCH=arm64 CC=$(ARM64_CC) scripts/install-static.sh $(O)/arm64/yyjson
	$(Q)$(ARM64_PC) $(MAKE) --no-print-directory STATIC=1 ARCH=arm64 CC=$(ARM64_CC) \
		CROSS_SYSROOT=$(ARM64_SYSROOT) O=$(O)/arm64 all

# An arm64 guest under QEMU (tests/arm64): the arm64 binary on the arm64
# fixtures of an old-layout and a swiss-map release, checked on the host.
arm64-test: arm64 fixtures
	$(Q)$(MAKE) --no-print-directory all
	$(Q)GMW=$(abspath $(O)/arm64/gomapwatch) HOST_GMW=$(abspath $(O)/gomapwatch) \
		GMW_FIXTURES=$(abspath $(O)/fixtures) GMW_ARM64_CACHE=$(ARM64_CACHE) \
		tests/arm64/run.sh $(O)/arm64/guest

# The manual page, gomapwatch(8): made from --help by help2man, with the
# sections --help has no room for (scripts/gomapwatch.h2m, gen-man.sh).
man: $(O)/gomapwatch.8
$(O)/gomapwatch.8: $(O)/gomapwatch scripts/gomapwatch.h2m scripts/gen-man.sh
	$(call msg,MAN,$@)
	$(Q)scripts/gen-man.sh $(O)/gomapwatch $@

# PREFIX (default /usr/local) and DESTDIR as usual.
install: all $(O)/gomapwatch.8
	install -D -m 0755 $(O)/gomapwatch $(DESTDIR)$(PREFIX)/sbin/gomapwatch
	install -D -m 0644 $(O)/gomapwatch.8 $(DESTDIR)$(PREFIX)/share/man/man8/gomapwatch.8
	install -D -m 0644 examples/deploy/gomapwatch.service \
		$(DESTDIR)$(PREFIX)/share/doc/gomapwatch/gomapwatch.service

clean:
	rm -rf $(O)

-include $(wildcard $(O)/user/*.d $(O)/tests/*.d $(O)/*.bpf.o.d $(O)/fuzz/user/*.d $(O)/fuzz/*.d)
