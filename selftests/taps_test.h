/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the AF_TAPS selftests.
 */
#ifndef _TAPS_TEST_H
#define _TAPS_TEST_H

#include <sys/socket.h>

#include "taps.h"

static inline int taps_socket(int type)
{
	return socket(taps_family(), type, 0);
}

#endif /* _TAPS_TEST_H */
