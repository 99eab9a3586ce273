/* guest-kernel/user_churn.c: memory that comes and goes.
 *
 * Each of `passes` rounds writes a secret pattern into every heap page,
 * releases the whole heap (SYS_RELEASE: the kernel frees the frames, and
 * hands them to the VMM with VMM_HC_DISCARD when it offers that), then
 * touches the heap again: every byte must read zero, whatever frames come
 * back. A failure names the round and the number of non-zero bytes.
 */
#include "user.h"

/* Non-zero bytes in the page; 0 is the expected answer. */
static uint64_t u_nonzero_bytes(uint64_t page)
{
	const volatile uint64_t *p = (const uint64_t *)(uintptr_t)page;
	uint64_t i, w, n = 0;

	for (i = 0; i < U_PAGE_WORDS; i++)
		for (w = p[i]; w; w >>= 8)
			n += (w & 0xff) != 0;
	return n;
}

static void u_churn_report(uint64_t round, uint64_t bytes, uint64_t pages, uint64_t first)
{
	struct u_line l;

	l.len = 0;
	u_line_str(&l, "CHURN round=");
	u_line_dec(&l, round);
	u_line_str(&l, " nonzero_bytes=");
	u_line_dec(&l, bytes);
	u_line_str(&l, " pages=");
	u_line_dec(&l, pages);
	u_line_str(&l, " first=");
	u_line_hex(&l, first);
	u_line_send(&l);
}

struct u_outcome u_churn(const struct user_args *a)
{
	uint64_t n = a->size / U_PAGE, round, i, p, bytes, bad_bytes = 0, bad_pages, first;

	for (round = 0; round < a->passes; round++) {
		for (i = 0; i < n; i++) {
			p = a->heap + i * U_PAGE;
			u_page_fill(p, u_pattern(p, round, a->seed));
		}
		if (u_syscall(SYS_RELEASE, a->heap, a->size, 0) < 0)
			return (struct u_outcome){n, false};
		bad_pages = 0;
		first = 0;
		for (i = 0; i < n; i++) {
			bytes = u_nonzero_bytes(p = a->heap + i * U_PAGE);
			if (bytes && !bad_pages++)
				first = p;
			bad_bytes += bytes;
		}
		if (bad_pages) {
			u_churn_report(round, bad_bytes, bad_pages, first);
			return (struct u_outcome){n, false};
		}
	}
	return (struct u_outcome){n, true};
}
