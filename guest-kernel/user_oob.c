/* guest-kernel/user_oob.c: read guest-physical memory that is not RAM.
 *
 * The kernel maps the page just past the end of RAM at a->oob. Under vmm
 * the read is an MMIO exit and the VMM stops the guest (exit 3), naming
 * the GPA, so this task never gets past it. Where a read returns (QEMU
 * gives junk), say what was read and fail.
 */
#include "user.h"

struct u_outcome u_oob(const struct user_args *a)
{
	struct u_line l;
	uint64_t v;

	l.len = 0;
	u_line_str(&l, "OOB gpa=");
	u_line_hex(&l, a->oob_gpa);
	u_line_str(&l, " addr=");
	u_line_hex(&l, a->oob);
	u_line_send(&l);
	v = *(const volatile uint64_t *)(uintptr_t)a->oob;
	u_line_str(&l, "OOB read gpa=");
	u_line_hex(&l, a->oob_gpa);
	u_line_str(&l, " value=");
	u_line_hex(&l, v);
	u_line_str(&l, " error=\"a read past the end of RAM returned\"");
	u_line_send(&l);
	return (struct u_outcome){1, false};
}
