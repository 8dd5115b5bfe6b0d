# SPDX-License-Identifier: GPL-2.0
#
# AF_TAPS top-level Makefile.  README.md says what each target does.

SHELL		:= /bin/bash
KVER		?= $(shell tools/vm/kver)
KDIR		?= /lib/modules/$(KVER)/build
PREFIX		?= /usr/local
LIBDIR		?= $(PREFIX)/lib
# The one version of the tree: debian/changelog's (dkms.conf, libtaps.pc
# and the packages take it from here).
VERSION		:= $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' $(CURDIR)/debian/changelog)
# `make deb` builds without tools/deps.sh (DEPS=); extra flags from dpkg.
DEPS		?= deps
CFLAGS_EXTRA	?=
LDFLAGS_EXTRA	?=
DESTDIR		?=
CC		?= gcc
CXX		?= g++

TOP		:= $(CURDIR)
B		:= $(TOP)/build
KB		:= $(B)/$(KVER)
KSRC		:= $(B)/ksrc
RES		:= $(B)/results

USER_CFLAGS	:= -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I$(TOP)/uapi -I$(TOP)/lib $(CFLAGS_EXTRA)
# The tests build as the kernel's selftests do: kselftest_harness.h is not
# -Wextra clean (unused parameters, signed comparisons in its macros).
# libtaps' version is debian/changelog's, as everything else's.
LIB_VERSION	:= -DTAPS_VERSION_STRING='"$(VERSION)"'
TEST_CFLAGS	:= -O2 -g -Wall -Werror -D_GNU_SOURCE -I$(TOP)/uapi -I$(TOP)/lib -I$(KSRC)/tools/testing/selftests \
		   $(LIB_VERSION)
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
# Tests to leave out on the debug kernel, which runs the suite 3 to 6
# times slower (the whole suite takes about 17 minutes there): packages,
# whose dpkg, DKMS and depmod runs test packaging, not the kernel, and
# would add minutes under TCG to a run at its time limit.
DEBUG_SKIP	?= packages
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

LIBTAPS_LIBS	:= -luring -lpthread -lssl -lcrypto

lib: $(B)/lib/libtaps.a $(B)/lib/libtaps.so $(B)/lib/libtaps.pc

$(B)/lib/%.o: lib/%.c $(LIB_HDRS) debian/changelog | $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(LIB_VERSION) -fPIC -c -o $@ $<

$(B)/lib/libtaps.a: $(patsubst lib/%.c,$(B)/lib/%.o,$(LIB_SRCS))
	$(AR) rcs $@ $^

# libtaps.so (soname libtaps.so.0) exports only what lib/libtaps.map lists.
$(B)/lib/libtaps.so: $(patsubst lib/%.c,$(B)/lib/%.o,$(LIB_SRCS)) lib/libtaps.map
	$(CC) $(LDFLAGS_EXTRA) -shared -Wl,-soname,libtaps.so.0 \
		-Wl,--version-script=lib/libtaps.map -Wl,--no-undefined \
		-o $@ $(filter %.o,$^) $(LIBTAPS_LIBS)
	ln -sf libtaps.so $(B)/lib/libtaps.so.0

$(B)/lib/libtaps.pc: lib/libtaps.pc.in debian/changelog
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' $< >$@

