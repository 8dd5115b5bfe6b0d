# SPDX-License-Identifier: GPL-2.0
#
# AF_TAPS top-level Makefile.  README.md says what each target does.

SHELL		:= /bin/bash
KVER		?= $(shell tools/vm/kver)
KDIR		?= /lib/modules/$(KVER)/build
PREFIX		?= /usr/local
DESTDIR		?=
CC		?= gcc
CXX		?= g++

TOP		:= $(CURDIR)
B		:= $(TOP)/build
KB		:= $(B)/$(KVER)
KSRC		:= $(B)/ksrc
RES		:= $(B)/results

USER_CFLAGS	:= -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I$(TOP)/uapi -I$(TOP)/lib
# The tests build as the kernel's selftests do: kselftest_harness.h is not
# -Wextra clean (unused parameters, signed comparisons in its macros).
TEST_CFLAGS	:= -O2 -g -Wall -Werror -D_GNU_SOURCE -I$(TOP)/uapi -I$(TOP)/lib -I$(KSRC)/tools/testing/selftests
LIB_SRCS	:= $(wildcard lib/*.c)
LIB_HDRS	:= $(wildcard lib/*.h) uapi/linux/taps.h
KERNEL_SRCS	:= $(filter-out %.mod.c,$(wildcard kernel/*.c kernel/*.h)) kernel/Kbuild uapi/linux/taps.h
VM_TESTS_C	:= $(wildcard selftests/*.c)
HELPERS_C	:= $(wildcard selftests/helpers/*.c)
VM_TESTS_SH	:= $(filter-out selftests/lib.sh,$(wildcard selftests/*.sh))
HOST_TESTS_C	:= $(wildcard selftests/host/*.c)
HOST_TESTS_SH	:= $(wildcard selftests/host/*.sh)
VM_TIMEOUT	?= 1800
TEST_TIMEOUT	?= 900
# How long selftests/sockfuzz fuzzes; check-debug gives it longer.
SOCKFUZZ_SECONDS ?= 30
SKIP_TESTS	?=
# Tests to leave out on the debug kernel, which runs the suite 5 to 10
# times slower: none (the whole suite takes about 30 minutes there).
DEBUG_SKIP	?=
VM_TESTS	= $(filter-out $(foreach t,$(SKIP_TESTS),selftests/$(t).sh $(B)/selftests/$(t)), \
		  $(VM_TESTS_SH) $(patsubst selftests/%.c,$(B)/selftests/%,$(VM_TESTS_C)))

all: module lib tools selftests

deps:
	@tools/deps.sh

# Kernel source bits used at build time only: the kselftest harness and
# checkpatch, from Debian's linux-source-6.1 (never copied into the tree).
$(KSRC)/.stamp: | deps
	@mkdir -p $(KSRC)
	tar -xJf /usr/src/linux-source-6.1.tar.xz -C $(KSRC) --strip-components=1 \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	@touch $@

# taps.ko, built out of the source folder in build/$(KVER)/kernel (symlinks)
# so that modules for the stock and the debug kernel coexist.
module: $(KB)/taps.ko

$(KB)/taps.ko: $(KERNEL_SRCS) | deps
	@mkdir -p $(KB)/kernel
	@ln -sfn $(TOP)/uapi $(KB)/uapi
	@for f in $(filter-out %.mod.c,$(wildcard kernel/*.c kernel/*.h)) kernel/Kbuild; do \
		ln -sf $(TOP)/$$f $(KB)/kernel/; done
	$(MAKE) -C $(KDIR) M=$(KB)/kernel W=1 KCFLAGS=-Werror modules 2>&1 | tee $(KB)/build.log
	@! grep -E 'warning:|error:' $(KB)/build.log
	cp $(KB)/kernel/taps.ko $@

LIBTAPS_VERSION	:= 0.1.0
LIBTAPS_LIBS	:= -luring -lpthread
LIBTAPS_MAN3	:= $(wildcard Documentation/man/*.3)

lib: $(B)/lib/libtaps.a $(B)/lib/libtaps.so $(B)/lib/libtaps.pc

$(B)/lib/%.o: lib/%.c $(LIB_HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -fPIC -c -o $@ $<

$(B)/lib/libtaps.a: $(patsubst lib/%.c,$(B)/lib/%.o,$(LIB_SRCS))
	$(AR) rcs $@ $^

# libtaps.so (soname libtaps.so.0) exports only what lib/libtaps.map lists.
$(B)/lib/libtaps.so: $(patsubst lib/%.c,$(B)/lib/%.o,$(LIB_SRCS)) lib/libtaps.map
	$(CC) -shared -Wl,-soname,libtaps.so.0 -Wl,--version-script=lib/libtaps.map \
		-Wl,--no-undefined -o $@ $(filter %.o,$^) $(LIBTAPS_LIBS)
	ln -sf libtaps.so $(B)/lib/libtaps.so.0

$(B)/lib/libtaps.pc: lib/libtaps.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(LIBTAPS_VERSION)|' $< >$@

EXAMPLES	:= $(patsubst tools/examples/%.c,$(B)/tools/examples/%,$(wildcard tools/examples/*.c))

tools: $(B)/tools/tapsctl $(EXAMPLES) $(B)/tools/taps-cat

$(B)/tools/taps-cat: tools/taps-cat/taps-cat.c $(B)/lib/libtaps.a $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $< $(B)/lib/libtaps.a $(LIBTAPS_LIBS)

$(B)/tools/examples/%: tools/examples/%.c $(B)/lib/libtaps.a $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $< $(B)/lib/libtaps.a

TAPSCTL_SRCS	:= $(wildcard tools/tapsctl/*.c)

$(B)/tools/tapsctl: $(TAPSCTL_SRCS) tools/tapsctl/tapsctl.h $(B)/lib/libtaps.a $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -std=c11 -o $@ $(TAPSCTL_SRCS) $(B)/lib/libtaps.a -lmnl

selftests: $(patsubst selftests/%.c,$(B)/selftests/%,$(VM_TESTS_C) $(HELPERS_C)) \
	   $(patsubst selftests/host/%.c,$(B)/selftests/host/%,$(HOST_TESTS_C))

$(B)/selftests/%: selftests/%.c selftests/*.h $(B)/lib/libtaps.a $(LIB_HDRS) $(KSRC)/.stamp
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< \
		$(B)/lib/libtaps.a -lpthread -luring -lssl -lcrypto

# Static checks, reported as TAP like the tests.
lint: module $(KSRC)/.stamp
	@mkdir -p $(RES)/host
	@tools/lint $(KDIR) $(KB) $(KSRC) >$(RES)/host/lint.tap; rc=$$?; \
		cat $(RES)/host/lint.tap; echo $$rc >$(RES)/host/lint.rc

host-check: all
	@mkdir -p $(RES)/host
	@selftests/run_tests $(RES)/host $(HOST_TESTS_SH) \
		$(patsubst selftests/host/%.c,$(B)/selftests/host/%,$(HOST_TESTS_C))

vm-check: all
	@rm -rf $(RES)/vm && mkdir -p $(RES)/vm
	@tools/vm/run -r $(KVER) -M $(KB)/taps.ko -t $(VM_TIMEOUT) -o $(RES)/vm \
		-- env TAPS_TEST_TIMEOUT=$(TEST_TIMEOUT) \
		TAPS_SOCKFUZZ_SECONDS=$(SOCKFUZZ_SECONDS) selftests/run_tests \
		/run/tapsvm/out/tests $(VM_TESTS) \
		2>&1 | tee $(RES)/vm/run.log; rc=$${PIPESTATUS[0]}; \
		tools/vm-verdict $$rc $(KVER) $(RES)/vm/run.log >$(RES)/vm/vm.tap

check: deps
	@rm -rf $(RES)
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory lint host-check vm-check; \
		tools/tap-summary $(RES)

# The debug kernel boots in 50 to 80 s under TCG: one boot for the suite.
check-debug:
	@TAPS_DEPS_DEBUG=1 tools/deps.sh
	@rm -rf $(RES)
	@dk=$$(tools/vm/kver -d) && $(MAKE) --no-print-directory all KVER=$$dk && \
		$(MAKE) --no-print-directory vm-check KVER=$$dk VM_TIMEOUT=3600 \
			TEST_TIMEOUT=1800 SOCKFUZZ_SECONDS=150 SKIP_TESTS="$(DEBUG_SKIP)"; \
		tools/tap-summary $(RES)

run: deps all
	tools/vm/run -r $(KVER) -M $(KB)/taps.ko -- tools/demo.sh

vm: deps all
	tools/vm/run -r $(KVER) -M $(KB)/taps.ko

install: all
	$(MAKE) -C $(KDIR) M=$(KB)/kernel INSTALL_MOD_PATH=$(DESTDIR) modules_install
	install -D -m 0644 uapi/linux/taps.h $(DESTDIR)$(PREFIX)/include/linux/taps.h
	install -D -m 0644 lib/taps.h $(DESTDIR)$(PREFIX)/include/taps/taps.h
	install -D -m 0644 $(B)/lib/libtaps.a $(DESTDIR)$(PREFIX)/lib/libtaps.a
	install -D -m 0755 $(B)/lib/libtaps.so $(DESTDIR)$(PREFIX)/lib/libtaps.so.0
	ln -sf libtaps.so.0 $(DESTDIR)$(PREFIX)/lib/libtaps.so
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(LIBTAPS_VERSION)|' lib/libtaps.pc.in \
		>$(DESTDIR)$(PREFIX)/lib/pkgconfig/libtaps.pc
	install -D -m 0755 $(B)/tools/taps-cat $(DESTDIR)$(PREFIX)/bin/taps-cat
	install -D -m 0644 Documentation/man/taps-cat.1 $(DESTDIR)$(PREFIX)/share/man/man1/taps-cat.1
	install -d $(DESTDIR)$(PREFIX)/share/man/man3
	install -m 0644 $(LIBTAPS_MAN3) $(DESTDIR)$(PREFIX)/share/man/man3/
	install -D -m 0755 $(B)/tools/tapsctl $(DESTDIR)$(PREFIX)/sbin/tapsctl
	install -D -m 0644 Documentation/tapsctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/tapsctl.8
	install -D -m 0644 tools/tapsctl/tapsctl.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/tapsctl

clean:
	rm -rf $(B)
	rm -rf kernel/*.o kernel/*.ko kernel/*.mod kernel/*.mod.c kernel/.*.cmd \
		kernel/modules.order kernel/Module.symvers kernel/.tmp_versions

.PHONY: all deps module lib tools selftests lint host-check vm-check check \
	check-debug run vm install clean
