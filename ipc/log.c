#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static char	log_proc[32] = "vartrack-watcher";
static int	log_lvl = LOG_LVL_INFO;
static const char *const lvl_names[] = { "error", "warn", "info", "debug" };

void
jbuf_init(struct jbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void
jbuf_free(struct jbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int
jbuf_grow(struct jbuf *b, size_t need)
{
	size_t ncap;
	char *np;

	if (b->oom)
		return -1;
	if (b->len + need + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < b->len + need + 1)
		ncap *= 2;
	if ((np = realloc(b->p, ncap)) == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = np;
	b->cap = ncap;
	return 0;
}

void
jbuf_raw(struct jbuf *b, const char *s, size_t len)
{
	if (jbuf_grow(b, len) == -1)
		return;
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void
jbuf_cat(struct jbuf *b, const char *s)
{
	jbuf_raw(b, s, strlen(s));
}

void
jbuf_printf(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	char tmp[512];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		jbuf_raw(b, tmp, (size_t)n);
		return;
	}
	if (jbuf_grow(b, (size_t)n) == -1)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

size_t
utf8_seq(const unsigned char *s, size_t len)
{
	size_t n, i;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) { n = 2; cp = s[0] & 0x1f; }
	else if ((s[0] & 0xf0) == 0xe0) { n = 3; cp = s[0] & 0x0f; }
	else if ((s[0] & 0xf8) == 0xf0) { n = 4; cp = s[0] & 0x07; }
	else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void
jbuf_str(struct jbuf *b, const char *str, size_t len, size_t maxlen)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, lim = len < maxlen ? len : maxlen, n;
	char esc[8];

	jbuf_raw(b, "\"", 1);
	while (i < lim) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			jbuf_raw(b, esc, 2);
			i++;
		} else if (c == '\n') {
			jbuf_raw(b, "\\n", 2);
			i++;
		} else if (c == '\t') {
			jbuf_raw(b, "\\t", 2);
			i++;
		} else if (c == '\r') {
			jbuf_raw(b, "\\r", 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			jbuf_raw(b, esc, 6);
			i++;
		} else if ((n = utf8_seq(s + i, lim - i)) == 0) {
			snprintf(esc, sizeof(esc), "\\\\x%02x", c);
			jbuf_raw(b, esc, 5);
			i++;
		} else {
			jbuf_raw(b, (const char *)s + i, n);
			i += n;
		}
	}
	if (lim < len)
		jbuf_printf(b, "\u2026(%zu bytes)", len);
	jbuf_raw(b, "\"", 1);
}

void
jbuf_field(struct jbuf *b, const char *key, const char *val)
{
	jbuf_raw(b, ",", 1);
	jbuf_str(b, key, strlen(key), (size_t)-1);
	jbuf_raw(b, ":", 1);
	if (val == NULL)
		jbuf_cat(b, "null");
	else
		jbuf_str(b, val, strlen(val), 4096);
}

void
jbuf_field_int(struct jbuf *b, const char *key, long long val)
{
	jbuf_raw(b, ",", 1);
	jbuf_str(b, key, strlen(key), (size_t)-1);
	jbuf_printf(b, ":%lld", val);
}

void
log_init(const char *proc, int level)
{
	log_procinit(proc);
	log_lvl = level;
}

void
log_procinit(const char *proc)
{
	snprintf(log_proc, sizeof(log_proc), "%s", proc);
}

void
log_setlevel(int level)
{
	log_lvl = level;
}

int
log_getlevel(void)
{
	return log_lvl;
}

int
log_level_parse(const char *s)
{
	if (strcasecmp(s, "debug") == 0)
		return LOG_LVL_DEBUG;
	if (strcasecmp(s, "info") == 0)
		return LOG_LVL_INFO;
	if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0)
		return LOG_LVL_WARN;
	if (strcasecmp(s, "error") == 0)
		return LOG_LVL_ERROR;
	return -1;
}

static void
vlog(int level, const char *fields, const char *err, const char *fmt,
    va_list ap)
{
	struct jbuf b;
	struct timespec ts;
	struct tm tm;
	char msg[2048], tbuf[64];
	int n;

	if (level > log_lvl)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		msg[0] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	jbuf_init(&b);
	jbuf_printf(&b, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"proc\":",
	    tbuf, ts.tv_nsec / 1000000, lvl_names[level]);
	jbuf_str(&b, log_proc, strlen(log_proc), sizeof(log_proc));
	jbuf_cat(&b, ",\"msg\":");
	jbuf_str(&b, msg, strlen(msg), sizeof(msg));
	if (err != NULL)
		jbuf_field(&b, "error", err);
	if (fields != NULL)
		jbuf_cat(&b, fields);
	jbuf_cat(&b, "}\n");
	if (!b.oom) {
		/* one write(2) per line so lines of several processes do not mix */
		ssize_t off = 0, w;

		while ((size_t)off < b.len) {
			w = write(STDERR_FILENO, b.p + off, b.len - (size_t)off);
			if (w == -1 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += w;
		}
	}
	jbuf_free(&b);
}

void
log_fields(int level, const char *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fields, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, NULL, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

#define LOGFN(name, lvl)				\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	vlog(lvl, NULL, NULL, fmt, ap);			\
	va_end(ap);					\
}
LOGFN(log_warnx, LOG_LVL_WARN)
LOGFN(log_info, LOG_LVL_INFO)
LOGFN(log_debug, LOG_LVL_DEBUG)
LOGFN(log_errorx, LOG_LVL_ERROR)

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, NULL, strerror(saved), fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, NULL, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
