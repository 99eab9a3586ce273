/* vmm/snapshot/snapshot.c: snapshots of a running VM, see snapshot.h. */
#include "snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "devstate.h"
#include "err.h"
#include "guest_ram.h"
#include "histo.h"
#include "machine_state.h"
#include "vcpu_state.h"
#include "vm.h"

#define SNAPSHOT_BATCH 64 /* pages saved per hold of the VM's memory lock */

struct snapshot_job {
	struct vm *vm;
	struct snapshot_job *older; /* the VM's snapshot before this one */
	struct snap_writer *w;
	pthread_t thread;
	bool thread_started;
	bool hash;	    /* memory's hash into the file, in the pause */
	bool abort;	    /* atomic: the writer gives up at its next batch */
	char abort_why[64]; /* set before abort */
	uint64_t resumed_ns;
	struct snapshot_progress p; /* under vm->snap_lock */
};

/* The sink of vmem_snap_*: pages go straight into the file, in whatever
 * order they come (a guest write saves its page ahead of the writer). */
static int snapshot_sink_save(void *arg, uint64_t gpa, const void *page, char *msg, size_t len)
{
	struct snapshot_job *job = arg;

	return snap_writer_page(job->w, gpa, page, msg, len);
}

static int snapshot_device(struct snap_writer *w, const char *name, uint32_t version,
			   int (*fill)(const void *src, void *buf, size_t len, size_t *used),
			   const void *src, char *err, size_t errlen)
{
	size_t n = 0;
	void *buf;
	int ret = fill(src, NULL, 0, &n);

	if (ret && ret != -ENOSPC)
		goto fail;
	buf = malloc(n ? n : 1);
	if (!buf) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = fill(src, buf, n, &n);
	if (!ret)
		ret = snap_writer_device(w, name, version, buf, n, err, errlen);
	free(buf);
	return ret;
fail:
	snprintf(err, errlen, "saving %s: %s", name, strerror(-ret));
	return ret;
}

static int snapshot_fill_vcpu(const void *st, void *buf, size_t len, size_t *used)
{
	return vcpu_state_to_bytes(st, buf, len, used);
}

static int snapshot_fill_vm(const void *p, void *buf, size_t len, size_t *used)
{
	const struct machine_state *m = p;
	struct devstate_writer w;

	devstate_begin(&w, buf, len, SNAPSHOT_VM_VERSION);
	devstate_put_u64(&w, m->mem_bytes);
	devstate_put_u64(&w, m->tsc_hz);
	devstate_put_u32(&w, (uint32_t)m->machine);
	return devstate_end(&w, used);
}

int snapshot_write_machine(struct snap_writer *w, const struct machine_state *m, char *err,
			   size_t errlen)
{
	int ret = snapshot_device(w, SNAPSHOT_DEV_VM, SNAPSHOT_VM_VERSION, snapshot_fill_vm, m, err,
				  errlen);

	if (!ret)
		ret = snapshot_device(w, SNAPSHOT_DEV_VCPU, VCPU_STATE_VERSION, snapshot_fill_vcpu,
				      m->vcpu, err, errlen);
	if (!ret)
		ret = snap_writer_device(w, SNAPSHOT_DEV_DEVICES, SNAPSHOT_DEVICES_VERSION,
					 m->devices, m->devices_len, err, errlen);
	return ret;
}

int snapshot_save_machine(struct vm *vm, struct snap_writer *w, char *err, size_t errlen)
{
	struct machine_state m;
	int ret = machine_state_save(vm, &m, err, errlen);

	if (!ret)
		ret = snapshot_write_machine(w, &m, err, errlen);
	machine_state_free(&m);
	return ret;
}

