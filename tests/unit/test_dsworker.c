/*
 * The runtime's datasource table (workers/runtime/dsworker.c): add,
 * replace, refuse, clear, and a poll request's reassembly.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsworker.h"

struct fake {
	char	*settings;
	int	 generation;
};

static int nopen, nclose, generation;

static int
fake_open(const struct ipc_conf_datasource *c, void **priv, char *err,
    size_t errlen)
{
	struct fake *f;

	if (c->settings.len == 0) {
		snprintf(err, errlen, "datasource %s: no settings", c->name);
		return -1;
	}
	f = calloc(1, sizeof(*f));
	cr_assert_not_null(f);
	f->settings = strndup(c->settings.p, c->settings.len);
	f->generation = ++generation;
	nopen++;
	*priv = f;
	return 0;
}

static void
fake_close(void *priv)
{
	struct fake *f = priv;

	free(f->settings);
	free(f);
	nclose++;
}

static int
fake_poll(void *priv, struct ds_poll *p, struct ds_reply *rb, char *err,
    size_t errlen)
{
	return 0;
}

static const struct dsw_kind fake_kind = {
	.name = "fake",
	.type = "fake_kind",
	.open = fake_open,
	.close = fake_close,
	.poll = fake_poll,
};

static void
conf(struct ipc_conf_datasource *c, const char *name, const char *type,
    const char *settings)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->type = type;
	c->connect_timeout_ms = 100;
	c->command_timeout_ms = 200;
	c->settings.p = settings;
	c->settings.len = strlen(settings);
}

Test(ds_table, add_replace_refuse_clear)
{
	struct ds_table t;
	struct ipc_conf_datasource c;
	struct ds_entry *e;
	char err[256], name[16];
	int i;

	nopen = nclose = generation = 0;
	ds_table_init(&t, &fake_kind);
	conf(&c, "a", "fake_kind", "one");
	cr_assert_eq(ds_table_conf(&t, &c, err, sizeof(err)), 0, "%s", err);
	conf(&c, "b", "fake_kind", "two");
	cr_assert_eq(ds_table_conf(&t, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.n, 2);
	e = ds_table_find(&t, "a");
	cr_assert_not_null(e);
	cr_assert_str_eq(((struct fake *)e->priv)->settings, "one");
	cr_assert_eq(e->connect_timeout_ms, 100);
	cr_assert_eq(e->command_timeout_ms, 200);
	cr_assert_null(ds_table_find(&t, "c"));

	/* the same name again: replaced, the old state closed */
	conf(&c, "a", "fake_kind", "three");
	c.command_timeout_ms = 300;
	cr_assert_eq(ds_table_conf(&t, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.n, 2);
	cr_assert_eq(nclose, 1);
	e = ds_table_find(&t, "a");
	cr_assert_str_eq(((struct fake *)e->priv)->settings, "three");
	cr_assert_eq(e->command_timeout_ms, 300);

	/* refused by open(): the former settings stay */
	conf(&c, "a", "fake_kind", "");
	cr_assert_eq(ds_table_conf(&t, &c, err, sizeof(err)), -1);
	cr_assert(strstr(err, "no settings") != NULL, "%s", err);
	cr_assert_str_eq(((struct fake *)ds_table_find(&t, "a")->priv)->settings,
	    "three");

	/* another kind's datasource */
	conf(&c, "x", "redis", "s");
	cr_assert_eq(ds_table_conf(&t, &c, err, sizeof(err)), -1);
	cr_assert(strstr(err, "redis") != NULL, "%s", err);
	cr_assert_null(ds_table_find(&t, "x"));

	/* full */
	for (i = 2; i < DS_MAX_DATASOURCES; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		conf(&c, name, "fake_kind", "s");
		cr_assert_eq(ds_table_conf(&t, &c, err, sizeof(err)), 0);
	}
	conf(&c, "one-too-many", "fake_kind", "s");
	cr_assert_eq(ds_table_conf(&t, &c, err, sizeof(err)), -1);
	/* replacing stays possible when full */
	conf(&c, "b", "fake_kind", "four");
	cr_assert_eq(ds_table_conf(&t, &c, err, sizeof(err)), 0, "%s", err);

	ds_table_clear(&t);
	cr_assert_eq(t.n, 0);
	cr_assert_eq(nopen, nclose);
}

Test(ds_poll, chunks_reassembled_with_the_scope)
{
	struct ds_poll p;
	struct ipc_msg m;
	struct ipc_bytes k1[2], k2[1];

	memset(&p, 0, sizeof(p));
	memset(&m, 0, sizeof(m));
	m.type = IPC_POLL_REQUEST;
	m.u.poll_request.rule_id = 5;
	m.u.poll_request.datasource = "a";
	m.u.poll_request.target = "t";
	m.u.poll_request.marker = "t:__vartrack__";
	m.u.poll_request.detect_extra = 1;
	m.u.poll_request.scope.p = "\x08\x01";
	m.u.poll_request.scope.len = 2;
	k1[0].p = "x";
	k1[0].len = 1;
	k1[1].p = "y\0z";
	k1[1].len = 3;
	m.u.poll_request.keys = k1;
	m.u.poll_request.nkeys = 2;
	cr_assert_eq(ds_poll_collect(&p, &m), 0);
	k2[0].p = "w";
	k2[0].len = 1;
	m.u.poll_request.keys = k2;
	m.u.poll_request.nkeys = 1;
	m.u.poll_request.scope.len = 0;	/* later chunks do not change it */
	m.u.poll_request.last = 1;
	cr_assert_eq(ds_poll_collect(&p, &m), 1);
	cr_assert_eq(p.rule_id, 5);
	cr_assert_str_eq(p.datasource, "a");
	cr_assert_str_eq(p.marker, "t:__vartrack__");
	cr_assert_eq(p.detect_extra, 1);
	cr_assert_eq(p.scope.len, 2);
	cr_assert_eq(memcmp(p.scope.p, "\x08\x01", 2), 0);
	cr_assert_eq(p.nkeys, 3);
	cr_assert_eq(p.keylens[1], 3);
	cr_assert_eq(memcmp(p.keys[1], "y\0z", 4), 0);
	cr_assert_str_eq(p.keys[2], "w");
	ds_poll_reset(&p);
	m.type = IPC_POLL_REPLY;
	cr_assert_eq(ds_poll_collect(&p, &m), -1);
}
