#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "shrec.h"

static uint64_t
to_wall(uint64_t mono, const struct shrec_clock *c)
{
	return mono > c->mono_ms ? c->wall_ms + (mono - c->mono_ms) : 0;
}

static uint64_t
to_mono(uint64_t wall, const struct shrec_clock *c)
{
	uint64_t ahead;

	if (wall <= c->wall_ms)
		return 0;
	ahead = wall - c->wall_ms;
	if (ahead > SHREC_MAX_AHEAD_MS)
		ahead = SHREC_MAX_AHEAD_MS;
	return c->mono_ms + ahead;
}

char *
shrec_heal_encode(const struct heal_state *h, const struct shrec_clock *c)
{
	json_t *o;
	char sig[17], *s;

	snprintf(sig, sizeof(sig), "%016llx", (unsigned long long)h->sig);
	o = json_pack("{s:b, s:b, s:I, s:I, s:s, s:I, s:I, s:I, s:b}",
	    "in_event", h->in_event, "verifying", h->verifying,
	    "attempts", (json_int_t)h->attempts,
	    "next_at", (json_int_t)to_wall(h->next_ms, c),
	    "sig", sig,
	    "ineffective", (json_int_t)h->ineffective,
	    "holdoffs", (json_int_t)h->holdoffs,
	    "holdoff_until", (json_int_t)to_wall(h->holdoff_until, c),
	    "flapping", h->flapping);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

/* an integer in [0, max] */
static int
get_uint(json_t *o, const char *name, uint64_t max, uint64_t *out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max) {
		snprintf(err, errlen, "heal.%s: expected an integer from 0 "
		    "to %llu", name, (unsigned long long)max);
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
get_bool(json_t *o, const char *name, int *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "heal.%s: expected true or false", name);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int
shrec_heal_decode(const char *s, size_t len, struct heal_state *out,
    const struct shrec_clock *c, char *err, size_t errlen)
{
	struct heal_state h;
	json_error_t je;
	json_t *o, *sv;
	uint64_t attempts, next_at, ineff, holdoffs, until;
	const char *sig;
	char *end;
	int rc = -1;

	if (len > SHREC_MAX_JSON) {
		snprintf(err, errlen, "heal: %zu bytes, more than a record "
		    "of ours (%d)", len, SHREC_MAX_JSON);
		return -1;
	}
	if ((o = json_loadb(s, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		snprintf(err, errlen, "heal: not JSON (col %d: %s)", je.column,
		    je.text);
		return -1;
	}
	heal_state_init(&h);
	if (!json_is_object(o)) {
		snprintf(err, errlen, "heal: expected an object");
		goto done;
	}
	if (get_bool(o, "in_event", &h.in_event, err, errlen) == -1 ||
	    get_bool(o, "verifying", &h.verifying, err, errlen) == -1 ||
	    get_bool(o, "flapping", &h.flapping, err, errlen) == -1 ||
	    get_uint(o, "attempts", 1000000, &attempts, err, errlen) == -1 ||
	    get_uint(o, "ineffective", 1000000, &ineff, err, errlen) == -1 ||
	    get_uint(o, "holdoffs", 1000000, &holdoffs, err, errlen) == -1 ||
	    get_uint(o, "next_at", INT64_MAX, &next_at, err, errlen) == -1 ||
	    get_uint(o, "holdoff_until", INT64_MAX, &until, err, errlen) == -1)
		goto done;
	sv = json_object_get(o, "sig");
	if (!json_is_string(sv) || strlen(sig = json_string_value(sv)) != 16 ||
	    strspn(sig, "0123456789abcdef") != 16) {
		snprintf(err, errlen, "heal.sig: expected 16 hex digits");
		goto done;
	}
	h.sig = strtoull(sig, &end, 16);
	h.attempts = (unsigned int)attempts;
	h.ineffective = (unsigned int)ineff;
	h.holdoffs = (unsigned int)holdoffs;
	h.next_ms = to_mono(next_at, c);
	h.holdoff_until = to_mono(until, c);
	*out = h;
	rc = 0;
done:
	json_decref(o);
	return rc;
}

static const char *const result_names[] = { "", "ok", "drift", "unknown" };

const char *
shrec_result_name(enum shrec_result r)
{
	return (unsigned)r < 4 ? result_names[r] : "";
}

enum shrec_result
shrec_result_parse(const char *s, size_t len)
{
	unsigned int i;

	for (i = 1; i < 4; i++)
		if (strlen(result_names[i]) == len &&
		    memcmp(s, result_names[i], len) == 0)
			return (enum shrec_result)i;
	return SHREC_NONE;
}
