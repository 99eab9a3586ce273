/* reclaim/reclaim.c: the reclaimer, see reclaim.h. */
#include "reclaim.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"
#include "swapfile.h"
#include "swapmap.h"

#define RECLAIM_IDLE_MS	   100 /* the thread's poll when nothing is due */
#define RECLAIM_LOW_MIN	   64  /* frames */
#define RECLAIM_LOW_DIVIDE 128 /* low watermark: 1/128 of the budget */

struct reclaim_vm {
	struct vmem *v;
	bool protect, killed;
	uint64_t hand; /* the Clock hand: next view page to examine */
	/* The window vmem_scan last read, for clock_sweep's test. */
	uint64_t win_first;
	unsigned win_n;
	uint8_t win[VMEM_MAX_WINDOW];
	uint64_t scans;
	struct wss_estimate wss;
	uint64_t wss_periods;
	bool wss_armed;
};

struct reclaimer {
	struct frame_db *db;
	uint64_t budget, low, high;

	pthread_mutex_t vms_lock; /* the VM list; held across a reclaim pass */
	struct reclaim_vm **vm;
	unsigned nr_vms, cap_vms;

	pthread_mutex_t io_lock; /* swap map, swap file, stats */
	struct swap_map *map;
	struct swapfile *file;
	struct reclaim_stats st;

	unsigned wss_period_ms, wss_samples;
	uint64_t rng, next_wss_ns;

	int wake_fd; /* eventfd: the low watermark was crossed, or stop */
	bool stop, running;
	pthread_t thread;
};

/* The pager: called by ept/ with the VM's lock held (not reclaim). */

static int reclaim_swap_in(void *arg, struct vmem *v, const uint32_t *slots, void *const *pages,
			   unsigned n, char *msg, size_t len)
{
	struct reclaimer *r = arg;
	uint64_t t0 = histo_now_ns();
	int ret;

	(void)v;
	pthread_mutex_lock(&r->io_lock);
	ret = swapfile_read(r->file, slots, pages, n, NULL, msg, len);
	r->st.swap_reads += n;
	if (ret == -EBADMSG)
		r->st.checksum_failures++;
	else if (ret)
		r->st.swap_read_errors++;
	else
		histo_add(&r->st.swapin_read_ns, histo_now_ns() - t0);
	pthread_mutex_unlock(&r->io_lock);
	return ret;
}

static void reclaim_swap_put(void *arg, uint32_t slot)
{
	struct reclaimer *r = arg;

	pthread_mutex_lock(&r->io_lock);
	if (swap_map_put(r->map, slot) == 0)
		swapfile_forget(r->file, slot);
	pthread_mutex_unlock(&r->io_lock);
}

static uint64_t reclaim_pager_reclaim(void *arg, struct vmem *v, uint64_t gpa, uint64_t want);

static const struct vmem_pager_ops reclaim_pager_ops = {
    .swap_in = reclaim_swap_in,
    .swap_put = reclaim_swap_put,
    .reclaim = reclaim_pager_reclaim,
};

/* The eviction sink: slots for a batch, allocated together so that
 * neighbouring guest pages sit in neighbouring slots, then one write. */
static int reclaim_store(void *arg, struct vmem *v, const uint64_t *gpa, void *const *pages,
			 unsigned n, uint32_t *slots)
{
	struct reclaimer *r = arg;
	char err[256];
	uint32_t got;
	int ret;

	pthread_mutex_lock(&r->io_lock);
	got = swap_map_alloc(r->map, n, slots);
	if (got < n)
		r->st.swap_full++;
	for (uint32_t i = 0; i < got; i++)
		swap_map_set_owner(r->map, slots[i], vmem_id(v), gpa[i] >> 12);
	ret = got ? swapfile_write(r->file, slots, pages, got, err, sizeof(err)) : 0;
	if (ret) {
		fprintf(stderr, "vmm: reclaim: %s\n", err);
		for (uint32_t i = 0; i < got; i++)
			swap_map_put(r->map, slots[i]);
	} else {
		r->st.swap_writes += got;
	}
	pthread_mutex_unlock(&r->io_lock);
	return ret ? ret : (int)got;
}

