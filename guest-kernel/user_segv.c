/* guest-kernel/user_segv.c: touch the first byte past the heap, which no
 * area covers. The kernel must kill the task; surviving is a failure. */
#include "user.h"

struct u_outcome u_segv(const struct user_args *a)
{
	volatile uint64_t *p = (uint64_t *)(uintptr_t)(a->heap + a->size);

	*p = 1;
	return (struct u_outcome){0, false};
}
