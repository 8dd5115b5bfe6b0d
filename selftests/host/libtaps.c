// SPDX-License-Identifier: GPL-2.0
/*
 * libtaps unit tests that need no kernel module (run on the build host).
 */
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "taps.h"

TEST(family_default_without_module)
{
	if (!access("/sys/module/taps", F_OK))
		SKIP(return, "taps.ko is loaded here");
	EXPECT_EQ(AF_TAPS, taps_family());
}

TEST(state_names)
{
	EXPECT_STREQ("unconnected", taps_state_name(TAPS_STATE_UNCONNECTED));
	EXPECT_STREQ("establishing", taps_state_name(TAPS_STATE_ESTABLISHING));
	EXPECT_STREQ("established", taps_state_name(TAPS_STATE_ESTABLISHED));
	EXPECT_STREQ("closing", taps_state_name(TAPS_STATE_CLOSING));
	EXPECT_STREQ("closed", taps_state_name(TAPS_STATE_CLOSED));
	EXPECT_STREQ("listening", taps_state_name(TAPS_STATE_LISTENING));
	EXPECT_STREQ("?", taps_state_name(TAPS_STATE_LISTENING + 1));
	EXPECT_STREQ("?", taps_state_name(~0u));
}

TEST(protocol_names)
{
	EXPECT_STREQ("TCP", taps_protocol_name(IPPROTO_TCP));
	EXPECT_STREQ("SCTP", taps_protocol_name(IPPROTO_SCTP));
	EXPECT_STREQ("MPTCP", taps_protocol_name(IPPROTO_MPTCP));
	EXPECT_STREQ("?", taps_protocol_name(IPPROTO_UDP));
	EXPECT_STREQ("?", taps_protocol_name(0));
}

TEST_HARNESS_MAIN