static bool reclaim_same(void *arg, uint32_t slot, const void *page)
{
	struct reclaimer *r = arg;
	bool same;

	pthread_mutex_lock(&r->io_lock);
	same = swapfile_same(r->file, slot, page);
	pthread_mutex_unlock(&r->io_lock);
	return same;
}

/* Replacement */

/* clock_sweep's test of one page, from the window vmem_scan read (and
 * zapped) last; a page outside it starts a new window there. */
static int reclaim_clock_test(void *arg, uint64_t page)
{
	struct reclaim_vm *rv = arg;
	uint64_t pages = vmem_pages(rv->v);

	if (page < rv->win_first || page >= rv->win_first + rv->win_n) {
		unsigned n = pages - page < VMEM_MAX_WINDOW ? pages - page : VMEM_MAX_WINDOW;

		if (vmem_scan(rv->v, page, n, rv->win)) {
			rv->win_n = 0;
			return -1;
		}
		rv->win_first = page;
		rv->win_n = n;
		rv->scans++;
	}
	switch (rv->win[page - rv->win_first]) {
	case VMEM_PAGE_IDLE:
		return 0;
	case VMEM_PAGE_TOUCHED:
		return 1; /* its access bit is already cleared: the zap */
	default:
		return -1;
	}
}

/* One batch from one VM: up to VMEM_EVICT_MAX victims found by Clock
 * within two turns of the hand, evicted. Returns pages freed. */
static uint64_t reclaim_batch(struct reclaimer *r, struct reclaim_vm *rv, uint64_t want)
{
	const struct vmem_evict_sink sink = {
	    .store = reclaim_store, .same = reclaim_same, .arg = r};
	uint64_t victims[VMEM_EVICT_MAX], scanned = 0, t0 = histo_now_ns(), n, scans0 = rv->scans;
	uint64_t pages = vmem_pages(rv->v);
	struct vmem_evict_result res = {0};

	if (want > VMEM_EVICT_MAX)
		want = VMEM_EVICT_MAX;
	rv->win_n = 0; /* the guest ran since: read the window again */
	n = clock_sweep(&rv->hand, pages, 2 * pages, want, reclaim_clock_test, rv, victims,
			&scanned);
	if (n)
		vmem_evict(rv->v, victims, n, &sink, &res);
	pthread_mutex_lock(&r->io_lock);
	r->st.scans += rv->scans - scans0;
	r->st.scanned += scanned;
	r->st.evicted += res.evicted;
	r->st.written += res.written;
	histo_add(&r->st.pass_ns, histo_now_ns() - t0);
	pthread_mutex_unlock(&r->io_lock);
	return res.evicted;
}

/* The live VM with the most resident pages, or NULL. */
static struct reclaim_vm *reclaim_largest(struct reclaimer *r, bool unprotected_only,
					  const struct reclaim_vm *skip)
{
	struct reclaim_vm *best = NULL;
	uint64_t most = 0;

	for (unsigned i = 0; i < r->nr_vms; i++) {
		struct reclaim_vm *rv = r->vm[i];
		uint64_t n;

		if (rv->killed || rv == skip || (unprotected_only && rv->protect))
			continue;
		n = vmem_resident(rv->v);
		if (!best || n > most) {
			best = rv;
			most = n;
		}
	}
	return best;
}

/* Free up to want frames, the largest VM first; with vms_lock held. */
static uint64_t reclaim_locked(struct reclaimer *r, uint64_t want)
{
	uint64_t freed = 0;
	const struct reclaim_vm *dry = NULL; /* gave nothing: try the others */

	for (unsigned tries = 0; freed < want && tries <= r->nr_vms; tries++) {
		struct reclaim_vm *rv = reclaim_largest(r, false, dry);
		uint64_t got;

		if (!rv)
			break;
		got = reclaim_batch(r, rv, want - freed);
		freed += got;
		dry = got ? NULL : rv;
		if (!got && r->nr_vms == 1)
			break;
	}
	return freed;
}

