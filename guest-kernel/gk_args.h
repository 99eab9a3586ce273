/* guest-kernel/gk_args.h: the boot arguments that choose and size a workload.
 *
 *   workload=NAME     what init (the first process) runs          (touch)
 *     touch   write every stride-th heap page, then read them back passes times
 *     random  random pages, first access writes, later ones check; a sweep
 *     hotset  random, 90% of accesses in the first hot% of pages
 *     phases  the heap in windows, each written, reread, released
 *     verify  passes rounds of writing every page and reading it back, with
 *             a pattern of its fork identity (SYS_FORKID; a fork is
 *             announced with `FORK generation=G index=I`, docs/guest-kernel.md)
 *     segv    a write past the heap: the process must be killed (SEGV line)
 *     churn   passes rounds: write a pattern into every heap page, release
 *             the whole heap (SYS_RELEASE; frames go back to the VMM with
 *             VMM_HC_DISCARD when offered), check every byte reads zero
 *     oob     map the guest-physical page just past the end of RAM
 *             read-only and read it: under vmm an MMIO exit, so the VMM
 *             stops (exit 3) naming the GPA; a read that returns is a failure
 *     forktree  passes rounds: the heap written, then a tree of processes
 *             forked (depth levels, fanout children each), each writing
 *             write% of its heap pages and checking it sees its own writes,
 *             its ancestors' and nobody else's, and that its COW faults
 *             are the pages it wrote
 *     mmapfile  maps the files of the boot archive that its file "manifest"
 *             lists, checks their checksums, and that a private mapping
 *             written by a child is unchanged for its parent
 *     shm     a shared anonymous mapping: procs children read the parent's
 *             data from it and write theirs back; a private one stays private
 *     stack   recursion that grows the stack by stack bytes and checks it,
 *             then a child that recurses past stack_max: it alone is killed
 *     oom     procs children allocate more than the guest has; the OOM
 *             killer kills one (the last, with oom_adj 1000), the others
 *             finish and verify
 *     tlb     stale translations: after munmap, mprotect, brk, a COW break
 *             and a PCID's reuse, no process may reach what it no longer maps
 *     cost    what each kind of first-level fault costs, from user mode:
 *             a `COST op=... p50_cycles=...` line per kind, passes samples
 *     triple  the kernel triple-faults on purpose
 *   size=N[K|M|G]     heap bytes, rounded up to pages          (2M)
 *   seed=N            pattern and pseudo-random seed           (1)
 *   passes=N          passes / rounds, workload-specific        (verify 3, touch 1, else 2)
 *   stride=N          touch: one page in every N, N >= 1         (1)
 *   progress=N        print `PASS workload=W pass=P` after every N-th
 *                     pass, 0 never (0): for tools that must see a long
 *                     run go on (bench/snapshot); forktree also prints
 *                     `FORKTREE node=1 round=R` in the middle of each round
 *   hot=PERCENT       hotset: share of pages in the hot set    (10)
 *   wset=N[K|M|G]     verify: the first pass writes the whole heap, later
 *                     ones its first N bytes only (all): a guest that has
 *                     touched much memory and then writes little (fork's
 *                     memory-per-child test)
 *   depth=N fanout=N  forktree: levels below the root, children each (3, 2)
 *   write=PERCENT     forktree: share of the heap each child writes (25)
 *   procs=N           shm, oom: child processes (3)
 *   stack=N[K|M]      stack: bytes of recursion before the overflow (256K)
 *   stack_max=N[K|M|G]  how far any stack may grow (8M, at most 1G)
 *   fault_around=N    pages mapped per anonymous fault, 1..512 (16)
 *   fault_around_max=N  a fault on the page right after the last window
 *                     doubles the window, up to N, 1..512 (512; raised to
 *                     fault_around if below it; N = fault_around: fixed)
 *   pcid=0|1          give address spaces PCIDs where the CPU has them (1)
 *   sched=auto|timer|trap  preempt with the LAPIC timer (where there is
 *                     one, auto) or at system calls and faults (auto)
 *   quantum_us=N      a process's time slice (10000)
 *   tlb_skip=0|1      skip every TLB invalidation: a broken kernel on
 *                     purpose, which the tlb workload must catch (0)
 *
 * Numbers are decimal or 0x hex. Unknown keys are ignored (a loader may
 * add its own); a bad value is an error.
 */
#ifndef GK_ARGS_H
#define GK_ARGS_H

#include <stdint.h>
#include "gk_console.h"
#include "gk_sched.h"
#include "uapi.h"

#define ARGS_FAULT_AROUND_MAX 512

struct gk_bootargs {
	enum workload workload;
	enum gk_sched_mode sched;
	uint64_t size, seed, passes, hot, stride, progress, wset;
	uint64_t depth, fanout, write, procs, stack, stack_max;
	uint64_t fault_around, fault_around_max;
	uint64_t pcid, quantum_us, tlb_skip;
};

/* Returns 0, or -EINVAL after printing which argument is wrong on c. */
int gk_bootargs_parse(struct gk_bootargs *a, const char *cmdline, struct gk_console *c);
const char *gk_bootargs_workload_name(enum workload w);
/* The workload called by the len bytes at name, or -1. */
int gk_bootargs_workload_by_name(const char *name, uint64_t len);

#endif
