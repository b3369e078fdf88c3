#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "kvmap.h"

Test(kvmap, put_get_replace_keeps_order)
{
	struct kvmap *m = kvmap_new();

	cr_assert_not_null(m);
	cr_assert_eq(kvmap_puts(m, "b", "1"), 0);
	cr_assert_eq(kvmap_puts(m, "a", "2"), 0);
	cr_assert_eq(kvmap_puts(m, "b", "3"), 0);
	cr_assert_eq(kvmap_count(m), 2);
	cr_assert_str_eq(m->ents[0].key, "b");
	cr_assert_str_eq(kvmap_gets(m, "b")->val, "3");
	cr_assert_null(kvmap_gets(m, "c"));
	kvmap_free(m);
}

Test(kvmap, many_keys_delete_and_sort)
{
	struct kvmap *m = kvmap_new();
	char k[32];
	int i;

	for (i = 0; i < 5000; i++) {
		snprintf(k, sizeof(k), "key%05d", 4999 - i);
		cr_assert_eq(kvmap_puts(m, k, k), 0);
	}
	cr_assert_eq(kvmap_del(m, "key00010", 8), 1);
	cr_assert_eq(kvmap_del(m, "key00010", 8), 0);
	kvmap_sort(m);
	cr_assert_str_eq(m->ents[0].key, "key00000");
	cr_assert_str_eq(m->ents[10].key, "key00011");
	cr_assert_str_eq(kvmap_gets(m, "key04999")->val, "key04999");
	cr_assert_eq(kvmap_count(m), 4999);
	kvmap_free(m);
}

Test(kvmap, binary_values)
{
	struct kvmap *m = kvmap_new();

	cr_assert_eq(kvmap_put(m, "k", 1, "a\0b", 3), 0);
	cr_assert_eq(kvmap_get(m, "k", 1)->vallen, 3);
	cr_assert_eq(memcmp(kvmap_get(m, "k", 1)->val, "a\0b", 3), 0);
	kvmap_free(m);
}