int snapshot_memory_hash(struct guest_ram *m, uint64_t *hash, uint64_t *bad_gpa)
{
	XXH3_state_t *h = XXH3_createState();
	static __thread uint8_t page[EPT_PAGE_SIZE];
	int ret = !h ? -ENOMEM : XXH3_64bits_reset(h) == XXH_OK ? 0 : -EINVAL;

	for (int i = 0; !ret && i < m->nr_regions; i++)
		for (uint64_t off = 0; !ret && off < m->region[i].size; off += sizeof(page)) {
			ret = guest_ram_read(m, m->region[i].gpa + off, page, sizeof(page));
			if (!ret)
				XXH3_64bits_update(h, page, sizeof(page));
			else if (bad_gpa)
				*bad_gpa = m->region[i].gpa + off;
		}
	if (!ret)
		*hash = XXH3_64bits_digest(h);
	XXH3_freeState(h);
	return ret;
}

static int snapshot_fill_hash(const void *p, void *buf, size_t len, size_t *used)
{
	const uint64_t *hash_and_bytes = p;
	struct devstate_writer w;

	devstate_begin(&w, buf, len, SNAPSHOT_MEMORY_HASH_VERSION);
	devstate_put_u64(&w, hash_and_bytes[0]);
	devstate_put_u64(&w, hash_and_bytes[1]);
	return devstate_end(&w, used);
}

/* In the pause, after the freeze: what memory is, to check a restore by. */
static int snapshot_save_hash(struct vm *vm, struct snap_writer *w, char *err, size_t errlen)
{
	uint64_t v[2] = {0, vm->mem.size}, gpa = 0;
	int ret = snapshot_memory_hash(&vm->mem, &v[0], &gpa);

	if (ret)
		return snprintf(err, errlen, "hashing memory: the page at GPA %#llx: %s",
				(unsigned long long)gpa, strerror(-ret)),
		       ret;
	return snapshot_device(w, SNAPSHOT_DEV_MEMORY_HASH, SNAPSHOT_MEMORY_HASH_VERSION,
			       snapshot_fill_hash, v, err, errlen);
}

/* The "memory-hash" section of r: the hash and the bytes it covers. */
static int snapshot_read_hash(const struct snap_reader *r, uint64_t *hash, uint64_t *bytes,
			      char *err, size_t errlen)
{
	struct devstate_reader rd;
	const void *buf;
	uint32_t version;
	uint64_t off;
	size_t len;
	char why[256], where[300];

	if (snap_reader_device(r, SNAPSHOT_DEV_MEMORY_HASH, &version, &buf, &len) ||
	    snap_reader_device_offset(r, SNAPSHOT_DEV_MEMORY_HASH, &off))
		return snprintf(err, errlen,
				"%s: no \"%s\" section: the snapshot was taken without "
				"--hash-memory",
				snap_reader_path(r), SNAPSHOT_DEV_MEMORY_HASH),
		       -ENOENT;
	if (version != SNAPSHOT_MEMORY_HASH_VERSION)
		return snprintf(
			   err, errlen,
			   "%s: offset %llu (section \"%s\"'s header): version %u, expected %u",
			   snap_reader_path(r), (unsigned long long)(off - 16),
			   SNAPSHOT_DEV_MEMORY_HASH, version, SNAPSHOT_MEMORY_HASH_VERSION),
		       -EINVAL;
	devstate_open(&rd, SNAPSHOT_DEV_MEMORY_HASH, SNAPSHOT_MEMORY_HASH_VERSION, buf, len, why,
		      sizeof(why));
	*hash = devstate_get_u64(&rd, "hash");
	*bytes = devstate_get_u64(&rd, "bytes");
	if (devstate_close(&rd))
		return snprintf(err, errlen, "%s: %s",
				machine_state_where(where, sizeof(where), snap_reader_path(r), off,
						    SNAPSHOT_DEV_MEMORY_HASH, rd.pos),
				why),
		       -EINVAL;
	return 0;
}

