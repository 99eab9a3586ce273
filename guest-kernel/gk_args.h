/* guest-kernel/gk_args.h: the boot arguments that choose and size a workload.
 *
 *   workload=touch|random|hotset|phases|verify|segv|churn|oob|triple  (touch)
 *     touch   write every stride-th heap page, then read them back passes times
 *     random  random pages, first access writes, later ones check; a sweep
 *     hotset  random, 90% of accesses in the first hot% of pages
 *     phases  the heap in windows, each written, reread, released
 *     verify  passes rounds of writing every page and reading it back, with
 *             a pattern of its fork identity (SYS_FORKID; a fork is
 *             announced with `FORK generation=G index=I`, docs/guest-kernel.md)
 *     segv    a write past the heap: the task must be killed (SEGV line)
 *     churn   passes rounds: write a pattern into every heap page, release
 *             the whole heap (SYS_RELEASE; frames go back to the VMM with
 *             VMM_HC_DISCARD when offered), check every byte reads zero
 *     oob     map the guest-physical page just past the end of RAM
 *             read-only and read it: under vmm an MMIO exit, so the VMM
 *             stops (exit 3) naming the GPA; a read that returns is a failure
 *     triple  the kernel triple-faults on purpose
 *   size=N[K|M|G]     heap bytes, rounded up to pages          (2M)
 *   seed=N            pattern and pseudo-random seed           (1)
 *   passes=N          passes / rounds, workload-specific        (verify 3, touch 1, else 2)
 *   stride=N          touch: one page in every N, N >= 1         (1)
 *   progress=N        verify: print `PASS workload=verify pass=P` after every
 *                     N-th pass, 0 never (0); for tools that must see a
 *                     long run go on (bench/snapshot)
 *   hot=PERCENT       hotset: share of pages in the hot set    (10)
 *   wset=N[K|M|G]     verify: the first pass writes the whole heap, later
 *                     ones its first N bytes only (all): a guest that has
 *                     touched much memory and then writes little (fork's
 *                     memory-per-child test)
 *   fault_around=N    pages mapped per demand-zero fault, 1..512 (16)
 *   fault_around_max=N  a fault on the page right after the last window
 *                     doubles the window, up to N, 1..512 (512; raised to
 *                     fault_around if below it; N = fault_around: fixed)
 *
 * Numbers are decimal or 0x hex. Unknown keys are ignored (a loader may
 * add its own); a bad value is an error.
 */
#ifndef GK_ARGS_H
#define GK_ARGS_H

#include <stdint.h>
#include "gk_console.h"
#include "uapi.h"

#define ARGS_FAULT_AROUND_MAX 512

struct gk_bootargs {
	enum workload workload;
	uint64_t size, seed, passes, hot, stride, progress, wset;
	unsigned fault_around, fault_around_max;
};

/* Returns 0, or -EINVAL after printing which argument is wrong on c. */
int gk_bootargs_parse(struct gk_bootargs *a, const char *cmdline, struct gk_console *c);
const char *gk_bootargs_workload_name(enum workload w);

#endif
