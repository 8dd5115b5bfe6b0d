// SPDX-License-Identifier: GPL-2.0
/*
 * tapsctl: the generic netlink side.  Resolves the "taps" family (and its
 * "events" group) through the controller, sends one request at a time and
 * runs the replies through a callback until the ACK or NLMSG_DONE.  Errors
 * are printed here, as ip(8) does: "Error: <extack message>." or, when the
 * kernel gave none, "Error: <strerror>.".
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "tapsctl.h"

#define NL_RBUF_SIZE	65536

/* What one request/answer exchange learnt besides the data */
struct talk {
	mnl_cb_t	cb;
	void		*data;
	int		err;		/* positive errno from the kernel */
	char		msg[256];	/* its extack message, "" if none */
};

static void print_error(const char *msg, int err)
{
	size_t n = strlen(msg);

	if (!n)
		msg = strerror(err);
	n = strlen(msg);
	fprintf(stderr, "Error: %s%s\n", msg, n && msg[n - 1] == '.' ? "" : ".");
}

static int extack_cb(const struct nlattr *attr, void *data)
{
	struct talk *t = data;

	if (mnl_attr_get_type(attr) != NLMSGERR_ATTR_MSG ||
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_OK;
	snprintf(t->msg, sizeof(t->msg), "%s", mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

/* The TLVs after @off bytes of payload, when the kernel added some */
static void parse_extack(const struct nlmsghdr *nlh, size_t off, struct talk *t)
{
	size_t len = mnl_nlmsg_get_payload_len(nlh);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = MNL_ALIGN(off);
	if (off >= len)
		return;
	mnl_attr_parse_payload((const char *)mnl_nlmsg_get_payload(nlh) + off,
			       len - off, extack_cb, t);
}

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct talk *t = data;
	size_t off = sizeof(*e);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		t->err = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > sizeof(e->msg))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	parse_extack(nlh, off, t);
	if (e->error == 0) {
		if (t->msg[0])
			fprintf(stderr, "Warning: %s.\n", t->msg);
		return MNL_CB_STOP;
	}
	t->err = e->error < 0 ? -e->error : e->error;
	return MNL_CB_ERROR;
}

/* NLMSG_DONE carries the dump's error, if any, and its extack */
static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(err))
		return MNL_CB_STOP;
	memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	if (err == 0)
		return MNL_CB_STOP;
	parse_extack(nlh, sizeof(err), t);
	t->err = err < 0 ? -err : err;
	return MNL_CB_ERROR;
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;

	return t->cb ? t->cb(nlh, t->data) : MNL_CB_OK;
}

/*
 * Start a request in @buf, NL_SBUF_SIZE bytes, zeroed so that no padding
 * leaks; talk() fills in the sequence number.
 */
static struct nlmsghdr *req_start(char *buf, uint16_t family, uint8_t cmd,
				  uint8_t version, uint16_t flags)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	memset(buf, 0, NL_SBUF_SIZE);
	nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

/*
 * A request to "taps", in @nl's buffer.  It may be built before nl_open():
 * nl_talk() fills in the family id, known only then.
 */
struct nlmsghdr *nl_req(struct nl *nl, uint8_t cmd, uint16_t flags)
{
	return req_start(nl->sbuf, 0, cmd, TAPS_GENL_VERSION, flags);
}

/* Send @nlh, feed the answers to @cb; returns 0 or the positive errno */
static int talk(struct nl *nl, struct nlmsghdr *nlh, struct talk *t)
{
	mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR]	= error_cb,
		[NLMSG_DONE]	= done_cb,
	};
	ssize_t n;
	int ret;

	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return errno;
	do {
		n = mnl_socket_recvfrom(nl->sock, nl->rbuf, NL_RBUF_SIZE);
		if (n < 0)
			return errno;
		errno = 0;
		ret = mnl_cb_run2(nl->rbuf, n, nlh->nlmsg_seq, nl->portid,
				  data_cb, t, ctl_cbs, NLMSG_MIN_TYPE);
	} while (ret > MNL_CB_STOP);
	if (ret < 0)
		return t->err ? t->err : (errno ? errno : EPROTO);
	return 0;
}

int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	struct talk t = { .cb = cb, .data = data };
	int err;

	nlh->nlmsg_type = nl->family;
	err = talk(nl, nlh, &t);
	if (!err)
		return 0;
	print_error(t.msg, err);
	return -1;
}

/*
 * One read of notifications (the monitor).  Lost events (ENOBUFS: the
 * socket's queue overflowed) are reported and not fatal.
 */
int nl_recv(struct nl *nl, mnl_cb_t cb, void *data)
{
	ssize_t n;

	n = mnl_socket_recvfrom(nl->sock, nl->rbuf, NL_RBUF_SIZE);
	if (n < 0 && errno == ENOBUFS) {
		fprintf(stderr, "Warning: events were lost (%s).\n", strerror(errno));
		return 0;
	}
	if (n < 0) {
		fprintf(stderr, "Error: %s.\n", strerror(errno));
		return -1;
	}
	if (mnl_cb_run(nl->rbuf, n, 0, 0, cb, data) < 0) {
		fprintf(stderr, "Error: %s.\n", errno ? strerror(errno) : "cannot print an event");
		return -1;
	}
	return 0;
}

/* --- resolving the family through the controller --- */

