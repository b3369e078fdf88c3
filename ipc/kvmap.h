/*
 * kvmap: an insertion-ordered map from NUL-free keys to length-counted values.
 * Used for baselines (expected maps), worker replies and diffs.
 * Keys are copied; values are copied and always NUL-terminated as well.
 */
#ifndef VTW_KVMAP_H
#define VTW_KVMAP_H

#include <stddef.h>
#include <stdint.h>

struct kv_entry {
	char	*key;
	size_t	 keylen;
	char	*val;		/* NULL only for entries added with kvmap_put_absent() */
	size_t	 vallen;
	uint64_t hash;
};

struct kvmap {
	struct kv_entry	*ents;
	size_t		 n, cap;
	uint32_t	*idx;	/* open addressing: index+1 into ents, 0 = empty */
	size_t		 idxcap;
	size_t		 bytes;	/* sum of key and value lengths, for budgets */
};

/* Returns a new empty map; must be freed with kvmap_free(). NULL on OOM. */
struct kvmap *kvmap_new(void);
void	 kvmap_free(struct kvmap *);
void	 kvmap_clear(struct kvmap *);
/* Insert or replace (the entry keeps its first position). 0 ok, -1 OOM. */
int	 kvmap_put(struct kvmap *, const char *key, size_t keylen,
	    const char *val, size_t vallen);
int	 kvmap_puts(struct kvmap *, const char *key, const char *val);
/* Remove a key; 1 if it was there. Order of the rest is kept. */
int	 kvmap_del(struct kvmap *, const char *key, size_t keylen);
/* Borrowed pointer, NULL when absent. */
const struct kv_entry *kvmap_get(const struct kvmap *, const char *key,
	    size_t keylen);
const struct kv_entry *kvmap_gets(const struct kvmap *, const char *key);
size_t	 kvmap_count(const struct kvmap *);
/* Sort entries by key, bytewise (Python code-point order for UTF-8). */
void	 kvmap_sort(struct kvmap *);
uint64_t kv_fnv1a64(const void *, size_t);

#endif
