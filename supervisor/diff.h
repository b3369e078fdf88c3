/*
 * diff: key-by-key comparison of a rule's expected map (the Git baseline)
 * with what a datasource worker read, and the JSON fragment for the drift
 * log line. Pure: no I/O, no globals.
 *
 * Classification of each key (values compare bytewise, binary-safe):
 *   changed  expected key present in actual with a different value;
 *   missing  expected key absent from actual (or present there with
 *            val == NULL, i.e. marked absent);
 *   extra    key in actual or in extra but not expected (a worker that
 *            reports its whole scope may put everything in actual);
 *   unknown  expected key with a per-key read error (in errors), unless
 *            actual has a value for it: neither drift nor OK.
 * Keys of extra that are expected are ignored (actual is the authority for
 * expected keys). A key in both actual and extra is taken from actual.
 *
 * Truncated values: a worker sends at most IPC_MAX_VALUE_BYTES of a value;
 * for a longer one it sends a prefix as the value, plus a struct diff_trunc
 * with the full length and the SHA-256 digest (vtw_digest) of the full
 * value. The git worker does the same for long Git values (exp_trunc).
 * Two values, either of which may be truncated, are equal iff their
 * common prefix agrees and
 *   neither truncated: the bytes are equal;
 *   one truncated:     the other's length is its full_len and the other's
 *                      SHA-256 is its digest;
 *   both truncated:    full lengths and digests are equal.
 * Markers may also name extra keys (only their full length is used, for
 * display). Markers for keys in neither map are ignored.
 *
 * Cost: O(n) hash lookups over the inputs plus sorting the differing keys;
 * 100 000 keys take milliseconds.
 */
#ifndef VTW_DIFF_H
#define VTW_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "kvmap.h"
#include "log.h"	/* struct jbuf */

#define DIFF_LOG_VALUE_MAX	256	/* bytes of a value shown in a log line */
#define DIFF_LOG_KEY_MAX	512	/* bytes of a key shown in a log line */

/* Truncation marker for one actual (or extra) value. */
struct diff_trunc {
	const char	*key;
	size_t		 keylen;
	uint64_t	 full_len;	/* length of the whole value */
	unsigned char	 digest[VTW_DIGEST_LEN]; /* SHA-256 of the whole value */
};

struct diff_input {
	const struct kvmap	*expected;	/* required: the Git baseline */
	const struct kvmap	*actual;	/* required: keys read, present */
	const struct kvmap	*extra;		/* may be NULL */
	const struct kvmap	*errors;	/* may be NULL: key -> message */
	const struct diff_trunc	*trunc;		/* may be NULL: actual, extra */
	size_t			 ntrunc;
	const struct diff_trunc	*exp_trunc;	/* may be NULL: expected */
	size_t			 nexp_trunc;
	/* may be NULL: key -> note; an expected key with a note and a value
	 * in actual is changed whatever its value (the worker saw another
	 * difference: a type, a target), the note shown with it */
	const struct kvmap	*notes;
};

enum diff_kind {
	DIFF_CHANGED = 0,
	DIFF_MISSING,
	DIFF_EXTRA,
	DIFF_UNKNOWN,
};

/*
 * One differing key. All pointers are BORROWED from the input maps (and
 * trunc markers' lengths are copied): a diff_result must not outlive the
 * kvmaps it was computed from.
 */
struct diff_entry {
	enum diff_kind	 kind;
	const char	*key;
	size_t		 keylen;
	const char	*expected;	/* NULL for extra */
	size_t		 expected_len;
	uint64_t	 expected_full_len; /* > expected_len when truncated */
	const char	*actual;	/* NULL for missing and unknown; for
					 * unknown, see error */
	size_t		 actual_len;	/* bytes at actual */
	uint64_t	 actual_full_len; /* > actual_len when truncated */
	const unsigned char *actual_digest; /* SHA-256 when truncated, else
					 * NULL (borrowed from the marker) */
	const char	*error;		/* unknown: the read error message */
	size_t		 error_len;
	const char	*note;		/* changed: the worker's note, or NULL */
	size_t		 note_len;
};

/* Each array sorted bytewise by key (shorter key first on a tie). */
struct diff_result {
	struct diff_entry	*changed;
	size_t			 nchanged;
	struct diff_entry	*missing;
	size_t			 nmissing;
	struct diff_entry	*extra;
	size_t			 nextra;
	struct diff_entry	*unknown;
	size_t			 nunknown;
	size_t			 nequal;	/* expected keys that matched */
};

/*
 * Computes the diff. On success returns 0 and *out, which must be freed with
 * diff_free(). -1 with errno EINVAL (expected or actual NULL) or ENOMEM;
 * *out is then NULL.
 */
int	diff_compute(struct diff_result **out, const struct diff_input *in);
void	diff_free(struct diff_result *);
/* Are two values equal? et, at: their truncation markers, or NULL for a
 * whole value (see the rule above). */
int	diff_value_eq(const char *e, size_t elen, const struct diff_trunc *et,
	    const char *a, size_t alen, const struct diff_trunc *at);
/* changed + missing + extra (what counts as drift; unknown does not). */
size_t	diff_ndrifted(const struct diff_result *);

/* How diff_format_log redacts; NULL means the built-in word rule only. */
struct diff_redact {
	const char *const	*sensitive_keys;	/* see redact.h rule 4 */
	size_t			 nsensitive;
	/* every value is secret but those of keys show_values names (globs
	 * as in rule 4); sensitive_keys and the word rules still win */
	int			 redact_values;
	const char *const	*show_values;
	size_t			 nshow_values;
};

/*
 * Appends the drift log fields to out:
 *   ,"changed":C,"missing":M,"extra":E[,"unknown":U],"keys":[
 *     {"key":"k","change":"changed","expected":"50","actual":"5"[,"note":"n"]},
 *     {"key":"k","change":"missing","expected":"v"},
 *     {"key":"k","change":"extra","actual":"v"},
 *     {"key":"k","change":"unknown","expected":"v","error":"msg"} ...]
 *   [,"keys_truncated":N]
 * "unknown" appears only when U > 0. Keys are listed changed first, then
 * missing, extra, unknown, each sorted by key, at most max_keys in all; N is
 * the number left out. Values show at most DIFF_LOG_VALUE_MAX bytes, then
 * "…(L bytes)" with the full length L (also for worker-truncated values);
 * control characters are escaped, invalid UTF-8 shown as \\xNN. Values of
 * keys that redact_key_is_secret() calls secret are "<redacted>".
 * Returns 0, or -1 when out ran out of memory.
 */
int	diff_format_log(const struct diff_result *, const struct diff_redact *,
	    struct jbuf *out, size_t max_keys);

#endif
