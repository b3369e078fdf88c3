/*
 * Parsers for the files the varTrack orchestrator renders on a Linux server
 * (interop §3.8), as pure functions: bytes in, a key -> value map out.
 *
 *   env         "# vartrack managed — env=… tenant=…", a blank line, then
 *               key=value (split at the first '='); a value wrapped in "…"
 *               is unwrapped with no escape processing, and a quoted value
 *               may span lines (until a line ending in '"')
 *   ini         the same header, then "key = value" (split at the first
 *               " = ", else at the first '=' with blanks around it dropped)
 *   properties  the same header, then key=value
 *   yaml        libyaml; nested mappings flattened with '.', sequences with
 *               .N index segments (as the orchestrator's flattener does),
 *               scalars as their text
 *   json        jansson; objects flattened with '.', arrays with .N, strings
 *               as they are, other scalars as their JSON text
 *
 * Lines starting with '#' and blank lines are skipped in the line formats
 * (ini also skips ';' comments and [section] lines). The input is bytes
 * with an explicit length: NUL bytes and invalid UTF-8 are kept as they
 * are in the line formats. Duplicate keys: the last one wins (the entry
 * keeps its first position). Empty mappings and sequences yield no key.
 */
#ifndef VTW_LINUX_PARSE_H
#define VTW_LINUX_PARSE_H

#include <stddef.h>

#include "kvmap.h"

enum lp_format { LP_ENV, LP_INI, LP_PROPERTIES, LP_YAML, LP_JSON };

/* Flattened output is bounded: more bytes (keys + values) than
 * max(LP_MIN_BUDGET, 8 x the input), more nesting than LP_MAX_DEPTH or
 * more than LP_MAX_KEYS distinct keys is LP_TOO_BIG (YAML aliases can expand a
 * small file enormously). */
#define LP_MAX_DEPTH		256
#define LP_MAX_KEYS		1000000u	/* as the Git baseline's */
#define LP_MIN_BUDGET		(64u * 1024 * 1024)

enum lp_status {
	LP_OK = 0,
	LP_SYNTAX = -1,		/* not parseable as that format (err set) */
	LP_TOO_BIG = -2,	/* output over the budget or too deep (err) */
	LP_NOMEM = -3
};

/*
 * Parse len bytes of buf as fmt into out (which the caller created; entries
 * are added). *marker is set to 1 when the file starts with the
 * orchestrator's "# vartrack managed" header line. On LP_SYNTAX and
 * LP_TOO_BIG, err holds a short reason (never a value) and out may hold a
 * part of the entries.
 */
enum lp_status lp_parse(enum lp_format fmt, const char *buf, size_t len,
	    struct kvmap *out, int *marker, char *err, size_t errlen);

/* The format of an ipc layout name: "env", "ini", ... ; -1 if unknown. */
int	lp_format_from_name(const char *);
const char *lp_format_name(enum lp_format);

#endif
