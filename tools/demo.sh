#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The `make run` demo, run inside the test VM with taps.ko loaded.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
echo "== taps.ko"
grep -H . /sys/module/taps/parameters/family
dmesg | grep 'taps:' | tail -n 1
echo "== tapsctl family"
"$top/build/tools/tapsctl" family
echo "== an AF_TAPS socket"
"$top/build/tools/examples/hello"
