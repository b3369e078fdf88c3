/*
 * Python number rules the orchestrator's values go through: repr(float),
 * float(), int() with the 4300-digit cap, PyYAML's construct_yaml_int and
 * construct_yaml_float, and the YAML 1.1 implicit resolvers (PyYAML
 * Resolver regexes, matched by hand).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bl_internal.h"

/* ---- repr(float) -------------------------------------------------------- */

/* Split "%.*e" output into digits and a decimal exponent. */
static void
split_e(const char *s, char *dig, int *nd, int *exp10)
{
	int n = 0;

	for (; *s != '\0' && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9')
			dig[n++] = *s;
	*nd = n;
	*exp10 = *s == 'e' ? atoi(s + 1) : 0;
}

static double
digits_value(const char *dig, int nd, int exp10)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%c.%.*se%d", dig[0], nd - 1, dig + 1,
	    exp10);
	return strtod(buf, NULL);
}

size_t
py_float_repr(double x, char *buf, size_t len)
{
	char tmp[64], dig[32], up[32];
	double ax;
	int nd = 0, exp10 = 0, p, i, decpt, e, neg, pow2, found = 0, r;
	size_t o = 0;

	if (x == 0.0) {
		r = snprintf(buf, len, "%s", signbit(x) ? "-0.0" : "0.0");
		return r < 0 ? 0 : (size_t)r;
	}
	neg = x < 0;
	ax = fabs(x);
	pow2 = frexp(ax, &e) == 0.5;
	for (p = 1; p <= 17 && !found; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, ax);
		split_e(tmp, dig, &nd, &exp10);
		if (strtod(tmp, NULL) == ax) {
			found = 1;
			break;
		}
		/*
		 * At a power of two the gap below is half the gap above, so
		 * the next decimal up may round-trip when the nearest does
		 * not; David Gay's shortest mode (Python's repr) finds it.
		 */
		if (pow2 && strtod(tmp, NULL) < ax) {
			memcpy(up, dig, (size_t)nd);
			for (i = nd - 1; i >= 0 && up[i] == '9'; i--)
				up[i] = '0';
			if (i >= 0) {
				up[i]++;
				if (digits_value(up, nd, exp10) == ax) {
					memcpy(dig, up, (size_t)nd);
					found = 1;
				}
			} else {
				up[0] = '1';
				if (digits_value(up, nd, exp10 + 1) == ax) {
					memcpy(dig, up, (size_t)nd);
					exp10++;
					found = 1;
				}
			}
		}
	}
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	decpt = exp10 + 1;
	if (len < 32)
		return 0;
	if (neg)
		buf[o++] = '-';
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			buf[o++] = '0';
			buf[o++] = '.';
			for (i = 0; i < -decpt; i++)
				buf[o++] = '0';
			memcpy(buf + o, dig, (size_t)nd);
			o += (size_t)nd;
		} else if (decpt >= nd) {
			memcpy(buf + o, dig, (size_t)nd);
			o += (size_t)nd;
			for (i = nd; i < decpt; i++)
				buf[o++] = '0';
			buf[o++] = '.';
			buf[o++] = '0';
		} else {
			memcpy(buf + o, dig, (size_t)decpt);
			o += (size_t)decpt;
			buf[o++] = '.';
			memcpy(buf + o, dig + decpt, (size_t)(nd - decpt));
			o += (size_t)(nd - decpt);
		}
		buf[o] = '\0';
		return o;
	}
	buf[o++] = dig[0];
	if (nd > 1) {
		buf[o++] = '.';
		memcpy(buf + o, dig + 1, (size_t)(nd - 1));
		o += (size_t)(nd - 1);
	}
	r = snprintf(buf + o, len - o, "e%c%02d", decpt - 1 < 0 ? '-' : '+',
	    abs(decpt - 1));
	return o + (r < 0 ? 0 : (size_t)r);
}

/* ---- float() ------------------------------------------------------------ */

