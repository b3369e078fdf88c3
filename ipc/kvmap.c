#include <stdlib.h>
#include <string.h>

#include "kvmap.h"

uint64_t
kv_fnv1a64(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

struct kvmap *
kvmap_new(void)
{
	return calloc(1, sizeof(struct kvmap));
}

void
kvmap_clear(struct kvmap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->ents[i].key);
		free(m->ents[i].val);
	}
	free(m->ents);
	free(m->idx);
	memset(m, 0, sizeof(*m));
}

void
kvmap_free(struct kvmap *m)
{
	kvmap_clear(m);
	free(m);
}

static int
kvmap_reindex(struct kvmap *m, size_t cap)
{
	uint32_t *idx;
	size_t i, j;

	if (cap == m->idxcap && m->idx != NULL) {
		idx = m->idx;	/* same size: rebuild in place, cannot fail */
		memset(idx, 0, cap * sizeof(*idx));
	} else if ((idx = calloc(cap, sizeof(*idx))) == NULL)
		return -1;
	for (i = 0; i < m->n; i++) {
		j = m->ents[i].hash & (cap - 1);
		while (idx[j] != 0)
			j = (j + 1) & (cap - 1);
		idx[j] = (uint32_t)(i + 1);
	}
	if (idx != m->idx)
		free(m->idx);
	m->idx = idx;
	m->idxcap = cap;
	return 0;
}

static size_t
kvmap_slot(const struct kvmap *m, const char *key, size_t keylen, uint64_t h,
    int *found)
{
	size_t j = h & (m->idxcap - 1);
	const struct kv_entry *e;

	*found = 0;
	while (m->idx[j] != 0) {
		e = &m->ents[m->idx[j] - 1];
		if (e->hash == h && e->keylen == keylen &&
		    memcmp(e->key, key, keylen) == 0) {
			*found = 1;
			return j;
		}
		j = (j + 1) & (m->idxcap - 1);
	}
	return j;
}

static char *
dupmem(const char *p, size_t len)
{
	char *s;

	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	if (len)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

int
kvmap_put(struct kvmap *m, const char *key, size_t keylen, const char *val,
    size_t vallen)
{
	uint64_t h = kv_fnv1a64(key, keylen);
	struct kv_entry *e;
	size_t j;
	int found;
	char *v;

	if (m->n >= UINT32_MAX - 1)
		return -1;
	if ((m->n + 1) * 2 > m->idxcap &&
	    kvmap_reindex(m, m->idxcap ? m->idxcap * 2 : 16) == -1)
		return -1;
	j = kvmap_slot(m, key, keylen, h, &found);
	if ((v = dupmem(val ? val : "", val ? vallen : 0)) == NULL)
		return -1;
	if (found) {
		e = &m->ents[m->idx[j] - 1];
		m->bytes -= e->vallen;
		free(e->val);
		e->val = v;
		e->vallen = val ? vallen : 0;
		m->bytes += e->vallen;
		return 0;
	}
	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 16;
		struct kv_entry *ne = realloc(m->ents, ncap * sizeof(*ne));

		if (ne == NULL) {
			free(v);
			return -1;
		}
		m->ents = ne;
		m->cap = ncap;
	}
	e = &m->ents[m->n];
	if ((e->key = dupmem(key, keylen)) == NULL) {
		free(v);
		return -1;
	}
	e->keylen = keylen;
	e->val = v;
	e->vallen = val ? vallen : 0;
	e->hash = h;
	m->idx[j] = (uint32_t)(m->n + 1);
	m->n++;
	m->bytes += keylen + e->vallen;
	return 0;
}

int
kvmap_puts(struct kvmap *m, const char *key, const char *val)
{
	return kvmap_put(m, key, strlen(key), val, strlen(val));
}

const struct kv_entry *
kvmap_get(const struct kvmap *m, const char *key, size_t keylen)
{
	size_t j;
	int found;

	if (m == NULL || m->n == 0)
		return NULL;
	j = kvmap_slot(m, key, keylen, kv_fnv1a64(key, keylen), &found);
	return found ? &m->ents[m->idx[j] - 1] : NULL;
}

const struct kv_entry *
kvmap_gets(const struct kvmap *m, const char *key)
{
	return kvmap_get(m, key, strlen(key));
}

int
kvmap_del(struct kvmap *m, const char *key, size_t keylen)
{
	const struct kv_entry *e = kvmap_get(m, key, keylen);
	size_t i;

	if (e == NULL)
		return 0;
	i = (size_t)(e - m->ents);
	m->bytes -= m->ents[i].keylen + m->ents[i].vallen;
	free(m->ents[i].key);
	free(m->ents[i].val);
	memmove(&m->ents[i], &m->ents[i + 1], (m->n - i - 1) * sizeof(*m->ents));
	m->n--;
	(void)kvmap_reindex(m, m->idxcap);	/* in place: cannot fail */
	return 1;
}

size_t
kvmap_count(const struct kvmap *m)
{
	return m ? m->n : 0;
}

static int
kv_cmp(const void *a, const void *b)
{
	const struct kv_entry *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return c;
	return (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

void
kvmap_sort(struct kvmap *m)
{
	if (m->n < 2)
		return;
	qsort(m->ents, m->n, sizeof(*m->ents), kv_cmp);
	(void)kvmap_reindex(m, m->idxcap);
}