int snapshot_check_memory_hash(struct guest_ram *m, const struct snap_reader *r, char *err,
			       size_t errlen)
{
	uint64_t want, bytes, got, gpa = 0;
	int ret = snapshot_read_hash(r, &want, &bytes, err, errlen);

	if (ret)
		return ret;
	if (bytes != m->size)
		return snprintf(err, errlen,
				"%s: section \"%s\": %llu bytes hashed, expected %llu (the "
				"guest's memory)",
				snap_reader_path(r), SNAPSHOT_DEV_MEMORY_HASH,
				(unsigned long long)bytes, (unsigned long long)m->size),
		       -EINVAL;
	ret = snapshot_memory_hash(m, &got, &gpa);
	if (ret)
		return snprintf(err, errlen,
				"%s: --check-hash: the page at GPA %#llx cannot be read: %s (the "
				"message above says where in the file)",
				snap_reader_path(r), (unsigned long long)gpa, strerror(-ret)),
		       ret;
	if (got != want)
		return snprintf(err, errlen,
				"%s: restored memory hashes to %016llx, the snapshot recorded "
				"%016llx at its pause",
				snap_reader_path(r), (unsigned long long)got,
				(unsigned long long)want),
		       -EBADMSG;
	return 0;
}

/* With vm->snap_lock. */
static void snapshot_update(struct snapshot_job *job)
{
	struct vmem_snap_stats s;
	uint64_t pages;

	vmem_snap_get_stats(job->vm->mem.vmem, &s);
	job->p.pages_done = s.total - s.pending;
	job->p.saved_by_fault = s.saved_by_fault;
	job->p.wp_faults = s.wp_faults;
	if (job->w)
		snap_writer_progress(job->w, &pages, &job->p.bytes);
}

static void snapshot_report(const struct snapshot_progress *p)
{
	if (p->phase == SNAPSHOT_FAILED) {
		fprintf(stderr, "vmm: snapshot %s failed: %s\n", p->dir, p->error);
		return;
	}
	fprintf(stderr,
		"vmm: snapshot %s written: %llu pages, %.1f MiB of data in %.2f s; pause %.3f ms\n",
		p->dir, (unsigned long long)p->pages_done, p->bytes / 1048576.0, p->write_ns / 1e9,
		p->pause_ns / 1e6);
}

/* Save every page as of the pause, a batch at a time: 0, 1 (aborted) or
 * -errno with msg. */
static int snapshot_save_all(struct snapshot_job *job, char *msg, size_t len)
{
	struct vm *vm = job->vm;
	int ret;

	while ((ret = vmem_snap_save(vm->mem.vmem, SNAPSHOT_BATCH, msg, len)) == 1) {
		pthread_mutex_lock(&vm->snap_lock);
		snapshot_update(job);
		pthread_mutex_unlock(&vm->snap_lock);
		if (__atomic_load_n(&job->abort, __ATOMIC_ACQUIRE)) {
			snprintf(msg, len, "aborted: %s", job->abort_why);
			return -ECANCELED;
		}
	}
	return ret;
}

static void *snapshot_thread(void *arg)
{
	struct snapshot_job *job = arg;
	struct vm *vm = job->vm;
	struct snapshot_progress p;
	struct snap_writer *w;
	char msg[400] = "";
	int ret = snapshot_save_all(job, msg, sizeof(msg));

	pthread_mutex_lock(&vm->snap_lock);
	snapshot_update(job);
	pthread_mutex_unlock(&vm->snap_lock);
	vmem_snap_end(vm->mem.vmem); /* the guest runs unprotected during the fsync */
	/* The writer leaves the job before it is freed: a snapshot-status
	 * meanwhile reads the progress as of the last update, not a freed
	 * writer (ASan caught it once the client asked every 2 ms). */
	pthread_mutex_lock(&vm->snap_lock);
	w = job->w;
	job->w = NULL;
	pthread_mutex_unlock(&vm->snap_lock);
	if (!ret)
		ret = snap_writer_commit(w, msg, sizeof(msg));
	else
		snap_writer_abort(w); /* DIR.tmp goes */
	pthread_mutex_lock(&vm->snap_lock);
	job->p.write_ns = histo_now_ns() - job->resumed_ns;
	job->p.phase = ret ? SNAPSHOT_FAILED : SNAPSHOT_DONE;
	snprintf(job->p.error, sizeof(job->p.error), "%s", ret ? msg : "");
	p = job->p;
	pthread_mutex_unlock(&vm->snap_lock);
	/* No I/O under the lock: a stderr that blocks would hold every
	 * snapshot-status, stop and the exit behind it. */
	snapshot_report(&p);
	return NULL;
}

