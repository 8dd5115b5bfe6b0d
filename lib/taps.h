/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libtaps: userspace side of AF_TAPS.
 */
#ifndef _TAPS_H
#define _TAPS_H

#include <linux/taps.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * taps_family - the address family number taps.ko registered
 *
 * Reads /sys/module/taps/parameters/family; when the module is not loaded
 * (or sysfs is not mounted) returns the default AF_TAPS.  Use it, not the
 * AF_TAPS constant, as socket()'s first argument.
 */
int taps_family(void);

/* taps_state_name - "established" for TAPS_STATE_ESTABLISHED, "?" if unknown */
const char *taps_state_name(unsigned int state);

#ifdef __cplusplus
}
#endif

#endif /* _TAPS_H */
