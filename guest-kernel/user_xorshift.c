/* guest-kernel/user_xorshift.c: the workloads' random generator, alone in
 * its file so that bench/refstring can replay the very same sequence on the
 * host (it includes this file). */
#include "user.h"

uint64_t u_xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}
