/*
 * Unit tests of workers/zookeeper/zk_util.c: where the orchestrator's zookeeper sink
 * puts a key (interop §3.3), and the C client's log lines.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "zk_util.h"

static void
path_is(const char *root, int dot, const char *key, const char *want)
{
	char *p = zk_key_path(root, dot, key, strlen(key));

	cr_assert_not_null(p, "%s %s", root, key);
	cr_expect_str_eq(p, want);
	free(p);
}

Test(zk, slash_paths_nest)
{
	path_is("/acme/production", 0, "/db/host", "/acme/production/db/host");
	path_is("/acme/production", 0, "/max_connections",
	    "/acme/production/max_connections");
	/* root "" is the tree's root */
	path_is("", 0, "/db/host", "/db/host");
}

Test(zk, slash_dot_paths_are_flat)
{
	path_is("/acme/production", 1, ".db.host", "/acme/production/db.host");
	path_is("", 1, ".db.host", "/db.host");
	/* a key of dots keeps all but the first */
	path_is("/r", 1, "..x", "/r/.x");
}

Test(zk, keys_that_name_no_znode)
{
	cr_expect_null(zk_key_path("/r", 0, "", 0));
	cr_expect_null(zk_key_path("/r", 0, "/", 1));
	cr_expect_null(zk_key_path("/r", 0, "db", 2));	/* no leading / */
	cr_expect_null(zk_key_path("/r", 1, ".", 1));
	cr_expect_null(zk_key_path("/r", 0, "/a\0b", 4));	/* NUL */
	cr_expect_null(zk_key_path("/r", 1, ".a\0b", 4));
}

Test(zk, child_and_root_paths)
{
	char *p;

	cr_expect_str_eq(zk_root_path(""), "/");
	cr_expect_str_eq(zk_root_path("/a"), "/a");
	p = zk_child_path("/", "__vartrack__");
	cr_expect_str_eq(p, "/__vartrack__");
	free(p);
	p = zk_child_path("/a/b", "__vartrack__");
	cr_expect_str_eq(p, "/a/b/__vartrack__");
	free(p);
}

Test(zk, hosts_joined)
{
	const char *h[] = { "zk1:2181", "zk2:2181", "[::1]:2181" };
	char *s = zk_join_hosts(h, 3);

	cr_expect_str_eq(s, "zk1:2181,zk2:2181,[::1]:2181");
	free(s);
	s = zk_join_hosts(h, 1);
	cr_expect_str_eq(s, "zk1:2181");
	free(s);
}

Test(zk, client_log_lines)
{
	const char *l = "2026-11-26 19:50:01,034:2060(0x7f318695d6c0):ZOO_ERROR@"
	    "check_events@2985: Socket 127.0.0.1:32953 zk retcode=-4, "
	    "errno=111(Connection refused): server refused to accept the "
	    "client\n";
	const char *msg;
	size_t len;
	int lvl;

	zk_log_parse(l, strlen(l), &lvl, &msg, &len);
	cr_expect_eq(lvl, ZK_LOG_ERROR);
	cr_expect_eq(len, strlen("Socket 127.0.0.1:32953 zk retcode=-4, "
	    "errno=111(Connection refused): server refused to accept the "
	    "client"));
	cr_expect(strncmp(msg, "Socket 127.0.0.1:32953", 22) == 0);

	l = "2026-11-26 19:50:01,034:1(0x1):ZOO_INFO@zookeeper_init_internal@"
	    "1205: Initiating client connection, host=h:1";
	zk_log_parse(l, strlen(l), &lvl, &msg, &len);
	cr_expect_eq(lvl, ZK_LOG_INFO);
	cr_expect(strncmp(msg, "Initiating", 10) == 0);

	/* another shape: whole line, as a warning */
	l = "something else\n";
	zk_log_parse(l, strlen(l), &lvl, &msg, &len);
	cr_expect_eq(lvl, ZK_LOG_WARN);
	cr_expect_eq(len, strlen("something else"));
	/* a level tag without the rest */
	l = "x):ZOO_WARN@f";
	zk_log_parse(l, strlen(l), &lvl, &msg, &len);
	cr_expect_eq(lvl, ZK_LOG_WARN);
	cr_expect_eq(len, strlen(l));
}