static struct reclaim_vm *reclaim_find(struct reclaimer *r, const struct vmem *v)
{
	for (unsigned i = 0; i < r->nr_vms; i++)
		if (r->vm[i]->v == v)
			return r->vm[i];
	return NULL;
}

/* Nothing could be freed for v's fault at gpa: stop one VM (reclaim.h)
 * and free its frames before anyone else looks, so that no second VM is
 * chosen for the same shortage. 0 if the victim is v itself. */
static uint64_t reclaim_oom(struct reclaimer *r, struct vmem *v, uint64_t gpa)
{
	struct reclaim_vm *victim = reclaim_largest(r, true, NULL);
	char msg[300];
	uint64_t freed;

	if (!victim)
		victim = reclaim_find(r, v);
	if (!victim || victim->killed)
		return 0; /* v was stopped while it waited here: nothing to choose */
	victim->killed = true;
	pthread_mutex_lock(&r->io_lock);
	r->st.oom_kills++;
	pthread_mutex_unlock(&r->io_lock);
	if (victim->v == v && !r->file) /* a reclaimer for working-set sampling alone */
		snprintf(msg, sizeof(msg),
			 "host memory budget exhausted: no frame for GPA %#lx and nothing left to "
			 "reclaim without swap; raise --host-mem, or give --swap",
			 (unsigned long)gpa);
	else if (victim->v == v)
		snprintf(msg, sizeof(msg),
			 "host memory budget and swap exhausted: no frame for GPA %#lx and nothing "
			 "left to reclaim; raise --host-mem or --swap-size",
			 (unsigned long)gpa);
	else
		snprintf(msg, sizeof(msg),
			 "out of memory: the host memory budget and swap are exhausted, and this "
			 "VM (id %u, %lu pages resident) was the largest one not protected by "
			 "--oom-protect",
			 vmem_id(victim->v), (unsigned long)vmem_resident(victim->v));
	freed = vmem_kill(victim->v, msg);
	return victim->v == v ? 0 : freed;
}

static uint64_t reclaim_pager_reclaim(void *arg, struct vmem *v, uint64_t gpa, uint64_t want)
{
	struct reclaimer *r = arg;
	uint64_t freed;

	pthread_mutex_lock(&r->vms_lock);
	pthread_mutex_lock(&r->io_lock);
	r->st.direct++;
	pthread_mutex_unlock(&r->io_lock);
	freed = reclaim_locked(r, want);
	if (!freed)
		freed = reclaim_oom(r, v, gpa);
	pthread_mutex_unlock(&r->vms_lock);
	return freed;
}

/* Working-set sampling */

static void reclaim_wss_vm(struct reclaimer *r, struct reclaim_vm *rv)
{
	uint64_t idx[VMEM_WSS_MAX], pages = vmem_pages(rv->v), held = vmem_allocated(rv->v);
	unsigned sampled, touched, n;

	if (rv->wss_armed) {
		vmem_wss_collect(rv->v, &sampled, &touched);
		wss_estimate(held, sampled, touched, &rv->wss);
		rv->wss_periods++;
	}
	if (!held || rv->killed) {
		rv->wss_armed = false;
		return;
	}
	/* Pick among all view pages as many as make wss_samples held ones on
	 * average: arm keeps only those the VM holds. */
	n = held >= pages ? r->wss_samples : (unsigned)((uint64_t)r->wss_samples * pages / held);
	if (n > VMEM_WSS_MAX)
		n = VMEM_WSS_MAX;
	if (n > pages)
		n = pages;
	wss_pick(&r->rng, pages, n, idx);
	rv->wss_armed = !vmem_wss_arm(rv->v, idx, n);
}

void reclaim_sample(struct reclaimer *r)
{
	pthread_mutex_lock(&r->vms_lock);
	for (unsigned i = 0; i < r->nr_vms; i++)
		reclaim_wss_vm(r, r->vm[i]);
	pthread_mutex_unlock(&r->vms_lock);
}

/* The background thread */

static uint64_t reclaim_free_frames(struct reclaimer *r)
{
	struct frame_db_stats s;

	frame_db_stats(r->db, &s);
	return s.free_in_budget;
}

