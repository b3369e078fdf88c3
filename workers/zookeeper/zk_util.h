/*
 * Pure helpers of the zookeeper worker (unit-tested on their own):
 * znode paths of keys (interop §3.3), the hosts string, and parsing the
 * C client's log lines so they can be re-emitted as JSON log lines.
 */
#ifndef VTW_ZK_UTIL_H
#define VTW_ZK_UTIL_H

#include <stddef.h>

/*
 * The znode holding key under root ("" = the tree's root "/"):
 *   slash      "/db/host"  -> root + "/db/host"
 *   slash_dot  ".db.host"  -> root + "/db.host"
 * NULL when the key cannot name a znode (NUL byte, empty, no leading
 * separator): such a key is reported missing without a read. malloc'd.
 */
char	*zk_key_path(const char *root, int slash_dot, const char *key,
	    size_t keylen);
/* root + "/" + rel name, "/" + name for the tree root. malloc'd. */
char	*zk_child_path(const char *parent, const char *name);
/* The path to list/read for root: "/" when root is "". */
const char *zk_root_path(const char *root);
/* hosts joined with ',' (zookeeper_init's connect string). malloc'd. */
char	*zk_join_hosts(const char *const *hosts, size_t n);

enum zk_log_level { ZK_LOG_ERROR = 1, ZK_LOG_WARN, ZK_LOG_INFO, ZK_LOG_DEBUG };

/*
 * One line the C client printed:
 *   "2024-01-01 10:00:00,123:42(0x7f..):ZOO_ERROR@func@123: message"
 * Sets *level, *msg and *msglen (the message after "func@line: ").
 * A line in another shape is returned whole with level ZK_LOG_WARN.
 */
void	zk_log_parse(const char *line, size_t len, int *level,
	    const char **msg, size_t *msglen);

#endif
