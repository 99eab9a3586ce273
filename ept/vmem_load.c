/* ept/vmem_load.c: a lazy restore's loader thread (vmem.h, vmem_priv.h).
 *
 * While the guest runs, the thread loads the source pages nobody has
 * touched yet, in GPA order, a run of neighbours per read, into frames of
 * their own, mapped (vmem_load_run), so that the guest's first touch is
 * no fault at all. While a working set is being recorded they are only
 * stored (the guest's touch maps each, a host minor fault), so that the
 * view's PTEs say what the guest touched. Each
 * run is read without v's lock and installed under it only if its pages
 * are still the source's: a fault that loaded one meanwhile wins.
 *
 * It also records the working set: record_ms after the guest started, the
 * view pages the guest has touched (their PTEs, pagemap bit 63: loads
 * that do not map leave them absent until the guest touches them).
 */
#include "vmem_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LOAD_RUN_MAX 256 /* pages per read: 1 MiB */

static uint64_t load_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static bool load_stopping(struct vmem *v)
{
	return __atomic_load_n(&v->load.stop, __ATOMIC_ACQUIRE);
}

/* The next run of source pages from *idx on, in one range, with
 * consecutive source indices: 0 pages once none is left. */
static unsigned load_next_run(struct vmem *v, uint64_t *idx, uint64_t *index)
{
	unsigned n = 0;
	struct vmem_page p;

	pthread_mutex_lock(&v->lock);
	for (; *idx < v->pages; (*idx)++) {
		vmem_page_at(v, *idx, &p);
		if ((p.entry & EPT_SW_SNAP) && !p.image)
			break;
	}
	while (*idx + n < v->pages && n < LOAD_RUN_MAX) {
		vmem_page_at(v, *idx + n, &p);
		if (!(p.entry & EPT_SW_SNAP) || p.image ||
		    (n && (ept_frame(p.entry) != index[0] + n ||
			   p.gpa != vmem_idx_gpa(v, *idx) + ((uint64_t)n << EPT_PAGE_SHIFT))))
			break;
		index[n++] = ept_frame(p.entry);
	}
	pthread_mutex_unlock(&v->lock);
	return n;
}

/* Read source pages index[0..n) into the buffer, without v's lock. */
static int load_read(struct vmem *v, const uint64_t *index, unsigned n)
{
	const struct vmem_source_ops *src = v->back.source;
	char why[200];
	int ret = 0;

	if (src->load_run)
		return src->load_run(v->back.source_arg, index[0], n, v->load.buf, why,
				     sizeof(why));
	for (unsigned i = 0; !ret && i < n; i++)
		ret = src->load(v->back.source_arg, index[i],
				v->load.buf + ((size_t)i << EPT_PAGE_SHIFT), why, sizeof(why));
	return ret;
}

/* The view pages the guest has touched, as GPAs, to on_touched. */
static void load_record(struct vmem *v)
{
	bool present[VMEM_MAX_WINDOW];
	uint64_t *gpa = malloc(v->pages * sizeof(*gpa)), n = 0;

	if (!gpa)
		return;
	for (uint64_t first = 0; first < v->pages; first += VMEM_MAX_WINDOW) {
		unsigned k =
		    v->pages - first < VMEM_MAX_WINDOW ? v->pages - first : VMEM_MAX_WINDOW;

		if (vmem_view_present(v, first, k, present))
			break;
		for (unsigned i = 0; i < k; i++)
			if (present[i])
				gpa[n++] = vmem_idx_gpa(v, first + i);
	}
	v->load.cfg.on_touched(v->load.cfg.arg, gpa, n);
	free(gpa);
}

/* Record once the time has come: true once recorded (or never asked). */
static bool load_maybe_record(struct vmem *v, uint64_t deadline)
{
	if (!v->load.cfg.record_ms)
		return true;
	if (load_now_ns() < deadline)
		return false;
	load_record(v);
	v->load.cfg.record_ms = 0;
	return true;
}

/* Everything left in the source, in GPA order; the budget full ends it. */
static void load_rest(struct vmem *v, uint64_t deadline)
{
	uint64_t index[LOAD_RUN_MAX], idx = 0;
	unsigned n;

	while (!load_stopping(v) && (n = load_next_run(v, &idx, index))) {
		int ret = load_read(v, index, n);

		/* A page that cannot be read stays in the source: its own fault
		 * reports it, naming it, if the guest ever touches it. */
		if (!ret)
			ret = vmem_load_run(v, vmem_idx_gpa(v, idx), n, v->load.buf, index,
					    VMEM_LOAD_BACKGROUND, !v->load.cfg.record_ms);
		if (ret == -ENOMEM)
			break;
		idx += n;
		load_maybe_record(v, deadline);
	}
}

static void *load_thread(void *arg)
{
	struct vmem *v = arg;
	uint64_t deadline;

	/* Behind the vCPU and the fault thread: what it loads is a guess. */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
	while (!__atomic_load_n(&v->fault.running, __ATOMIC_ACQUIRE) && !load_stopping(v))
		usleep(200);
	deadline = load_now_ns() + v->load.cfg.record_ms * 1000000ull;
	if (v->load.cfg.rest)
		load_rest(v, deadline);
	while (!load_stopping(v) && !load_maybe_record(v, deadline))
		usleep(1000);
	return NULL;
}

int vmem_loader_start(struct vmem *v, const struct vmem_loader *l)
{
	int ret;

	if (v->load.started || !v->back.source || (l->record_ms && !l->on_touched))
		return -EINVAL;
	if (!l->rest && !l->record_ms)
		return 0;
	v->load.cfg = *l;
	v->load.buf = aligned_alloc(EPT_PAGE_SIZE, (size_t)LOAD_RUN_MAX << EPT_PAGE_SHIFT);
	if (!v->load.buf)
		return -ENOMEM;
	ret = -pthread_create(&v->load.thread, NULL, load_thread, v);
	if (ret)
		return ret;
	v->load.started = true;
	return 0;
}

void vmem_loader_fini(struct vmem *v)
{
	__atomic_store_n(&v->load.stop, true, __ATOMIC_RELEASE);
	if (v->load.started)
		pthread_join(v->load.thread, NULL);
	v->load.started = false;
	free(v->load.buf);
	v->load.buf = NULL;
}
