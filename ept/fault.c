/* ept/fault.c: the second-level fault handler (the fault thread).
 *
 * Reads userfaultfd events for the view, classifies each fault by the
 * table entry the way the seed's handler does (never mapped: zero-fill;
 * shared and written: copy-on-write; swap or snapshot entry: load), fills
 * a window of neighbouring pages in one ioctl, and counts the fault.
 *
 * Fault-around adapts, as readahead does: a fault right after the last
 * window doubles the window (streaming), and a 2 MiB block that already
 * holds many resident pages gets a window of a quarter of them (dense).
 * A scattered fault maps one page, so sparse guests waste no frames.
 */
#include "vmem_priv.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FAULT_BATCH 16

static uint64_t fault_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static unsigned fault_pow2_floor(unsigned x)
{
	return x ? 1u << (31 - __builtin_clz(x)) : 1;
}

/* The window [*lo, *hi) of view pages to fill for a fault at idx. */
static void fault_window(struct vmem *v, uint64_t idx, uint64_t *lo, uint64_t *hi)
{
	bool streaming = idx >= v->seq_next && idx < v->seq_next + v->seq_window;
	unsigned dense = fault_pow2_floor(v->block_present[idx >> VMEM_BLOCK_SHIFT] / 4);
	unsigned w;

	v->seq_window = streaming ? v->seq_window * 2 : 1;
	if (v->seq_window > v->max_window)
		v->seq_window = v->max_window;
	w = v->seq_window > dense ? v->seq_window : dense;
	if (w > v->max_window)
		w = fault_pow2_floor(v->max_window);
	if (streaming) {
		*lo = idx;
		*hi = idx + w;
	} else {
		*lo = idx & ~(uint64_t)(w - 1);
		*hi = *lo + w;
	}
	if (*hi > v->pages)
		*hi = v->pages;
}

/* Charge and record pages outward from idx while they are absent and the
 * budget allows; shrinks [*lo, *hi) to what was recorded. */
static int fault_populate(struct vmem *v, uint64_t idx, uint64_t *lo, uint64_t *hi)
{
	uint64_t i;
	int ret = vmem_page_populated(v, idx);

	if (ret)
		return ret;
	for (i = idx + 1; i < *hi && !vmem_page_present(v, i); i++)
		if (vmem_page_populated(v, i))
			break;
	*hi = i;
	for (i = idx; i > *lo && !vmem_page_present(v, i - 1); i--)
		if (vmem_page_populated(v, i - 1))
			break;
	*lo = i;
	return 0;
}

/* Fill [lo, hi) of the view without waking the vCPU. A page that exists
 * already (-EEXIST) is skipped and the rest filled; -EAGAIN (the mm is
 * changing) is retried. */
static int fault_fill(struct vmem *v, uint64_t lo, uint64_t hi)
{
	uint64_t addr = (uintptr_t)v->view + (lo << EPT_PAGE_SHIFT);
	uint64_t end = (uintptr_t)v->view + (hi << EPT_PAGE_SHIFT), done;
	int ret = 0, retries = 0;

	while (addr < end) {
		if (v->use_zeropage)
			ret = uffd_zeropage(&v->uffd, addr, end - addr, true, &done);
		else
			ret = uffd_copy(&v->uffd, addr, v->zeros, end - addr, true, &done);
		if (!ret)
			return 0;
		if (ret == -EEXIST)
			addr += done + EPT_PAGE_SIZE;
		else if (ret == -EAGAIN && ++retries < 1000)
			addr += done;
		else
			return ret;
	}
	return 0;
}

static void fault_fatal(struct vmem *v, const char *fmt, uint64_t gpa, int err)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, (unsigned long)gpa, strerror(-err));
	v->fatal = true;
	if (v->on_fatal)
		v->on_fatal(v->arg, msg);
}

/* The faulting vCPU wakes only after the clock is read: woken on this
 * CPU, it would otherwise run before us and its run would count as ours. */
static void fault_zero_fill(struct vmem *v, uint64_t idx, uint64_t gpa, uint64_t t0)
{
	struct vmem_class_stats *cs = &v->stats.cls[FAULT_ZERO];
	uint64_t lo, hi;
	int ret;

	fault_window(v, idx, &lo, &hi);
	ret = fault_populate(v, idx, &lo, &hi);
	if (ret) {
		fault_fatal(v, ret == -ENOMEM ?
			"host memory budget exhausted: no frame for GPA %#lx (%s); raise --host-mem" :
			"cannot record a frame for GPA %#lx: %s", gpa, ret);
		return;
	}
	v->seq_next = hi;
	ret = fault_fill(v, lo, hi);
	if (ret) {
		fault_fatal(v, "cannot map GPA %#lx: %s", gpa, ret);
		return;
	}
	t0 = fault_now_ns() - t0;
	cs->events++;
	cs->pages += hi - lo;
	histo_add(&cs->ns, t0);
	histo_add(&cs->ns_per_page, t0 / (hi - lo));
	ret = uffd_wake(&v->uffd, (uintptr_t)v->view + (lo << EPT_PAGE_SHIFT),
			(hi - lo) << EPT_PAGE_SHIFT);
	if (ret)
		fault_fatal(v, "cannot wake the vCPU after filling GPA %#lx: %s", gpa, ret);
}

static void fault_handle(struct vmem *v, uint64_t addr, uint64_t t0)
{
	uint64_t idx = (addr - (uintptr_t)v->view) >> EPT_PAGE_SHIFT;
	uint64_t gpa, entry;

	if (addr < (uintptr_t)v->view || idx >= v->pages)
		return;
	gpa = vmem_idx_gpa(v, idx);
	pthread_mutex_lock(&v->lock);
	entry = ept_get(v->table, gpa);
	if (v->fatal) {
		/* Leave the faulting thread asleep: the VM is being stopped. */
	} else if (ept_present(entry)) {
		v->stats.spurious++;
		uffd_wake(&v->uffd, addr & ~(EPT_PAGE_SIZE - 1), EPT_PAGE_SIZE);
	} else if (entry & (EPT_SW_SWAP | EPT_SW_SNAP)) {
		fault_fatal(v, "GPA %#lx: swap and snapshot entries are not served yet (%s)", gpa,
			    -ENOTSUP);
	} else {
		fault_zero_fill(v, idx, gpa, t0);
	}
	pthread_mutex_unlock(&v->lock);
}

static void fault_pin(struct vmem *v)
{
	cpu_set_t set;

	if (v->handler_cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(v->handler_cpu, &set);
	sched_setaffinity(0, sizeof(set), &set); /* best effort: a hint, not a need */
}

/* Returns false when the thread should stop. */
static bool fault_wait(struct vmem *v)
{
	struct pollfd p[2] = { { .fd = v->uffd.fd, .events = POLLIN },
			       { .fd = v->stop_fd, .events = POLLIN } };

	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return false;
	return !(p[1].revents & POLLIN);
}

void *fault_thread(void *arg)
{
	struct vmem *v = arg;
	struct uffd_msg msg[FAULT_BATCH];

	fault_pin(v);
	while (fault_wait(v)) {
		ssize_t n = read(v->uffd.fd, msg, sizeof(msg));
		uint64_t t0 = fault_now_ns();

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(msg[0]); i++)
			if (msg[i].event == UFFD_EVENT_PAGEFAULT)
				fault_handle(v, msg[i].arg.pagefault.address, t0);
	}
	return NULL;
}