EXAMPLES	:= $(patsubst tools/examples/%.c,$(B)/tools/examples/%,$(wildcard tools/examples/*.c))

tools: $(B)/tools/tapsctl $(B)/tools/taps-run $(B)/tools/libtaps-run.so $(EXAMPLES) \
	$(B)/tools/taps-cat $(B)/bench/bench

# taps-run finds libtaps-run.so beside it in the build tree.
$(B)/tools/taps-run: tools/taps-run/taps-run
	@mkdir -p $(@D)
	install -m 0755 $< $@

$(B)/tools/libtaps-run.so: tools/taps-run/preload.c $(B)/lib/libtaps.a $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(LDFLAGS_EXTRA) -fPIC -shared -fvisibility=hidden -Wl,-z,defs -Wl,--exclude-libs,ALL -o $@ $< \
		$(B)/lib/libtaps.a -ldl -lpthread

$(B)/tools/taps-cat: tools/taps-cat/taps-cat.c $(B)/lib/libtaps.a $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(LDFLAGS_EXTRA) -o $@ $< $(B)/lib/libtaps.a $(LIBTAPS_LIBS)

$(B)/tools/examples/%: tools/examples/%.c $(B)/lib/libtaps.a $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $< $(B)/lib/libtaps.a $(LIBTAPS_LIBS)

# tools/bench/run.sh runs it in the guest; built here so that it never rots.
BENCH_SRCS	:= tools/bench/bench.c tools/bench/bench-libtaps.c

$(B)/bench/bench: $(BENCH_SRCS) tools/bench/bench.h $(B)/lib/libtaps.a $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $(BENCH_SRCS) $(B)/lib/libtaps.a $(LIBTAPS_LIBS)

TAPSCTL_SRCS	:= $(wildcard tools/tapsctl/*.c)

$(B)/tools/tapsctl: $(TAPSCTL_SRCS) tools/tapsctl/tapsctl.h $(B)/lib/libtaps.a $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(LDFLAGS_EXTRA) -std=c11 -o $@ $(TAPSCTL_SRCS) $(B)/lib/libtaps.a -lmnl $(LIBTAPS_LIBS)

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

# The packages and the host-built DKMS tarball for selftests/packages.sh.
vm-check: all deb dkms-tarball
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
			TEST_TIMEOUT=1800 SOCKFUZZ_SECONDS=60 SKIP_TESTS="$(DEBUG_SKIP)"; \
		tools/tap-summary $(RES)

run: deps all
	tools/vm/run -r $(KVER) -M $(KB)/taps.ko -- tools/demo.sh

vm: deps all
	tools/vm/run -r $(KVER) -M $(KB)/taps.ko

# What the packages hold, without the module: the library, headers,
# libtaps.pc, tapsctl, taps-run, taps-cat and the manual pages.
userspace: lib $(B)/lib/libtaps.pc $(B)/tools/tapsctl $(B)/tools/taps-run \
	$(B)/tools/libtaps-run.so $(B)/tools/taps-cat

MANPAGES	:= Documentation/taps.7 Documentation/taps-run.1 Documentation/tapsctl.8 \
		   $(wildcard Documentation/man/*.[1-8])

install-userspace: userspace
	install -D -m 0644 uapi/linux/taps.h $(DESTDIR)$(PREFIX)/include/linux/taps.h
	install -D -m 0644 lib/taps.h $(DESTDIR)$(PREFIX)/include/taps/taps.h
	install -D -m 0644 $(B)/lib/libtaps.a $(DESTDIR)$(LIBDIR)/libtaps.a
	install -D -m 0644 $(B)/lib/libtaps.so $(DESTDIR)$(LIBDIR)/libtaps.so.0
	ln -sf libtaps.so.0 $(DESTDIR)$(LIBDIR)/libtaps.so
	install -D -m 0644 $(B)/lib/libtaps.pc $(DESTDIR)$(LIBDIR)/pkgconfig/libtaps.pc
	install -D -m 0755 $(B)/tools/taps-cat $(DESTDIR)$(PREFIX)/bin/taps-cat
	install -D -m 0755 $(B)/tools/tapsctl $(DESTDIR)$(PREFIX)/sbin/tapsctl
	install -D -m 0755 tools/taps-run/taps-run $(DESTDIR)$(PREFIX)/bin/taps-run
	install -D -m 0644 $(B)/tools/libtaps-run.so $(DESTDIR)$(PREFIX)/lib/taps/libtaps-run.so
	for m in $(MANPAGES); do \
		s=$${m##*.}; \
		install -D -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/$$(basename $$m) || exit 1; \
	done
	install -D -m 0644 tools/tapsctl/tapsctl.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/tapsctl

# The module's source as DKMS wants it: /usr/src/taps-$(VERSION).
DKMS_SRC	= $(DESTDIR)/usr/src/taps-$(VERSION)

install-dkms-src:
	install -d $(DKMS_SRC)/kernel $(DKMS_SRC)/uapi/linux
	install -m 0644 $(filter-out %.mod.c,$(wildcard kernel/*.c kernel/*.h)) kernel/Kbuild \
		$(DKMS_SRC)/kernel/
	install -m 0644 uapi/linux/taps.h $(DKMS_SRC)/uapi/linux/
	sed 's/#MODULE_VERSION#/$(VERSION)/' dkms.conf >$(DKMS_SRC)/dkms.conf

# The module through DKMS (rebuilt at each kernel upgrade) instead of
# `make install`'s copy for one kernel.
install-dkms: install-dkms-src
	dkms install -m taps -v $(VERSION)

install: all install-userspace
	$(MAKE) -C $(KDIR) M=$(KB)/kernel INSTALL_MOD_PATH=$(DESTDIR) modules_install
	@# modprobe (and so socket(AF_TAPS)) finds it after depmod; a staged
	@# install (DESTDIR) leaves that to whoever installs it for real.
	$(if $(DESTDIR),@echo "run depmod $(KVER) once installed",depmod $(KVER))

# Debian packages in build/deb/, built from a copy of the tree.
DEB_SRC		= $(B)/deb/taps-$(VERSION)

deb:
	rm -rf $(B)/deb && mkdir -p $(DEB_SRC)
	tar -c --exclude=./build --exclude=./.git . | tar -x -C $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc >$(B)/deb/build.log 2>&1 || \
		{ tail -n 40 $(B)/deb/build.log; exit 1; }
	rm -rf $(DEB_SRC)
	ls $(B)/deb/*.deb

# A binary-only DKMS tarball of taps.ko for $(KVER), built on this host in
# a private DKMS tree (never /var/lib/dkms or /lib/modules).  Where it sits
# in /usr/share/taps-dkms/, installing taps-dkms loads it instead of
# compiling; selftests/packages.sh does that in the VM, where compiling
# under TCG takes minutes (Documentation/testing.md).  One kernel per
# tarball: dkms 3.0.10's mktarball and ldtarball fail on a second one (a
# "local -r" in a loop).
DKMS_DIR	= $(B)/dkms
DKMS_TARBALL	= $(DKMS_DIR)/taps-$(VERSION).dkms.tar.gz
DKMS_ARGS	= --dkmstree $(DKMS_DIR)/tree --sourcetree $(DKMS_DIR)/src/usr/src \
		  --installtree $(DKMS_DIR)/inst -m taps -v $(VERSION) -k $(KVER)
# dkms signs what it builds, with a key it makes in /var/lib/dkms unless
# told otherwise: a throwaway one in the private tree.
DKMS_ENV	= mok_signing_key=$(DKMS_DIR)/mok.key mok_certificate=$(DKMS_DIR)/mok.pub

dkms-tarball: $(DKMS_TARBALL)

# Rebuilt for another KVER too.
$(DKMS_DIR)/kernel: FORCE
	@mkdir -p $(@D)
	@echo "$(KVER)" | cmp -s - $@ || echo "$(KVER)" >$@

$(DKMS_TARBALL): $(KERNEL_SRCS) dkms.conf debian/changelog $(DKMS_DIR)/kernel
	rm -rf $(DKMS_DIR)/tree $(DKMS_DIR)/src $(DKMS_DIR)/inst $(DKMS_DIR)/*.tar.gz
	mkdir -p $(DKMS_DIR)/tree $(DKMS_DIR)/inst
	$(MAKE) --no-print-directory DESTDIR=$(DKMS_DIR)/src install-dkms-src >/dev/null
	$(DKMS_ENV) dkms build $(DKMS_ARGS) >$(DKMS_DIR)/build.log 2>&1 || \
		{ cat $(DKMS_DIR)/build.log; exit 1; }
	$(DKMS_ENV) dkms mktarball --binaries-only $(DKMS_ARGS) --archive $@ \
		>>$(DKMS_DIR)/build.log 2>&1 || { cat $(DKMS_DIR)/build.log; exit 1; }

FORCE:

.PHONY: all deps module lib tools selftests lint host-check vm-check check \
	check-debug run vm install clean userspace install-userspace install-dkms-src \
	install-dkms deb dkms-tarball FORCE