static int snapshot_fail(char *err, size_t errlen, int ret, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(-ret));
	return ret;
}

static int snapshot_machine_cb(void *arg, char *err, size_t errlen)
{
	struct snapshot_job *job = arg;

	return snapshot_save_machine(job->vm, job->w, err, errlen);
}

/* The freeze, and the memory hash if asked for: it must be memory at the
 * pause. */
static int snapshot_freeze_cb(void *arg, char *err, size_t errlen)
{
	struct snapshot_job *job = arg;
	int ret = vmem_snap_freeze(job->vm->mem.vmem);

	if (ret)
		return snapshot_fail(err, errlen, ret, "freezing memory");
	return job->hash ? snapshot_save_hash(job->vm, job->w, err, errlen) : 0;
}

static int snapshot_pause_and_freeze(struct snapshot_job *job, char *err, size_t errlen)
{
	struct vm_pause_parts p = {0};
	int ret =
	    vm_pause_for(job->vm, snapshot_machine_cb, snapshot_freeze_cb, job, &p, err, errlen);

	job->resumed_ns = p.resumed_ns;
	job->p.park_ns = p.park_ns;
	job->p.machine_ns = p.machine_ns;
	job->p.freeze_ns = p.freeze_ns;
	job->p.resume_ns = p.resume_ns;
	job->p.pause_ns = p.pause_ns;
	return ret;
}

/* Arm while the guest runs, then the pause. */
static int snapshot_take(struct snapshot_job *job, bool hash, char *err, size_t errlen)
{
	struct vmem *v = job->vm->mem.vmem;
	struct vmem_snap_sink sink = {.save = snapshot_sink_save, .arg = job};
	struct vmem_snap_stats s;
	int ret = vmem_snap_arm(v, &sink);

	if (ret == -ENOTSUP) {
		vmem_snap_get_stats(v, &s);
		snprintf(err, errlen, "snapshots need userfaultfd write-protect for shmem: %s",
			 s.wp_via);
		return ret;
	}
	if (ret)
		return snapshot_fail(err, errlen, ret,
				     ret == -ESRCH ? "the VM is stopping"
						   : "write-protecting memory");
	job->hash = hash;
	/* What was written while arming is protected again before the pause,
	 * not in it: the pause protects only what is written from here. */
	ret = vmem_snap_rearm(v);
	if (!ret)
		ret = snapshot_pause_and_freeze(job, err, errlen);
	else
		snapshot_fail(err, errlen, ret, "write-protecting memory again");
	vmem_snap_get_stats(v, &s);
	job->p.arm_ns = s.arm_ns;
	job->p.rearmed = s.rearmed;
	job->p.reprotected = s.reprotected;
	job->p.pages_total = s.total;
	if (ret)
		vmem_snap_end(v);
	return ret;
}

static void snapshot_free_job(struct snapshot_job *job)
{
	if (job->thread_started)
		pthread_join(job->thread, NULL);
	free(job);
}

/* With vm->snap_lock: job becomes the newest, and those past
 * SNAPSHOT_HISTORY go (only the newest can be being written). */
static void snapshot_push_job(struct vm *vm, struct snapshot_job *job)
{
	struct snapshot_job *j = job, *old;

	job->older = vm->snap;
	vm->snap = job;
	for (int n = 1; j && n < SNAPSHOT_HISTORY; n++)
		j = j->older;
	old = j ? j->older : NULL;
	if (j)
		j->older = NULL;
	while (old) {
		j = old->older;
		snapshot_free_job(old);
		old = j;
	}
}