static int mcgrp_cb(const struct nlattr *grp, void *data)
{
	const struct nlattr *a, *name = NULL, *id = NULL;
	struct nl *nl = data;

	if (mnl_attr_validate(grp, MNL_TYPE_NESTED) < 0)
		return MNL_CB_OK;
	mnl_attr_for_each_nested(a, grp) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
			name = a;
		else if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_ID &&
			 mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			id = a;
	}
	if (name && id && !strcmp(mnl_attr_get_str(name), TAPS_GENL_MCGRP_EVENTS))
		nl->mcgrp = mnl_attr_get_u32(id);
	return MNL_CB_OK;
}

static int family_attr_cb(const struct nlattr *attr, void *data)
{
	struct nl *nl = data;

	switch (mnl_attr_get_type(attr)) {
	case CTRL_ATTR_FAMILY_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) >= 0)
			nl->family = mnl_attr_get_u16(attr);
		break;
	case CTRL_ATTR_MCAST_GROUPS:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0)
			mnl_attr_parse_nested(attr, mcgrp_cb, nl);
		break;
	}
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr_cb, data);
	return MNL_CB_OK;
}

static int resolve_family(struct nl *nl)
{
	struct talk t = { .cb = family_cb, .data = nl };
	char buf[NL_SBUF_SIZE];
	struct nlmsghdr *nlh;
	int err;

	nlh = req_start(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, TAPS_GENL_NAME);
	err = talk(nl, nlh, &t);
	if (!err && !nl->family)
		err = ENOENT;
	if (err && err != ENOENT)
		print_error(t.msg, err);
	return err;
}

/* --- the socket --- */

static int enter_netns(const char *name)
{
	char path[4096];
	int fd;

	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		fprintf(stderr, "Error: invalid network namespace name \"%s\".\n", name);
		return -1;
	}
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "Error: cannot open network namespace \"%s\": %s.\n",
			name, strerror(errno));
		return -1;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "Error: cannot enter network namespace \"%s\": %s.\n",
			name, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int set_opt(struct nl *nl, int opt)
{
	int one = 1;

	return mnl_socket_setsockopt(nl->sock, opt, &one, sizeof(one));
}

static int open_socket(struct nl *nl)
{
	nl->rbuf = malloc(NL_RBUF_SIZE);
	if (!nl->rbuf) {
		fprintf(stderr, "Error: %s.\n", strerror(ENOMEM));
		return -1;
	}
	nl->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sock) {
		fprintf(stderr, "Error: cannot open a generic netlink socket: %s.\n",
			strerror(errno));
		return -1;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		fprintf(stderr, "Error: cannot bind the netlink socket: %s.\n",
			strerror(errno));
		return -1;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	/* Both are best effort: old kernels just give bare errors */
	set_opt(nl, NETLINK_EXT_ACK);
	set_opt(nl, NETLINK_CAP_ACK);
	return 0;
}

/*
 * Open the socket (in namespace @netns if not NULL) and find "taps".
 * Returns 0, -ENOENT when the family is not there (printed unless
 * @quiet_enoent) or -1 on other errors (printed).
 */
int nl_open(struct nl *nl, const char *netns, bool quiet_enoent)
{
	int err;

	if (netns && enter_netns(netns) < 0)
		return -1;
	if (open_socket(nl) < 0)
		return -1;
	err = resolve_family(nl);
	if (err == ENOENT) {
		if (!quiet_enoent)
			fprintf(stderr, "Error: taps.ko is not loaded (generic netlink family \"%s\" not found).\n",
				TAPS_GENL_NAME);
		return -ENOENT;
	}
	return err ? -1 : 0;
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
	free(nl->rbuf);
	nl->rbuf = NULL;
}

int nl_join_events(struct nl *nl)
{
	if (!nl->mcgrp) {
		fprintf(stderr, "Error: the \"%s\" family has no \"%s\" multicast group.\n",
			TAPS_GENL_NAME, TAPS_GENL_MCGRP_EVENTS);
		return -1;
	}
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &nl->mcgrp,
				  sizeof(nl->mcgrp)) < 0) {
		fprintf(stderr, "Error: cannot join the \"%s\" group: %s.\n",
			TAPS_GENL_MCGRP_EVENTS, strerror(errno));
		return -1;
	}
	return 0;
}

/* --- attributes --- */

struct parse {
	const struct nl_attr_spec	*spec;
	unsigned int			max;
	const struct nlattr		**tb;
};

static bool attr_ok(const struct nlattr *a, const struct nl_attr_spec *s)
{
	if (s->type == MNL_TYPE_BINARY)
		return !s->len || mnl_attr_get_payload_len(a) == s->len;
	return mnl_attr_validate(a, s->type) >= 0;
}

/* Unknown and malformed attributes are skipped, never an error */
static int parse_cb(const struct nlattr *a, void *data)
{
	const struct parse *p = data;
	unsigned int type = mnl_attr_get_type(a);

	if (type > p->max || p->spec[type].type == MNL_TYPE_UNSPEC)
		return MNL_CB_OK;
	if (attr_ok(a, &p->spec[type]))
		p->tb[type] = a;
	return MNL_CB_OK;
}

int nl_parse_msg(const struct nlmsghdr *nlh, const struct nl_attr_spec *spec,
		 unsigned int max, const struct nlattr **tb)
{
	struct parse p = { .spec = spec, .max = max, .tb = tb };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr))
		return -1;
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), parse_cb, &p) < 0 ? -1 : 0;
}

int nl_parse_nest(const struct nlattr *nest, const struct nl_attr_spec *spec,
		  unsigned int max, const struct nlattr **tb)
{
	struct parse p = { .spec = spec, .max = max, .tb = tb };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (!nest)
		return -1;
	return mnl_attr_parse_nested(nest, parse_cb, &p) < 0 ? -1 : 0;
}
