/* Shared by the IPC codec tests (test_msg.c, test_msg_kinds.c). */
#ifndef VTW_TEST_MSG_H
#define VTW_TEST_MSG_H

#include <stddef.h>

/* Decode seeds mutations of seed (random bytes, flipped bits, truncation,
 * insertions); decode must return 0 or -1, and not crash. */
void	tm_fuzz(const void *seed, size_t seedlen, unsigned int seeds,
	    int (*decode)(const void *, size_t));

#endif