static void reclaim_balance(struct reclaimer *r)
{
	uint64_t free = reclaim_free_frames(r);

	if (!r->file || free >= r->low)
		return;
	pthread_mutex_lock(&r->vms_lock);
	pthread_mutex_lock(&r->io_lock);
	r->st.wakeups++;
	pthread_mutex_unlock(&r->io_lock);
	while (free < r->high && !r->stop) {
		if (!reclaim_locked(r, r->high - free))
			break; /* the fault path decides on OOM */
		free = reclaim_free_frames(r);
	}
	pthread_mutex_unlock(&r->vms_lock);
}

static int reclaim_wait_ms(const struct reclaimer *r)
{
	uint64_t now = histo_now_ns();

	if (!r->wss_period_ms)
		return RECLAIM_IDLE_MS;
	if (r->next_wss_ns <= now)
		return 0;
	return (r->next_wss_ns - now) / 1000000 < RECLAIM_IDLE_MS
		   ? (int)((r->next_wss_ns - now) / 1000000)
		   : RECLAIM_IDLE_MS;
}

static void *reclaim_thread(void *arg)
{
	struct reclaimer *r = arg;
	struct pollfd p = {.fd = r->wake_fd, .events = POLLIN};
	uint64_t n;

	r->next_wss_ns = histo_now_ns() + r->wss_period_ms * 1000000ULL;
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		if (poll(&p, 1, reclaim_wait_ms(r)) > 0 && read(r->wake_fd, &n, sizeof(n)) < 0)
			continue;
		reclaim_balance(r);
		if (r->wss_period_ms && histo_now_ns() >= r->next_wss_ns) {
			reclaim_sample(r);
			r->next_wss_ns = histo_now_ns() + r->wss_period_ms * 1000000ULL;
		}
	}
	return NULL;
}

/* Called by the frame database with its lock held: only signal. */
static void reclaim_low(void *arg)
{
	struct reclaimer *r = arg;
	uint64_t one = 1;

	if (write(r->wake_fd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: a wake-up is pending anyway */
	}
}

/* Life cycle */

static int reclaim_map_swap(struct reclaimer *r, char *err, size_t len)
{
	int ret = swap_map_create(&r->map, swapfile_slots(r->file));

	if (ret)
		snprintf(err, len, "swap file %s: cannot make its swap map: %s",
			 swapfile_path(r->file), strerror(-ret));
	return ret;
}

static void reclaim_watermarks(struct reclaimer *r)
{
	struct frame_db_stats s;

	frame_db_stats(r->db, &s);
	r->budget = s.budget_frames;
	r->low = r->budget / RECLAIM_LOW_DIVIDE;
	if (r->low < RECLAIM_LOW_MIN)
		r->low = RECLAIM_LOW_MIN;
	r->high = 2 * r->low;
}

int reclaim_create(struct reclaimer **out, const struct reclaim_config *c, char *err, size_t len)
{
	struct reclaimer *r = calloc(1, sizeof(*r));
	int ret = -ENOMEM;

	if (!r) {
		swapfile_close(c->swap);
		snprintf(err, len, "reclaim: out of memory");
		return -ENOMEM;
	}
	r->file = c->swap;
	r->db = c->db;
	r->wss_period_ms = c->wss_period_ms;
	r->wss_samples = c->wss_samples ? c->wss_samples : RECLAIM_DEFAULT_WSS_SAMPLES;
	r->rng = c->seed ? c->seed : 0x853c49e6748fea9bULL;
	pthread_mutex_init(&r->vms_lock, NULL);
	pthread_mutex_init(&r->io_lock, NULL);
	r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wake_fd < 0) {
		ret = -errno;
		snprintf(err, len, "reclaim: eventfd: %s", strerror(errno));
		goto fail;
	}
	reclaim_watermarks(r);
	if (r->file) {
		ret = reclaim_map_swap(r, err, len);
		if (ret)
			goto fail;
		frame_db_set_low_watermark(r->db, r->low, reclaim_low, r);
	}
	*out = r;
	return 0;
fail:
	reclaim_destroy(r);
	return ret;
}

