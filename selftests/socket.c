// SPDX-License-Identifier: GPL-2.0
/*
 * socket(AF_TAPS, ...): supported types, documented errnos, TAPS_INFO on a
 * fresh socket, namespaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "taps_test.h"

TEST(family_is_registered)
{
	int fd = taps_socket(SOCK_STREAM);
	int val;
	socklen_t len = sizeof(val);

	ASSERT_LE(0, fd) TH_LOG("socket(%d, SOCK_STREAM, 0): %s", taps_family(), strerror(errno));
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &val, &len));
	EXPECT_EQ(taps_family(), val);
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_TYPE, &val, &len));
	EXPECT_EQ(SOCK_STREAM, val);
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &val, &len));
	EXPECT_EQ(0, val);
	EXPECT_EQ(0, close(fd));
}

TEST(type_flags)
{
	int fd = taps_socket(SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

TEST(unsupported_types)
{
	static const int types[] = {
		SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_DCCP, SOCK_PACKET,
	};
	unsigned int i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, taps_socket(types[i])) TH_LOG("type %d", types[i]);
		EXPECT_EQ(ESOCKTNOSUPPORT, errno) TH_LOG("type %d", types[i]);
	}
}

TEST(unsupported_protocols)
{
	static const int protos[] = { IPPROTO_TCP, IPPROTO_SCTP, IPPROTO_UDP, 1, -1, 262 };
	unsigned int i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, socket(taps_family(), SOCK_STREAM, protos[i]));
		EXPECT_EQ(EPROTONOSUPPORT, errno) TH_LOG("protocol %d", protos[i]);
	}
}

TEST(info_fresh_socket)
{
	struct taps_info info;
	socklen_t len = sizeof(info);
	int fd = taps_socket(SOCK_STREAM);

	ASSERT_LE(0, fd);
	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, getsockopt(fd, SOL_TAPS, TAPS_INFO, &info, &len));
	EXPECT_EQ(sizeof(info), len);
	EXPECT_EQ(TAPS_STATE_UNCONNECTED, info.ti_state);
	EXPECT_EQ(0, info.ti_protocol);
	EXPECT_EQ(0, info.ti_attempts);
	EXPECT_EQ(AF_UNSPEC, info.ti_local.ss_family);
	EXPECT_EQ(AF_UNSPEC, info.ti_remote.ss_family);
	close(fd);
}

TEST(info_short_and_bad_lengths)
{
	struct taps_info info;
	socklen_t len;
	int fd = taps_socket(SOCK_STREAM);
	char big[sizeof(info) + 64];
	void *bad = (void *)1;

	ASSERT_LE(0, fd);
	/* A shorter buffer gets the leading part, len says how much. */
	len = 4;
	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, getsockopt(fd, SOL_TAPS, TAPS_INFO, &info, &len));
	EXPECT_EQ(4, len);
	EXPECT_EQ(TAPS_STATE_UNCONNECTED, info.ti_state);
	EXPECT_EQ(0xa5a5a5a5, info.ti_protocol);
	/* A longer one gets the whole structure and no more. */
	len = sizeof(big);
	ASSERT_EQ(0, getsockopt(fd, SOL_TAPS, TAPS_INFO, big, &len));
	EXPECT_EQ(sizeof(info), len);
	/* Zero length is a valid query of nothing. */
	len = 0;
	EXPECT_EQ(0, getsockopt(fd, SOL_TAPS, TAPS_INFO, &info, &len));
	EXPECT_EQ(0, len);
	/* Bad pointers. */
	len = sizeof(info);
	EXPECT_EQ(-1, getsockopt(fd, SOL_TAPS, TAPS_INFO, NULL, &len));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, getsockopt(fd, SOL_TAPS, TAPS_INFO, &info, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, getsockopt(fd, SOL_TAPS, TAPS_INFO, bad, &len));
	EXPECT_EQ(EFAULT, errno);
	close(fd);
}

TEST(unknown_options)
{
	int fd = taps_socket(SOCK_STREAM);
	int val = 1;
	socklen_t len = sizeof(val);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, getsockopt(fd, SOL_TAPS, 9999, &val, &len));
	EXPECT_EQ(ENOPROTOOPT, errno);
	EXPECT_EQ(-1, setsockopt(fd, SOL_TAPS, 9999, &val, sizeof(val)));
	EXPECT_EQ(ENOPROTOOPT, errno);
	EXPECT_EQ(-1, setsockopt(fd, SOL_TAPS, TAPS_INFO, &val, sizeof(val)));
	EXPECT_EQ(ENOPROTOOPT, errno);
	close(fd);
}

TEST(new_network_namespace)
{
	int fd;

	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	fd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, fd);
	close(fd);
}

TEST(many_sockets)
{
	enum { N = 1000 };
	static int fds[N];
	int i;

	for (i = 0; i < N; i++) {
		fds[i] = taps_socket(SOCK_STREAM);
		ASSERT_LE(0, fds[i]) TH_LOG("socket %d: %s", i, strerror(errno));
	}
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, close(fds[i]));
}

TEST_HARNESS_MAIN
