/* guest-kernel/gk_syscall.h: `int $0x80` from a process (numbers in uapi.h).
 *
 * Pointers from the process are checked against its areas before use; the
 * kernel then reads them through the process's own mapping, taking
 * ordinary demand faults if the pages are not there yet.
 */
#ifndef GK_SYSCALL_H
#define GK_SYSCALL_H

#include "gk_trap.h"

void gk_syscall_handle(struct gk_kernel *k, struct gk_trap_frame *tf);

#endif
