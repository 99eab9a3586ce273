/* guest-kernel/syscall.h: `int $0x80` from a task (numbers in uapi.h).
 *
 * Pointers from the task are checked against its areas before use; the
 * kernel then reads them through the task's own mapping, taking ordinary
 * demand faults if the pages are not there yet.
 */
#ifndef GK_SYSCALL_H
#define GK_SYSCALL_H

#include "trap.h"

void syscall_handle(struct kernel *k, struct trap_frame *tf);

#endif
