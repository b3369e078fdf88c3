/*
 * Logging: one JSON object per line on stderr:
 *   {"ts":"2026-11-26T17:00:00.123Z","level":"info","proc":"supervisor","msg":"...",<fields>}
 * log_warn() appends strerror(errno) as field "error"; log_warnx() does not.
 * fatal()/fatalx() are for our own setup failures, OOM and broken invariants,
 * never for anything a remote system or a worker can cause.
 */
#ifndef VTW_LOG_H
#define VTW_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Growable buffer used to build JSON fragments. */
struct jbuf {
	char	*p;
	size_t	 len, cap;
	int	 oom;
};

void	jbuf_init(struct jbuf *);
void	jbuf_free(struct jbuf *);
void	jbuf_raw(struct jbuf *, const char *, size_t);
void	jbuf_cat(struct jbuf *, const char *);
void	jbuf_printf(struct jbuf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Appends a quoted JSON string; control characters escaped, invalid UTF-8
 * bytes shown as \\xNN; at most maxlen input bytes, then "…(N bytes)". */
void	jbuf_str(struct jbuf *, const char *, size_t len, size_t maxlen);
/* ,"key":"value" */
void	jbuf_field(struct jbuf *, const char *key, const char *val);
void	jbuf_field_int(struct jbuf *, const char *key, long long val);

/* Length of the valid UTF-8 sequence at s (at most len bytes), 0 when
 * invalid (overlong, surrogate, out of range, truncated). */
size_t	utf8_seq(const unsigned char *s, size_t len);

void	log_init(const char *proc, int level);
void	log_procinit(const char *proc);
void	log_setlevel(int);
int	log_getlevel(void);
/* "debug|info|warn|warning|error" case-insensitively; -1 when unknown. */
int	log_level_parse(const char *);

/* msg plus a pre-built fragment of fields (",\"k\":v,..." or NULL). */
void	log_fields(int level, const char *fields, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