static int
ascii_space(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int
ieq(const char *s, size_t len, const char *w)
{
	size_t i;

	if (strlen(w) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (tolower((unsigned char)s[i]) != w[i])
			return 0;
	return 1;
}

int
py_float_parse(const char *s, size_t len, double *out)
{
	size_t i, nint = 0, nfrac = 0, nexp = 0;
	char *tmp;
	int neg = 0;

	while (len > 0 && ascii_space((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && ascii_space((unsigned char)s[len - 1]))
		len--;
	i = 0;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (ieq(s + i, len - i, "inf") || ieq(s + i, len - i, "infinity")) {
		*out = neg ? -HUGE_VAL : HUGE_VAL;
		return 0;
	}
	if (ieq(s + i, len - i, "nan")) {
		*out = NAN;
		return 0;
	}
	for (; i < len && isdigit((unsigned char)s[i]); i++)
		nint++;
	if (i < len && s[i] == '.')
		for (i++; i < len && isdigit((unsigned char)s[i]); i++)
			nfrac++;
	if (nint + nfrac == 0)
		return -1;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (; i < len && isdigit((unsigned char)s[i]); i++)
			nexp++;
		if (nexp == 0)
			return -1;
	}
	if (i != len)
		return -1;
	if ((tmp = malloc(len + 1)) == NULL)
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	*out = strtod(tmp, NULL);
	free(tmp);
	return 0;
}

/* ---- big integers (base 1e9 limbs, little-endian) ----------------------- */

#define BN_BASE	1000000000u

struct bn {
	uint32_t	*d;
	size_t		 n, cap;
};

static void
bn_free(struct bn *b)
{
	free(b->d);
	memset(b, 0, sizeof(*b));
}

static int
bn_reserve(struct bn *b, size_t n)
{
	uint32_t *nd;
	size_t cap;

	if (n <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 8;
	while (cap < n)
		cap *= 2;
	if ((nd = realloc(b->d, cap * sizeof(*nd))) == NULL)
		return -1;
	b->d = nd;
	b->cap = cap;
	return 0;
}

static int
bn_mul_add(struct bn *b, uint32_t m, uint32_t a)
{
	uint64_t carry = a, t;
	size_t i;

	for (i = 0; i < b->n; i++) {
		t = (uint64_t)b->d[i] * m + carry;
		b->d[i] = (uint32_t)(t % BN_BASE);
		carry = t / BN_BASE;
	}
	while (carry) {
		if (bn_reserve(b, b->n + 1) == -1)
			return -1;
		b->d[b->n++] = (uint32_t)(carry % BN_BASE);
		carry /= BN_BASE;
	}
	return 0;
}

static int
bn_add(struct bn *a, const struct bn *b)
{
	uint32_t carry = 0, t;
	size_t i;

	if (bn_reserve(a, (a->n > b->n ? a->n : b->n) + 1) == -1)
		return -1;
	while (a->n < b->n)
		a->d[a->n++] = 0;
	for (i = 0; i < a->n; i++) {
		t = a->d[i] + carry + (i < b->n ? b->d[i] : 0);
		carry = t >= BN_BASE;
		a->d[i] = carry ? t - BN_BASE : t;
		if (!carry && i >= b->n)
			break;
	}
	if (carry)
		a->d[a->n++] = 1;
	return 0;
}

static size_t
bn_digits(const struct bn *b)
{
	uint32_t top;
	size_t d = 1;

	if (b->n == 0)
		return 1;
	for (top = b->d[b->n - 1]; top >= 10; top /= 10)
		d++;
	return d + 9 * (b->n - 1);
}

static const char *
bn_text(struct bl_ctx *ctx, const struct bn *b, int neg, size_t *len)
{
	size_t nd = bn_digits(b), o = 0, i;
	char *s;
	int r;

	if (b->n == 0)
		neg = 0;
	if ((s = bl_alloc(&ctx->ar, nd + 2)) == NULL) {
		bl_seterr_oom(ctx);
		return NULL;
	}
	if (neg)
		s[o++] = '-';
	r = snprintf(s + o, nd + 2 - o, "%u", b->n ? b->d[b->n - 1] : 0u);
	o += (size_t)r;
	for (i = b->n > 1 ? b->n - 1 : 0; i-- > 0;) {
		snprintf(s + o, 10, "%09u", b->d[i]);
		o += 9;
	}
	s[o] = '\0';
	*len = o;
	return s;
}

enum { PI_OK = 0, PI_INVALID = -1, PI_DIGITS = -2, PI_HUGE = -3,
    PI_OOM = -4 };

static int
digit_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* Python int(s, base) for base 2, 8, 10 or 16 (underscores already gone). */
static int
py_int(struct bl_ctx *ctx, const char *s, size_t len, int base, struct bn *out,
    int *neg)
{
	size_t i, nd, sig, k, start;
	uint32_t limb;
	double dec;
	int pc;

	*neg = 0;
	while (len > 0 && ascii_space((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && ascii_space((unsigned char)s[len - 1]))
		len--;
	if (len > 0 && (*s == '+' || *s == '-')) {
		*neg = *s == '-';
		s++;
		len--;
	}
	pc = base == 16 ? 'x' : base == 8 ? 'o' : base == 2 ? 'b' : 0;
	if (pc && len >= 2 && s[0] == '0' &&
	    tolower((unsigned char)s[1]) == pc) {
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return PI_INVALID;
	for (i = 0; i < len; i++)
		if (digit_val((unsigned char)s[i]) >= base)
			return PI_INVALID;
	if (base == 10 && len > BL_PY_INT_MAX_DIGITS)
		return PI_DIGITS;
	for (start = 0; start < len && s[start] == '0'; start++)
		;
	sig = len - start;
	if (sig == 0)
		return PI_OK;
	if (base == 10) {
		if (bn_reserve(out, sig / 9 + 1) == -1)
			return PI_OOM;
		for (i = len; i > start;) {
			k = i - start > 9 ? 9 : i - start;
			limb = 0;
			for (nd = i - k; nd < i; nd++)
				limb = limb * 10 + (uint32_t)(s[nd] - '0');
			out->d[out->n++] = limb;
			i -= k;
		}
		return PI_OK;
	}
	dec = (double)sig * log10((double)base);
	if (dec > BL_PY_INT_MAX_DIGITS + 2)
		return PI_HUGE;
	for (i = start; i < len; i++) {
		ctx->bignum_work += out->n + 1;
		if (ctx->bignum_work > BL_BIGNUM_WORK_MAX)
			return PI_HUGE;
		if (bn_mul_add(out, (uint32_t)base,
		    (uint32_t)digit_val((unsigned char)s[i])) == -1)
			return PI_OOM;
	}
	return PI_OK;
}

static void
quote_err(struct bl_ctx *ctx, size_t line, size_t col, const char *what,
    const char *s, size_t len)
{
	bl_seterr(ctx, line, col, "%s: '%.*s'%s", what,
	    (int)(len > 80 ? 80 : len), s, len > 80 ? "..." : "");
}

/* Copy without '_' (and lowercased if lower), malloc'd. */
static char *
unscore(const char *s, size_t len, int lower, size_t *olen)
{
	char *t;
	size_t i, o = 0;

	if ((t = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		if (s[i] != '_')
			t[o++] = lower ? (char)tolower((unsigned char)s[i]) :
			    s[i];
	t[o] = '\0';
	*olen = o;
	return t;
}

int
py_yaml_int(struct bl_ctx *ctx, const char *s, size_t len, const char **out,
    size_t *olen, int *bad, size_t line, size_t col)
{
	struct bn acc = { 0 }, part = { 0 };
	const char *p, *colon;
	char *t = NULL;
	size_t n, plen;
	int neg = 0, ineg = 0, r = PI_OK, rc = -1;

	*bad = 0;
	*out = NULL;
	if ((t = unscore(s, len, 0, &n)) == NULL)
		goto oom;
	p = t;
	if (n == 0)
		goto invalid;
	if (*p == '-')
		neg = 1;
	if (*p == '+' || *p == '-') {
		p++;
		n--;
	}
	if (n == 1 && *p == '0') {
		*out = "0";
		*olen = 1;
		rc = 0;
		goto cleanup;
	} else if (n >= 2 && p[0] == '0' && p[1] == 'b')
		r = py_int(ctx, p + 2, n - 2, 2, &acc, &ineg);
	else if (n >= 2 && p[0] == '0' && p[1] == 'x')
		r = py_int(ctx, p + 2, n - 2, 16, &acc, &ineg);
	else if (n >= 1 && p[0] == '0')
		r = py_int(ctx, p, n, 8, &acc, &ineg);
	else if (n == 0)
		goto invalid;
	else if (memchr(p, ':', n) != NULL) {
		/* sexagesimal: Horner over the ':' parts */
		for (;;) {
			colon = memchr(p, ':', n);
			plen = colon ? (size_t)(colon - p) : n;
			memset(&part, 0, sizeof(part));
			r = py_int(ctx, p, plen, 10, &part, &ineg);
			if (r == PI_OK && ineg)
				r = PI_INVALID;	/* not modelled */
			if (r == PI_OK) {
				ctx->bignum_work += acc.n + 1;
				if (ctx->bignum_work > BL_BIGNUM_WORK_MAX)
					r = PI_HUGE;
			}
			if (r == PI_OK && (bn_mul_add(&acc, 60, 0) == -1 ||
			    bn_add(&acc, &part) == -1))
				r = PI_OOM;
			bn_free(&part);
			if (r != PI_OK || colon == NULL)
				break;
			n -= plen + 1;
			p = colon + 1;
		}
		ineg = 0;
	} else
		r = py_int(ctx, p, n, 10, &acc, &ineg);
	switch (r) {
	case PI_OK:
		break;
	case PI_INVALID:
		goto invalid;
	case PI_DIGITS:
		bl_seterr(ctx, line, col, "integer literal with more than %d "
		    "digits (Python refuses to convert it)",
		    BL_PY_INT_MAX_DIGITS);
		goto cleanup;
	case PI_HUGE:
		*bad = 1;
		rc = 0;
		goto cleanup;
	default:
		goto oom;
	}
	if (bn_digits(&acc) > BL_PY_INT_MAX_DIGITS) {
		*bad = 1;
		rc = 0;
		goto cleanup;
	}
	if ((*out = bn_text(ctx, &acc, neg ^ ineg, olen)) == NULL)
		goto cleanup;
	rc = 0;
	goto cleanup;
invalid:
	quote_err(ctx, line, col, "invalid literal for int()", s, len);
	goto cleanup;
oom:
	bl_seterr_oom(ctx);
cleanup:
	bn_free(&acc);
	bn_free(&part);
	free(t);
	return rc;
}

int
py_yaml_float(struct bl_ctx *ctx, const char *s, size_t len, double *out,
    size_t line, size_t col)
{
	const char *p, *colon;
	double v, d, base;
	char *t;
	size_t n, plen, parts = 0;
	int neg = 0, rc = -1;

	if ((t = unscore(s, len, 1, &n)) == NULL) {
		bl_seterr_oom(ctx);
		return -1;
	}
	p = t;
	if (n == 0)
		goto invalid;
	if (*p == '-')
		neg = 1;
	if (*p == '+' || *p == '-') {
		p++;
		n--;
	}
	if (n == 4 && memcmp(p, ".inf", 4) == 0)
		v = HUGE_VAL;
	else if (n == 4 && memcmp(p, ".nan", 4) == 0) {
		*out = NAN;
		rc = 0;
		goto cleanup;
	} else if (memchr(p, ':', n) != NULL) {
		/* parts reversed, value += part * base, base *= 60 */
		v = 0.0;
		base = 1.0;
		for (colon = p + n; ; ) {
			const char *q = colon;

			while (q > p && q[-1] != ':')
				q--;
			plen = (size_t)(colon - q);
			if (py_float_parse(q, plen, &d) == -1 || ++parts > 170)
				goto invalid;
			v += d * base;
			base *= 60;
			if (q == p)
				break;
			colon = q - 1;
		}
	} else if (py_float_parse(p, n, &v) == -1)
		goto invalid;
	*out = neg ? -v : v;
	rc = 0;
	goto cleanup;
invalid:
	quote_err(ctx, line, col, "could not convert string to float", s, len);
cleanup:
	free(t);
	return rc;
}

/* ---- YAML 1.1 implicit resolvers ---------------------------------------- */

static int
isd(int c)
{
	return c >= '0' && c <= '9';
}

int
yaml11_is_null(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '~') ||
	    (n == 4 && (memcmp(s, "null", 4) == 0 ||
	    memcmp(s, "Null", 4) == 0 || memcmp(s, "NULL", 4) == 0));
}

int
yaml11_is_bool(const char *s, size_t n, int *val)
{
	static const char *const t[] = { "yes", "Yes", "YES", "true", "True",
	    "TRUE", "on", "On", "ON" };
	static const char *const f[] = { "no", "No", "NO", "false", "False",
	    "FALSE", "off", "Off", "OFF" };
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strlen(t[i]) == n && memcmp(s, t[i], n) == 0) {
			*val = 1;
			return 1;
		}
		if (strlen(f[i]) == n && memcmp(s, f[i], n) == 0) {
			*val = 0;
			return 1;
		}
	}
	return 0;
}

/* (?::[0-5]?[0-9])+ starting at s[*i]; returns the number of groups. */
static int
sexa_groups(const char *s, size_t n, size_t *i)
{
	int g = 0;

	while (*i < n && s[*i] == ':') {
		size_t j = *i + 1;

		if (j + 1 < n && s[j] >= '0' && s[j] <= '5' && isd(s[j + 1]))
			j += 2;
		else if (j < n && isd(s[j]))
			j += 1;
		else
			break;
		*i = j;
		g++;
	}
	return g;
}

static int
all_in(const char *s, size_t n, const char *set)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (strchr(set, s[i]) == NULL || s[i] == '\0')
			return 0;
	return 1;
}

int
yaml11_is_int(const char *s, size_t n)
{
	size_t i = 0, j;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	s += i;
	n -= i;
	if (n == 0)
		return 0;
	if (n >= 3 && s[0] == '0' && s[1] == 'b' && all_in(s + 2, n - 2, "01_"))
		return 1;
	if (n >= 2 && s[0] == '0' && all_in(s + 1, n - 1, "01234567_"))
		return 1;
	if (n == 1 && s[0] == '0')
		return 1;
	if (n >= 3 && s[0] == '0' && s[1] == 'x' &&
	    all_in(s + 2, n - 2, "0123456789abcdefABCDEF_"))
		return 1;
	if (s[0] < '1' || s[0] > '9')
		return 0;
	for (j = 1; j < n && (isd(s[j]) || s[j] == '_'); j++)
		;
	if (j == n)
		return 1;
	return sexa_groups(s, n, &j) > 0 && j == n;
}

/* [eE][-+][0-9]+ at s[*i] (optional); 0 when malformed. */
static int
opt_exp(const char *s, size_t n, size_t *i)
{
	size_t j = *i;

	if (j == n)
		return 1;
	if (s[j] != 'e' && s[j] != 'E')
		return 0;
	j++;
	if (j == n || (s[j] != '-' && s[j] != '+'))
		return 0;
	j++;
	if (j == n || !isd(s[j]))
		return 0;
	while (j < n && isd(s[j]))
		j++;
	*i = j;
	return 1;
}

int
yaml11_is_float(const char *s, size_t n)
{
	size_t i = 0, j;
	int signed_ = 0;

	if (n == 4 && s[0] == '.' && (memcmp(s + 1, "nan", 3) == 0 ||
	    memcmp(s + 1, "NaN", 3) == 0 || memcmp(s + 1, "NAN", 3) == 0))
		return 1;
	if (i < n && (s[i] == '+' || s[i] == '-')) {
		i++;
		signed_ = 1;
	}
	if (n - i == 4 && s[i] == '.' && (memcmp(s + i + 1, "inf", 3) == 0 ||
	    memcmp(s + i + 1, "Inf", 3) == 0 ||
	    memcmp(s + i + 1, "INF", 3) == 0))
		return 1;
	if (i < n && s[i] == '.') {
		/* \.[0-9][0-9_]*(?:[eE][-+][0-9]+)? -- no sign allowed */
		if (signed_ || i + 1 >= n || !isd(s[i + 1]))
			return 0;
		for (j = i + 2; j < n && (isd(s[j]) || s[j] == '_'); j++)
			;
		return opt_exp(s, n, &j) && j == n;
	}
	if (i >= n || !isd(s[i]))
		return 0;
	for (j = i + 1; j < n && (isd(s[j]) || s[j] == '_'); j++)
		;
	if (j < n && s[j] == '.') {
		for (j++; j < n && (isd(s[j]) || s[j] == '_'); j++)
			;
		return opt_exp(s, n, &j) && j == n;
	}
	if (j < n && s[j] == ':') {
		if (sexa_groups(s, n, &j) == 0 || j >= n || s[j] != '.')
			return 0;
		for (j++; j < n && (isd(s[j]) || s[j] == '_'); j++)
			;
		return j == n;
	}
	return 0;
}

/* n digits at s[*i] (exactly) */
static int
digits_n(const char *s, size_t len, size_t *i, int n)
{
	int k;

	for (k = 0; k < n; k++)
		if (*i + (size_t)k >= len || !isd(s[*i + (size_t)k]))
			return 0;
	*i += (size_t)n;
	return 1;
}

/* [0-9][0-9]? */
static int
digits_12(const char *s, size_t len, size_t *i, int *two)
{
	if (*i >= len || !isd(s[*i]))
		return 0;
	(*i)++;
	*two = 0;
	if (*i < len && isd(s[*i])) {
		(*i)++;
		*two = 1;
	}
	return 1;
}

int
yaml11_is_timestamp(const char *s, size_t n)
{
	size_t i = 0;
	int m2, d2, t;

	if (!digits_n(s, n, &i, 4) || i >= n || s[i++] != '-')
		return 0;
	if (!digits_12(s, n, &i, &m2) || i >= n || s[i++] != '-')
		return 0;
	if (!digits_12(s, n, &i, &d2))
		return 0;
	if (i == n)
		return m2 && d2;
	if (s[i] == 'T' || s[i] == 't')
		i++;
	else if (s[i] == ' ' || s[i] == '\t') {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
	} else
		return 0;
	if (!digits_12(s, n, &i, &t) || i >= n || s[i++] != ':')
		return 0;
	if (!digits_n(s, n, &i, 2) || i >= n || s[i++] != ':')
		return 0;
	if (!digits_n(s, n, &i, 2))
		return 0;
	if (i < n && s[i] == '.')
		for (i++; i < n && isd(s[i]); i++)
			;
	if (i == n)
		return 1;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && s[i] == 'Z')
		return i + 1 == n;
	if (i >= n || (s[i] != '-' && s[i] != '+'))
		return 0;
	i++;
	if (!digits_12(s, n, &i, &t))
		return 0;
	if (i < n && s[i] == ':') {
		i++;
		if (!digits_n(s, n, &i, 2))
			return 0;
	}
	return i == n;
}

/* ---- timestamps: PyYAML construct_yaml_timestamp, then str() ------------- */

static int
num_at(const char *s, size_t n, size_t *i, int min, int max, int *out)
{
	int k = 0, v = 0;

	while (*i < n && isd(s[*i]) && k < max) {
		v = v * 10 + (s[*i] - '0');
		(*i)++;
		k++;
	}
	if (k < min)
		return 0;
	*out = v;
	return 1;
}

static int
days_in(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	    31 };

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return d[m - 1];
}

int
py_yaml_timestamp(struct bl_ctx *ctx, const char *s, size_t n,
    const char **out, size_t *olen, size_t line, size_t col)
{
	char buf[64], *t;
	size_t i = 0, fstart = 0, flen = 0, k;
	int y, mo, d, h, mi, se, us = 0, tzh = 0, tzm = 0, tz = 0, neg = 0, r;

	if (!num_at(s, n, &i, 4, 4, &y) || i >= n || s[i++] != '-' ||
	    !num_at(s, n, &i, 1, 2, &mo) || i >= n || s[i++] != '-' ||
	    !num_at(s, n, &i, 1, 2, &d))
		goto nomatch;
	if (i == n) {
		if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo))
			goto range;
		r = snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, mo, d);
		goto done;
	}
	if (s[i] == 'T' || s[i] == 't')
		i++;
	else if (s[i] == ' ' || s[i] == '\t') {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
	} else
		goto nomatch;
	if (!num_at(s, n, &i, 1, 2, &h) || i >= n || s[i++] != ':' ||
	    !num_at(s, n, &i, 2, 2, &mi) || i >= n || s[i++] != ':' ||
	    !num_at(s, n, &i, 2, 2, &se))
		goto nomatch;
	if (i < n && s[i] == '.') {
		fstart = ++i;
		while (i < n && isd(s[i]))
			i++;
		flen = i - fstart;
	}
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && s[i] == 'Z') {
		tz = 1;
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		tz = 2;
		neg = s[i++] == '-';
		if (!num_at(s, n, &i, 1, 2, &tzh))
			goto nomatch;
		if (i < n && s[i] == ':') {
			i++;
			if (!num_at(s, n, &i, 2, 2, &tzm))
				goto nomatch;
		}
	}
	if (i != n)
		goto nomatch;
	for (k = 0; k < 6; k++)
		us = us * 10 + (k < flen ? s[fstart + k] - '0' : 0);
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) ||
	    h > 23 || mi > 59 || se > 59 || tzh * 60 + tzm >= 24 * 60)
		goto range;
	r = snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d", y, mo,
	    d, h, mi, se);
	if (us)
		r += snprintf(buf + r, sizeof(buf) - (size_t)r, ".%06d", us);
	if (tz == 1)
		r += snprintf(buf + r, sizeof(buf) - (size_t)r, "+00:00");
	else if (tz == 2)
		r += snprintf(buf + r, sizeof(buf) - (size_t)r, "%c%02d:%02d",
		    neg && (tzh || tzm) ? '-' : '+', tzh + tzm / 60,
		    tzm % 60);
done:
	if ((t = bl_strndup(&ctx->ar, buf, (size_t)r)) == NULL) {
		bl_seterr_oom(ctx);
		return -1;
	}
	*out = t;
	*olen = (size_t)r;
	return 0;
nomatch:
	quote_err(ctx, line, col, "not a timestamp", s, n);
	return -1;
range:
	quote_err(ctx, line, col, "date/time value out of range", s, n);
	return -1;
}