void reclaim_destroy(struct reclaimer *r)
{
	if (!r)
		return;
	if (r->running) {
		uint64_t one = 1;

		__atomic_store_n(&r->stop, true, __ATOMIC_RELEASE);
		if (write(r->wake_fd, &one, sizeof(one)) < 0) {
			/* saturated: the thread wakes anyway */
		}
		pthread_join(r->thread, NULL);
	}
	if (r->file)
		frame_db_set_low_watermark(r->db, 0, NULL, NULL);
	swapfile_close(r->file);
	swap_map_destroy(r->map);
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	for (unsigned i = 0; i < r->nr_vms; i++)
		free(r->vm[i]);
	free(r->vm);
	pthread_mutex_destroy(&r->vms_lock);
	pthread_mutex_destroy(&r->io_lock);
	free(r);
}

const struct vmem_pager_ops *reclaim_pager(const struct reclaimer *r)
{
	return r->file ? &reclaim_pager_ops : NULL;
}

int reclaim_add_vm(struct reclaimer *r, struct vmem *v, bool oom_protect)
{
	struct reclaim_vm *rv = calloc(1, sizeof(*rv));
	int ret = 0;

	if (!rv)
		return -ENOMEM;
	rv->v = v;
	rv->protect = oom_protect;
	pthread_mutex_lock(&r->vms_lock);
	if (r->nr_vms == r->cap_vms) {
		unsigned cap = r->cap_vms ? 2 * r->cap_vms : 4;
		struct reclaim_vm **vm = realloc(r->vm, cap * sizeof(*vm));

		if (vm) {
			r->vm = vm;
			r->cap_vms = cap;
		}
	}
	if (r->nr_vms < r->cap_vms)
		r->vm[r->nr_vms++] = rv;
	else
		ret = -ENOMEM;
	pthread_mutex_unlock(&r->vms_lock);
	if (ret)
		free(rv);
	return ret;
}

void reclaim_remove_vm(struct reclaimer *r, struct vmem *v)
{
	pthread_mutex_lock(&r->vms_lock);
	for (unsigned i = 0; i < r->nr_vms; i++) {
		if (r->vm[i]->v != v)
			continue;
		free(r->vm[i]);
		r->vm[i] = r->vm[--r->nr_vms];
		break;
	}
	pthread_mutex_unlock(&r->vms_lock);
}

int reclaim_start(struct reclaimer *r)
{
	int ret;

	if (!r->file && !r->wss_period_ms)
		return 0; /* nothing to do in the background */
	ret = pthread_create(&r->thread, NULL, reclaim_thread, r);
	if (ret)
		return -ret;
	r->running = true;
	return 0;
}

void reclaim_get_stats(struct reclaimer *r, struct reclaim_stats *out)
{
	struct swap_map_stats ms = {0};

	pthread_mutex_lock(&r->io_lock);
	*out = r->st;
	out->swap = r->file != NULL;
	if (r->file) {
		struct swapfile_stats fs;

		swap_map_stats(r->map, &ms);
		swapfile_get_stats(r->file, &fs);
		out->swap_path = swapfile_path(r->file);
		out->swap_io = swapfile_io_path(r->file);
		out->swap_direct = swapfile_direct(r->file);
		out->swap_slots = ms.nr_slots;
		out->swap_used = ms.used;
		out->checksum_failures = fs.checksum_failures;
	}
	out->low_frames = r->low;
	out->high_frames = r->high;
	out->metadata_bytes = ms.metadata_bytes + (size_t)ms.nr_slots * sizeof(uint64_t) +
			      r->nr_vms * sizeof(struct reclaim_vm);
	pthread_mutex_unlock(&r->io_lock);
}

int reclaim_vm_stats(struct reclaimer *r, const struct vmem *v, struct reclaim_vm_stats *out)
{
	struct reclaim_vm *rv;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&r->vms_lock);
	rv = reclaim_find(r, v);
	if (rv) {
		out->wss = rv->wss;
		out->wss_periods = rv->wss_periods;
		out->oom_protect = rv->protect;
		out->oom_killed = rv->killed;
	}
	pthread_mutex_unlock(&r->vms_lock);
	return rv ? 0 : -ENOENT;
}