static int snapshot_begin(struct vm *vm, struct snapshot_job *job, const char *dir, bool hash,
			  char *err, size_t errlen)
{
	int ret;

	if (vm->snap && vm->snap->p.phase == SNAPSHOT_WRITING) {
		snprintf(err, errlen,
			 "a snapshot is being written to %s: one at a time; ask again once it is "
			 "done",
			 vm->snap->p.dir);
		return -EBUSY;
	}
	if (!vm->mem.vmem) {
		snprintf(err, errlen, "snapshots need the vmm memory manager, not the kernel's");
		return -ENOTSUP;
	}
	snprintf(job->p.dir, sizeof(job->p.dir), "%s", dir);
	ret = snap_writer_open(&job->w, dir, vm->mem.size, err, errlen);
	if (ret)
		return ret;
	snprintf(job->p.io_via, sizeof(job->p.io_via), "%s", snap_writer_via(job->w));
	ret = snapshot_take(job, hash, err, errlen);
	if (ret) {
		snap_writer_abort(job->w);
		return ret;
	}
	job->p.phase = SNAPSHOT_WRITING;
	ret = pthread_create(&job->thread, NULL, snapshot_thread, job);
	if (ret) {
		vmem_snap_end(vm->mem.vmem);
		snap_writer_abort(job->w);
		return snapshot_fail(err, errlen, -ret, "starting the writer thread");
	}
	job->thread_started = true;
	return 0;
}

int snapshot_start(struct vm *vm, const char *dir, bool hash_memory, uint64_t *id, char *err,
		   size_t errlen)
{
	struct snapshot_job *job = calloc(1, sizeof(*job));
	int ret;

	if (!job)
		return snapshot_fail(err, errlen, -ENOMEM, "snapshot");
	job->vm = vm;
	pthread_mutex_lock(&vm->snap_lock);
	job->p.id = vm->snap ? vm->snap->p.id + 1 : 1;
	ret = snapshot_begin(vm, job, dir, hash_memory, err, errlen);
	if (ret) {
		free(job);
	} else {
		snapshot_push_job(vm, job);
		if (id)
			*id = job->p.id;
	}
	pthread_mutex_unlock(&vm->snap_lock);
	return ret;
}

int snapshot_status(struct vm *vm, uint64_t id, struct snapshot_progress *out)
{
	struct snapshot_job *j;
	int ret = 0;

	pthread_mutex_lock(&vm->snap_lock);
	for (j = vm->snap; id && j && j->p.id != id;)
		j = j->older;
	if (j) {
		if (j->p.phase == SNAPSHOT_WRITING)
			snapshot_update(j);
		*out = j->p;
	} else {
		memset(out, 0, sizeof(*out));
		ret = id ? -ENOENT : 0;
	}
	pthread_mutex_unlock(&vm->snap_lock);
	return ret;
}

void snapshot_abort(struct vm *vm, const char *why)
{
	pthread_mutex_lock(&vm->snap_lock);
	if (vm->snap && vm->snap->p.phase == SNAPSHOT_WRITING &&
	    !__atomic_load_n(&vm->snap->abort, __ATOMIC_ACQUIRE)) {
		snprintf(vm->snap->abort_why, sizeof(vm->snap->abort_why), "%s", why);
		__atomic_store_n(&vm->snap->abort, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&vm->snap_lock);
}

void snapshot_wait(struct vm *vm)
{
	pthread_t t;
	bool join;

	pthread_mutex_lock(&vm->snap_lock);
	join = vm->snap && vm->snap->thread_started;
	if (join) {
		t = vm->snap->thread;
		vm->snap->thread_started = false;
	}
	pthread_mutex_unlock(&vm->snap_lock);
	if (join) /* the thread takes snap_lock: joined without it */
		pthread_join(t, NULL);
}

void snapshot_finish(struct vm *vm)
{
	struct snapshot_job *j;

	snapshot_wait(vm);
	pthread_mutex_lock(&vm->snap_lock);
	while ((j = vm->snap)) {
		vm->snap = j->older;
		snapshot_free_job(j);
	}
	pthread_mutex_unlock(&vm->snap_lock);
}
