// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libtaps: family discovery and names.
 */
#include <stdio.h>
#include <stdlib.h>

#include "taps.h"

#define TAPS_SYSFS_FAMILY "/sys/module/taps/parameters/family"

int taps_family(void)
{
	FILE *f = fopen(TAPS_SYSFS_FAMILY, "re");
	int family = AF_TAPS;

	if (f) {
		if (fscanf(f, "%d", &family) != 1 || family <= 0)
			family = AF_TAPS;
		fclose(f);
	}
	return family;
}

const char *taps_state_name(unsigned int state)
{
	static const char * const names[] = {
		[TAPS_STATE_UNCONNECTED]	= "unconnected",
		[TAPS_STATE_ESTABLISHING]	= "establishing",
		[TAPS_STATE_ESTABLISHED]	= "established",
		[TAPS_STATE_CLOSING]		= "closing",
		[TAPS_STATE_CLOSED]		= "closed",
		[TAPS_STATE_LISTENING]		= "listening",
	};

	if (state >= sizeof(names) / sizeof(names[0]) || !names[state])
		return "?";
	return names[state];
}

const char *taps_protocol_name(unsigned int ipproto)
{
	switch (ipproto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_SCTP:
		return "SCTP";
	case IPPROTO_MPTCP:
		return "MPTCP";
	}
	return "?";
}
