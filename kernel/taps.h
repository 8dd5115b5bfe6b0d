/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AF_TAPS: Transport Services sockets, private definitions.
 */
#ifndef __TAPS_H
#define __TAPS_H

#include <net/sock.h>
#include <linux/taps.h>

/* Address family number registered at load time (module parameter). */
extern int taps_family;

/*
 * struct taps_sock - the AF_TAPS socket ("tsk")
 * @sk: the outer sock, first so that taps_sk() is a cast
 * @state: TAPS_STATE_* as reported through TAPS_INFO
 */
struct taps_sock {
	struct sock	sk;
	u32		state;
};

static inline struct taps_sock *taps_sk(const struct sock *sk)
{
	return (struct taps_sock *)sk;
}

#endif /* __TAPS_H */
