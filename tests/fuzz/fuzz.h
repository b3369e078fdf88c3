/*
 * Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c): reading options
 * from the first bytes of an input, and a quiet log.
 */
#ifndef VTW_FUZZ_H
#define VTW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

/* What is left of an input. */
struct fz {
	const uint8_t	*p;
	size_t		 n;
};

/* The next byte (0 when none is left). */
static inline unsigned int
fz_byte(struct fz *f)
{
	if (f->n == 0)
		return 0;
	f->n--;
	return *f->p++;
}

/* A big-endian u16 (0 when the input is short). */
static inline unsigned int
fz_u16(struct fz *f)
{
	unsigned int hi = fz_byte(f);

	return hi << 8 | fz_byte(f);
}

/* An invariant of the code under test failed: a finding. */
#define FZ_ASSERT(c) do {						\
	if (!(c))							\
		abort();						\
} while (0)

#endif
