// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libtaps: the event loop on io_uring.  Every object embeds a struct
 * taps_op per kind of request it has in flight; its address is the SQE's
 * user_data, so a completion finds its object without a lookup.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "internal.h"

#define TAPS_RING_ENTRIES	1024

struct taps_timer {
	struct taps_op		op;
	struct taps_loop	*loop;
	struct __kernel_timespec ts;
	taps_timer_cb		cb;
	void			*user;
	bool			cancelled;
};

const char *taps_version(void)
{
	return TAPS_VERSION_STRING;
}

uint64_t taps__now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

struct taps_loop *taps_loop_new(void)
{
	struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE, .cq_entries = 16384 };
	struct taps_loop *loop = calloc(1, sizeof(*loop));
	int err;

	if (!loop)
		return NULL;
	err = io_uring_queue_init_params(TAPS_RING_ENTRIES, &loop->ring, &p);
	if (err) {
		free(loop);
		errno = -err;
		return NULL;
	}
	loop->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->efd < 0) {
		err = errno;
		io_uring_queue_exit(&loop->ring);
		free(loop);
		errno = err;
		return NULL;
	}
	loop->efd_op.kind = OP_EVENTFD;
	loop->ignore_op.kind = OP_IGNORE;
	loop->query = taps__query_getaddrinfo;
	loop->debug = getenv("LIBTAPS_DEBUG") != NULL;
	return loop;
}

struct io_uring_sqe *taps__sqe(struct taps_loop *loop)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);

	while (!sqe) {
		io_uring_submit(&loop->ring);
		sqe = io_uring_get_sqe(&loop->ring);
	}
	return sqe;
}

void taps__kick(struct taps_loop *loop)
{
	if (!loop->dispatching)
		io_uring_submit(&loop->ring);
}

void taps__arm_eventfd(struct taps_loop *loop)
{
	struct io_uring_sqe *sqe;

	if (loop->efd_armed)
		return;
	sqe = taps__sqe(loop);
	io_uring_prep_read(sqe, loop->efd, &loop->efd_val, sizeof(loop->efd_val), 0);
	io_uring_sqe_set_data(sqe, &loop->efd_op);
	loop->efd_armed = true;
}

static void timer_complete(struct taps_loop *loop, struct taps_timer *t)
{
	loop->inflight--;
	if (!t->cancelled && t->cb)
		t->cb(t, t->user);
	free(t);
}

static void dispatch(struct taps_loop *loop, struct io_uring_cqe *cqe)
{
	struct taps_op *op = io_uring_cqe_get_data(cqe);

	if (loop->debug)
		fprintf(stderr, "libtaps: completion %p kind %d res %d\n", (void *)op,
			op ? (int)op->kind : 0, cqe->res);
	if (!op)
		return;
	switch (op->kind) {
	case OP_TIMER:
		timer_complete(loop, (struct taps_timer *)op);
		break;
	case OP_EVENTFD:
		loop->efd_armed = false;
		taps__loop_query_done(loop, NULL);
		if (loop->resolving)
			taps__arm_eventfd(loop);
		break;
	case OP_CONN_POLL:
	case OP_CONN_RECV:
	case OP_CONN_SEND:
	case OP_CONN_SHUTDOWN:
	case OP_CONN_DEFER:
	case OP_CONN_PUMP:
		taps__conn_complete(loop, op, cqe->res, cqe->flags);
		break;
	case OP_ACCEPT:
	case OP_LISTENER_DEFER:
		taps__listener_complete(loop, op, cqe->res);
		break;
	case OP_RES_TIMER:
		taps__resolution_timer(loop, op, cqe->res);
		break;
	case OP_IGNORE:
		break;
	}
}

/* Handle every completion there is; never waits. */
static int drain(struct taps_loop *loop)
{
	struct io_uring_cqe *cqe;
	int n = 0;

	loop->dispatching++;
	while (io_uring_peek_cqe(&loop->ring, &cqe) == 0) {
		struct io_uring_cqe c = *cqe;

		io_uring_cqe_seen(&loop->ring, cqe);
		dispatch(loop, &c);
		n++;
	}
	loop->dispatching--;
	return n;
}

int taps_loop_process(struct taps_loop *loop)
{
	int n, err;

	if (!loop)
		return -EINVAL;
	n = drain(loop);
	err = io_uring_submit(&loop->ring);
	return err < 0 ? err : n;
}

int taps_loop_run(struct taps_loop *loop)
{
	int err;

	if (!loop)
		return -EINVAL;
	loop->stop = false;
	while (!loop->stop && (loop->inflight || loop->resolving)) {
		err = io_uring_submit_and_wait(&loop->ring, 1);
		if (err < 0 && err != -EINTR && err != -EAGAIN && err != -EBUSY)
			return err;
		drain(loop);
	}
	io_uring_submit(&loop->ring);
	return 0;
}

void taps_loop_stop(struct taps_loop *loop)
{
	if (loop)
		loop->stop = true;
}

int taps_loop_fd(const struct taps_loop *loop)
{
	return loop ? loop->ring.ring_fd : -EINVAL;
}

void taps_loop_free(struct taps_loop *loop)
{
	if (!loop)
		return;
	taps__conn_free_all(loop);
	io_uring_queue_exit(&loop->ring);
	taps__loop_query_done(loop, loop);	/* detach from resolver threads */
	free(loop);
}

struct taps_timer *taps_timer_new(struct taps_loop *loop, unsigned int ms,
				  taps_timer_cb cb, void *user)
{
	struct io_uring_sqe *sqe;
	struct taps_timer *t;

	if (!loop || !cb) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->op.kind = OP_TIMER;
	t->loop = loop;
	t->cb = cb;
	t->user = user;
	t->ts.tv_sec = ms / 1000;
	t->ts.tv_nsec = (ms % 1000) * 1000000ll;
	sqe = taps__sqe(loop);
	io_uring_prep_timeout(sqe, &t->ts, 0, 0);
	io_uring_sqe_set_data(sqe, &t->op);
	loop->inflight++;
	taps__kick(loop);
	return t;
}

void taps_timer_cancel(struct taps_timer *t)
{
	struct io_uring_sqe *sqe;

	if (!t || t->cancelled)
		return;
	t->cancelled = true;
	sqe = taps__sqe(t->loop);
	io_uring_prep_timeout_remove(sqe, (__u64)(uintptr_t)&t->op, 0);
	io_uring_sqe_set_data(sqe, &t->loop->ignore_op);
	taps__kick(t->loop);
}
