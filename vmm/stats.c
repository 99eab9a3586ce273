/* vmm/stats.c: the --stats-json report, built with jansson, see stats.h. */
#include "stats.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"
#include "cli.h"
#include "err.h"
#include "fleet.h"
#include "histo.h"
#include "kstats.h"
#include "snapshot.h"
#include "vm.h"
#include "vmem.h"

/* Counters are unsigned, JSON integers here signed 64-bit (json_int_t):
 * none gets near the limit, but clamp rather than wrap. */
static json_int_t stats_int(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (json_int_t)v;
}

/* A JSON string of len bytes: as they are if they are UTF-8, else each
 * byte as the Latin-1 character it would be (guest output and file names
 * are bytes, JSON is UTF-8). NULL only without memory. */
static json_t *stats_string(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	size_t n = 0;
	char *u;

	if (j || !(u = malloc(2 * len + 1)))
		return j;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c >= 0x80)
			u[n++] = 0xc0 | c >> 6;
		u[n++] = c >= 0x80 ? 0x80 | (c & 0x3f) : c;
	}
	j = json_stringn(u, n);
	free(u);
	return j;
}

/* True if s is an integer exactly as JSON writes one: an optional '-',
 * then digits without a leading zero, at most 19 of them. */
static bool stats_is_integer(const char *s, size_t len)
{
	size_t i = len && s[0] == '-';

	if (i == len || len - i > 19 || (s[i] == '0' && len > 1))
		return false;
	for (; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* A RESULT value: an integer as written ("512", "-3") goes in as a JSON
 * integer, anything else ("007", "12abc", "1.5", past 64 bits) as a
 * string, so that whatever the guest prints the report stays valid JSON
 * and says what the guest said. */
static json_t *stats_value(const char *s, size_t len)
{
	char buf[21];
	long long v;

	if (!stats_is_integer(s, len))
		return stats_string(s, len);
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoll(buf, NULL, 10);
	return errno ? stats_string(s, len) : json_integer(v);
}

/* key (klen bytes) = value into o, taking value: 0 or -ENOMEM. */
static int stats_set(json_t *o, const char *key, size_t klen, json_t *value)
{
	json_t *k = stats_string(key, klen);
	int ret = -ENOMEM;

	if (k && value)
		ret = json_object_setn_new(o, json_string_value(k), json_string_length(k), value)
			  ? -ENOMEM
			  : 0;
	else
		json_decref(value);
	json_decref(k);
	return ret;
}

/* "workload=touch pages=512" -> {"workload": "touch", "pages": 512};
 * words without '=' are left out, a repeated key keeps its last value. */
static json_t *stats_result(const char *line)
{
	json_t *o = json_object();
	const char *p = line;

	while (o && *p) {
		const char *end = strchrnul(p, ' ');
		const char *eq = memchr(p, '=', end - p);

		if (eq && stats_set(o, p, eq - p, stats_value(eq + 1, end - eq - 1))) {
			json_decref(o);
			return NULL;
		}
		p = *end ? end + 1 : end;
	}
	return o;
}

static json_t *stats_results(const struct console *con)
{
	json_t *a = json_array();
	int n = __atomic_load_n(&con->nr_results, __ATOMIC_ACQUIRE); /* see console.c */

	for (int i = 0; a && i < n; i++) {
		if (json_array_append_new(a, stats_result(con->results[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* KVM's counters of one stats fd by name; {} where there are none. */
static json_t *stats_kvm(int fd)
{
	json_t *o = json_object();
	struct kstats ks;

	if (!o || kstats_read(fd, &ks))
		return o;
	for (int i = 0; i < ks.n; i++) {
		if (json_object_set_new(o, ks.v[i].name, json_integer(stats_int(ks.v[i].value)))) {
			json_decref(o);
			o = NULL;
			break;
		}
	}
	kstats_free(&ks);
	return o;
}

/* Second-level figures of the VMM manager, gathered in one place. */
struct sl_stats {
	struct vmem_stats v;
	struct frame_db_stats fdb;
	size_t metadata;
};

static bool sl_gather(const struct vm *vm, struct sl_stats *s)
{
	if (!vm->mem.vmem)
		return false;
	vmem_get_stats(vm->mem.vmem, &s->v);
	frame_db_stats(vm->mem.db, &s->fdb);
	s->metadata = s->v.table_bytes + s->v.policy_bytes + s->fdb.metadata_bytes;
	return true;
}

static long stats_peak_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static json_t *stats_fault_classes(const struct vmem_stats *v)
{
	json_t *o = json_object();

	for (int c = 0; o && c < FAULT_NR_CLASSES; c++) {
		const struct vmem_class_stats *cs = &v->cls[c];
		json_t *j = json_pack(
		    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "events", stats_int(cs->events),
		    "pages", stats_int(cs->pages), "total_ns", stats_int(cs->ns.sum), "p50_ns",
		    stats_int(histo_quantile(&cs->ns, 0.5)), "p99_ns",
		    stats_int(histo_quantile(&cs->ns, 0.99)), "max_ns", stats_int(cs->ns.max),
		    "p50_ns_per_page", stats_int(histo_quantile(&cs->ns_per_page, 0.5)),
		    "p99_ns_per_page", stats_int(histo_quantile(&cs->ns_per_page, 0.99)));

		if (json_object_set_new(o, fault_class_name(c), j)) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

static json_t *stats_second_level_counts(const struct vm *vm, const struct sl_stats *s)
{
	double percent = vm->mem.size ? 100.0 * s->metadata / vm->mem.size : 0;

	return json_pack(
	    "{s:o, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I, s:I}, "
	    "s:{s:I, s:I, s:I, s:I, s:f}}",
	    "faults", stats_fault_classes(&s->v), "invalid_accesses",
	    stats_int(vm->stats.mmio_exits), "vmm_filled_pages", stats_int(s->v.vmm_filled_pages),
	    "discarded_pages", stats_int(s->v.discarded_pages), "copied_pages",
	    stats_int(s->v.copied_pages), "spurious_faults", stats_int(s->v.spurious),
	    "fault_around", "filled_ahead", stats_int(s->v.ahead_filled), "seen_used",
	    stats_int(s->v.ahead_used), "frames", "budget", stats_int(s->fdb.budget_frames),
	    "resident", stats_int(s->fdb.resident), "peak_resident",
	    stats_int(s->fdb.peak_resident), "free", stats_int(s->fdb.free_in_budget), "shared",
	    stats_int(s->fdb.shared), "holes_punched", stats_int(s->fdb.holes_punched),
	    "metadata_bytes", "table", stats_int(s->v.table_bytes), "frame_db",
	    stats_int(s->fdb.metadata_bytes), "fault_policy", stats_int(s->v.policy_bytes), "total",
	    stats_int(s->metadata), "percent_of_guest", percent);
}

static json_t *stats_wss(const struct reclaim_vm_stats *w)
{
	return json_pack("{s:I, s:I, s:I, s:i, s:i, s:I}", "pages", stats_int(w->wss.pages), "lo",
			 stats_int(w->wss.lo), "hi", stats_int(w->wss.hi), "sampled",
			 (int)w->wss.sampled, "touched", (int)w->wss.touched, "periods",
			 stats_int(w->wss_periods));
}

static json_t *stats_swap(const struct reclaim_stats *r)
{
	if (!r->swap)
		return json_null();
	return json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "path",
			 r->swap_path, "io", r->swap_io, "direct", r->swap_direct, "slots",
			 stats_int(r->swap_slots), "used", stats_int(r->swap_used), "writes",
			 stats_int(r->swap_writes), "reads", stats_int(r->swap_reads),
			 "read_errors", stats_int(r->swap_read_errors), "checksum_failures",
			 stats_int(r->checksum_failures), "read_p50_ns",
			 stats_int(histo_quantile(&r->swapin_read_ns, 0.5)), "read_p99_ns",
			 stats_int(histo_quantile(&r->swapin_read_ns, 0.99)));
}

/* Overcommit: faults by kind, evictions, the scans that chose them, swap
 * and the working-set estimate (see reclaim.h). */
static json_t *stats_reclaim(const struct vm *vm, const struct vmem_stats *v)
{
	struct reclaim_stats r;
	struct reclaim_vm_stats w;

	if (!vm->mem.reclaim)
		return json_null();
	reclaim_get_stats(vm->mem.reclaim, &r);
	reclaim_vm_stats(vm->mem.reclaim, vm->mem.vmem, &w);
	return json_pack(
	    "{s:{s:I, s:I}, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, "
	    "s:{s:I, s:I}, s:I, s:b, s:o, s:o, s:I}",
	    "faults", "major", stats_int(v->cls[FAULT_SWAPIN].events), "minor", stats_int(v->minor),
	    "swap_outs", stats_int(v->swap_outs), "clean_drops", stats_int(v->clean_drops),
	    "zero_drops", stats_int(v->zero_drops), "swapped_pages", stats_int(v->swapped_pages),
	    "read_ahead", stats_int(v->swap_ahead), "direct_reclaims",
	    stats_int(v->direct_reclaims), "scan", "wakeups", stats_int(r.wakeups), "direct",
	    stats_int(r.direct), "windows", stats_int(r.scans), "pages", stats_int(r.scanned),
	    "evicted", stats_int(r.evicted), "pass_p50_ns",
	    stats_int(histo_quantile(&r.pass_ns, 0.5)), "pass_p99_ns",
	    stats_int(histo_quantile(&r.pass_ns, 0.99)), "watermarks", "low",
	    stats_int(r.low_frames), "high", stats_int(r.high_frames), "oom_kills",
	    stats_int(r.oom_kills), "oom_protect", w.oom_protect, "swap", stats_swap(&r),
	    "working_set", stats_wss(&w), "metadata_bytes", stats_int(r.metadata_bytes));
}

static const char *const stats_snap_states[] = {
    [VMEM_SNAP_IDLE] = "idle",
    [VMEM_SNAP_ARMED] = "armed",
    [VMEM_SNAP_FROZEN] = "frozen",
    [VMEM_SNAP_FAILED] = "failed",
};

/* Snapshots of this VM: the memory side (vmem.h) and the last one's pause
 * (snapshot.h); lazy restore's pages still in the snapshot file. */
static json_t *stats_snapshot(const struct vm *vm, const struct vmem_stats *v)
{
	struct vmem_snap_stats m;
	struct snapshot_progress p;

	json_t *o;

	vmem_snap_get_stats(vm->mem.vmem, &m);
	snapshot_status((struct vm *)vm, 0, &p);
	o = json_pack("{s:s, s:s, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		      "s:I, s:I, s:I, s:I, s:I}, s:I, s:I}",
		      "write_protect", m.wp_via, "state", stats_snap_states[m.state], "taken",
		      stats_int(m.snapshots), "wp_faults", stats_int(m.wp_faults), "last",
		      "pause_ns", stats_int(p.pause_ns), "park_ns", stats_int(p.park_ns),
		      "machine_ns", stats_int(p.machine_ns), "freeze_ns", stats_int(p.freeze_ns),
		      "resume_ns", stats_int(p.resume_ns), "arm_ns", stats_int(p.arm_ns), "rearmed",
		      stats_int(p.rearmed), "reprotected", stats_int(p.reprotected), "pages",
		      stats_int(p.pages_total), "saved_by_writer", stats_int(m.saved_by_writer),
		      "saved_by_fault", stats_int(m.saved_by_fault), "pending",
		      stats_int(m.pending), "bytes", stats_int(p.bytes), "write_ns",
		      stats_int(p.write_ns), "lazy_pages_left", stats_int(v->source_pages),
		      "lazy_read_ahead", stats_int(v->source_ahead));
	/* A restore's bulk loads (vmem_load_run), by who loaded. */
	if (o)
		json_object_set_new(o, "restore_loaded",
				    json_pack("{s:I, s:I, s:I, s:I, s:I}", "eager",
					      stats_int(v->loaded[VMEM_LOAD_EAGER]), "working_set",
					      stats_int(v->loaded[VMEM_LOAD_PREFETCH]),
					      "background",
					      stats_int(v->loaded[VMEM_LOAD_BACKGROUND]),
					      "read_ahead", stats_int(v->loaded[VMEM_LOAD_AHEAD]),
					      "mapped", stats_int(v->load_mapped)));
	return o;
}

/* One VM's frames: its own, and those it still maps from a fork image. */
static json_t *stats_fork_frames(const struct vmem_stats *v)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:s}", "private_frames",
			 stats_int(v->resident_pages), "shared_frames", stats_int(v->shared_pages),
			 "cow_pages", stats_int(v->cow_pages), "remapped_pages",
			 stats_int(v->remapped_pages), "share_via",
			 v->share_via ? v->share_via : "none yet");
}

/* A child's state: "stopped" once it has been released (fleet.h), and
 * "stopping" while it is being: its frames, threads and fds are then on
 * their way back. */
static const char *stats_child_state(const struct fleet_child *c)
{
	const char *state = c->vm ? vm_state_name(c->vm) : "stopping";

	if (c->released)
		return "stopped";
	return strcmp(state, "stopped") ? state : "stopping";
}

static json_t *stats_fork_child(const struct fleet_child *c)
{
	struct vmem_stats v = {0};
	char id[16];
	json_t *o;

	if (c->vm) {
		snprintf(id, sizeof(id), "%u.%u", c->vm->forkid.generation, c->vm->forkid.index);
		vmem_get_stats(c->vm->mem.vmem, &v);
	} else {
		snprintf(id, sizeof(id), "%u.%u", c->generation, c->index);
	}
	o = stats_fork_frames(&v);
	if (o && json_object_update_new(
		     o, json_pack("{s:s, s:s, s:i, s:i, s:s, s:I}", "id", id, "state",
				  stats_child_state(c), "cpu", c->cpu, "status",
				  c->vm ? c->vm->status : c->status, "reason",
				  c->vm ? "" : c->reason, "first_run_monotonic_ns",
				  stats_int(c->vm ? __atomic_load_n(&c->vm->stats.first_run_ns,
								    __ATOMIC_RELAXED)
						  : c->first_run_ns)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void stats_add_child(void *arg, const struct fleet_child *c)
{
	json_t **children = arg;

	if (*children && json_array_append_new(*children, stats_fork_child(c))) {
		json_decref(*children);
		*children = NULL;
	}
}

/* The VM's fork identity and frames, and its children's. */
static json_t *stats_fork(const struct vm *vm, const struct vmem_stats *v)
{
	json_t *o = stats_fork_frames(v), *children = json_array();

	if (vm->cfg.fleet)
		fleet_visit(vm->cfg.fleet, stats_add_child, &children);
	if (!o || !children || json_object_set_new(o, "children", children) ||
	    json_object_update_new(o, json_pack("{s:i, s:i}", "generation", vm->forkid.generation,
						"index", vm->forkid.index))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *stats_second_level(const struct vm *vm, const struct sl_stats *s)
{
	json_t *o = stats_second_level_counts(vm, s);

	if (o && json_object_set_new(o, "fork", stats_fork(vm, &s->v))) {
		json_decref(o);
		return NULL;
	}
	if (o && json_object_set_new(o, "snapshot", stats_snapshot(vm, &s->v))) {
		json_decref(o);
		return NULL;
	}
	if (o && json_object_set_new(o, "reclaim", stats_reclaim(vm, &s->v))) {
		json_decref(o);
		return NULL;
	}

	/* Which way the kernel let us in: see uffd.c. */
	if (o && json_object_set_new(
		     o, "userfaultfd",
		     json_pack("{s:s}", "opened_via", s->v.uffd_via ? s->v.uffd_via : "none"))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The line's overcommit part: faults by kind, swap, the working set. */
static void stats_print_reclaim(const struct vm *vm, const struct vmem_stats *v, FILE *f)
{
	struct reclaim_vm_stats w;

	if (!vm->mem.reclaim)
		return;
	reclaim_vm_stats(vm->mem.reclaim, vm->mem.vmem, &w);
	fprintf(f, " major=%lu minor=%lu swap_out=%lu clean_drop=%lu zero_drop=%lu swapped=%lu",
		(unsigned long)v->cls[FAULT_SWAPIN].events, (unsigned long)v->minor,
		(unsigned long)v->swap_outs, (unsigned long)v->clean_drops,
		(unsigned long)v->zero_drops, (unsigned long)v->swapped_pages);
	if (w.wss_periods)
		fprintf(f, " wss=%lu[%lu-%lu]", (unsigned long)w.wss.pages, (unsigned long)w.wss.lo,
			(unsigned long)w.wss.hi);
}

/* The reader's tallies change with each report, whoever asks for it. */
static struct guest_counters *stats_gc(const struct vm *vm)
{
	return (struct guest_counters *)&vm->counters;
}

/* Only a guest that publishes the page has it read: on another machine
 * that GPA is the guest's own memory (and reading it could fault it in). */
static void stats_print_first_level(const struct vm *vm, FILE *f)
{
	if (vm->machine && vm->machine->counters_page)
		guest_counters_print(stats_gc(vm), &vm->mem, BOOT_COUNTERS_GPA, f);
}

static json_t *stats_first_level_json(const struct vm *vm)
{
	if (!vm->machine || !vm->machine->counters_page)
		return NULL;
	return guest_counters_json(stats_gc(vm), &vm->mem, BOOT_COUNTERS_GPA);
}

void stats_print_line(const struct vm *vm, FILE *f)
{
	double t = (histo_now_ns() - vm->stats.start_ns) / 1e9;
	struct sl_stats s;

	if (!sl_gather(vm, &s)) {
		fprintf(f, "vmm-stats t=%.1fs manager=kernel rss_kb=%ld", t, stats_peak_rss_kb());
		stats_print_first_level(vm, f);
		fputc('\n', f);
		return;
	}
	fprintf(f,
		"vmm-stats t=%.1fs zero_fill=%lu/%lup p50=%luus p99=%luus resident=%lu free=%lu "
		"shared=%lu meta_kb=%zu rss_kb=%ld",
		t, (unsigned long)s.v.cls[FAULT_ZERO].events,
		(unsigned long)s.v.cls[FAULT_ZERO].pages,
		(unsigned long)histo_quantile(&s.v.cls[FAULT_ZERO].ns, 0.5) / 1000,
		(unsigned long)histo_quantile(&s.v.cls[FAULT_ZERO].ns, 0.99) / 1000,
		(unsigned long)s.fdb.resident, (unsigned long)s.fdb.free_in_budget,
		(unsigned long)s.fdb.shared, s.metadata >> 10, stats_peak_rss_kb());
	stats_print_reclaim(vm, &s.v, f);
	stats_print_first_level(vm, f);
	fputc('\n', f);
}

/* Nanoseconds from start to t; 0 for a time not reached (a VM that
 * failed to set up has no end or first line). */
static json_int_t stats_since(uint64_t start, uint64_t t)
{
	return t >= start ? stats_int(t - start) : 0;
}

static json_t *stats_counters(const struct vm *vm)
{
	const struct vm_stats *s = &vm->stats;
	const struct hcall_stats *h = &vm->hcall.stats;
	uint64_t first = vm->con.first_line_ns;

	uint64_t run = __atomic_load_n(&s->first_run_ns, __ATOMIC_RELAXED);

	return json_pack(
	    "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:I, "
	    "s:I, s:I, s:I}",
	    "machine", vm->machine ? vm->machine->name : "vmm", "open_bus_io",
	    stats_int(s->open_bus_io), "guest_mem_bytes", stats_int(vm->mem.size),
	    "start_monotonic_ns", stats_int(s->start_ns), "first_run_ns",
	    run ? stats_since(s->start_ns, run) : 0, "wall_ns", stats_since(s->start_ns, s->end_ns),
	    "first_line_ns", first ? stats_since(s->start_ns, first) : 0, "io_exits",
	    stats_int(s->io_exits), "mmio_exits", stats_int(s->mmio_exits), "serial_bytes",
	    stats_int(vm->uart.bytes), "console_lines", stats_int(vm->con.lines), "hcalls", "line",
	    stats_int(h->calls[VMM_HC_LINE]), "discard", stats_int(h->calls[VMM_HC_DISCARD]),
	    "copy", stats_int(h->calls[VMM_HC_COPY]), "errors", stats_int(h->errors),
	    "pages_discarded", stats_int(h->discarded_pages), "pages_copied",
	    stats_int(h->copied_pages), "loader_pages", stats_int(s->loader_pages), "peak_rss_kb",
	    (json_int_t)stats_peak_rss_kb());
}

static uint64_t stats_fault_service_ns(const struct vmem_stats *v)
{
	uint64_t ns = 0;

	for (int c = 0; v && c < FAULT_NR_CLASSES; c++)
		ns += v->cls[c].ns.sum;
	return ns;
}

/* Where a run's time went, from main to the guest's end: the VMM's parts
 * (before the first KVM_RUN, exits handled, faults served) and the
 * guest's own (the rest of its run). exec to main and the end to exit
 * are the caller's to time (bench/boot-latency). */
static json_t *stats_phases(const struct vm *vm, const struct vmem_stats *v)
{
	const struct vm_stats *s = &vm->stats;
	uint64_t run = __atomic_load_n(&s->first_run_ns, __ATOMIC_RELAXED);
	uint64_t guest = run && s->stop_ns > run ? s->stop_ns - run : 0;
	uint64_t vmm_in_guest = s->exit_ns + stats_fault_service_ns(v);

	return json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "main_monotonic_ns",
	    stats_int(vm->cfg.main_ns), "stop_monotonic_ns", stats_int(s->stop_ns),
	    "main_to_create_ns", vm->cfg.main_ns ? stats_since(vm->cfg.main_ns, s->start_ns) : 0,
	    "create_to_first_run_ns", run ? stats_since(s->start_ns, run) : 0, "guest_run_ns",
	    stats_int(guest), "exit_handling_ns", stats_int(s->exit_ns), "fault_service_ns",
	    stats_int(vmm_in_guest - s->exit_ns), "guest_own_ns",
	    stats_int(guest > vmm_in_guest ? guest - vmm_in_guest : 0));
}

/* Pause and resume latencies (vm_pause, vm_resume) as histograms. */
static json_t *stats_histo(const struct histo *h)
{
	return json_pack("{s:I, s:I, s:I, s:I}", "count", stats_int(h->count), "p50_ns",
			 stats_int(histo_quantile(h, 0.5)), "p99_ns",
			 stats_int(histo_quantile(h, 0.99)), "max_ns", stats_int(h->max));
}

static json_t *stats_pause(const struct vm_pause_stats *p)
{
	return json_pack("{s:I, s:I, s:I, s:o, s:o}", "pauses", stats_int(p->pauses), "resumes",
			 stats_int(p->resumes), "paused_ns", stats_int(p->paused_ns), "pause_ns",
			 stats_histo(&p->pause_ns), "resume_ns", stats_histo(&p->resume_ns));
}

static json_t *stats_vmm(const struct vm *vm, enum guest_ram_manager manager)
{
	json_t *o = json_pack("{s:s}", "memory_manager", guest_ram_manager_name(manager));
	struct sl_stats sl;
	bool have_sl = sl_gather(vm, &sl);
	int ret = o ? 0 : -1;

	if (!ret && have_sl)
		ret = json_object_set_new(o, "second_level", stats_second_level(vm, &sl));
	if (!ret)
		ret = json_object_update_new(o, stats_counters(vm));
	if (!ret)
		ret = json_object_set_new(o, "console_lost_lines",
					  json_integer(stats_int(vm->con.lost_lines)));
	if (!ret)
		ret = json_object_set_new(o, "pause", stats_pause(&vm->run.pause));
	if (!ret)
		ret = json_object_set_new(o, "phases", stats_phases(vm, have_sl ? &sl.v : NULL));
	if (ret) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* KVM's statistics: "vm", then "vcpu<N>" for each vCPU. */
static json_t *stats_kvm_all(const struct vm *vm)
{
	json_t *o = json_pack("{s:o}", "vm", stats_kvm(vm->stats_fd));
	const struct vcpu *v = &vm->vcpu; /* one vCPU for now; each gets its key */
	char key[16];

	snprintf(key, sizeof(key), "vcpu%d", v->id);
	if (o && json_object_set_new(o, key, stats_kvm(v->stats_fd))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The whole report; NULL only without memory. */
json_t *stats_report_json(const struct vm *vm, enum guest_ram_manager manager)
{
	return json_pack("{s:i, s:o, s:{s:o, s:o*}, s:o, s:o}", "status", vm->status, "reason",
			 stats_string(vm->reason, strlen(vm->reason)), "guest", "results",
			 stats_results(&vm->con), "first_level", stats_first_level_json(vm), "vmm",
			 stats_vmm(vm, manager), "kvm", stats_kvm_all(vm));
}

/* -EINVAL if path is a directory or names the same file as one of inputs. */
static int stats_check_target(const char *path, const char *const *inputs)
{
	struct stat target;

	if (stat(path, &target) < 0)
		return 0;
	if (S_ISDIR(target.st_mode))
		return err_input("--stats-json", "%s is a directory: expected a file name", path);
	return cli_check_not_input("--stats-json", path, inputs);
}

/* A temporary file beside path: ".NAME.XXXXXX" in path's directory. */
static int stats_open_temp(struct stats_file *sf)
{
	char *dir = strdup(sf->path), *base = strdup(sf->path);
	mode_t mask = umask(0);
	int fd = -1, ret = 0;

	umask(mask); /* only read: mkstemp's 0600 is widened to what fopen would give */
	if (!dir || !base ||
	    asprintf(&sf->tmp, "%s/.%s.XXXXXX", dirname(dir), basename(base)) < 0) {
		sf->tmp = NULL;
		ret = err_errno(ENOMEM, sf->path, "--stats-json: no memory");
		goto out;
	}
	fd = mkstemp(sf->tmp);
	if (fd < 0) {
		free(sf->tmp);
		sf->tmp = NULL;
	}
	if (fd < 0 || fchmod(fd, 0666 & ~mask) < 0 || !(sf->f = fdopen(fd, "w")))
		ret = err_sys(sf->path, "--stats-json: create a temporary file beside it");
out:
	if (ret && fd >= 0 && !sf->f)
		close(fd);
	if (ret)
		stats_abandon(sf);
	free(dir);
	free(base);
	return ret;
}

int stats_open(struct stats_file *sf, const char *path, const char *const *inputs)
{
	int ret;

	*sf = (struct stats_file){.path = path};
	if (!strcmp(path, "-")) {
		sf->f = stdout;
		return 0;
	}
	ret = stats_check_target(path, inputs);
	return ret ? ret : stats_open_temp(sf);
}

void stats_abandon(struct stats_file *sf)
{
	if (sf->f && sf->f != stdout)
		fclose(sf->f);
	if (sf->tmp)
		unlink(sf->tmp);
	free(sf->tmp);
	*sf = (struct stats_file){0};
}

/* The report is complete: put it in place (tmp NULL: f is the report
 * itself, stdout or a stream a test gave). */
static int stats_commit(struct stats_file *sf)
{
	int ret = 0;

	if (sf->f == stdout)
		ret = fflush(stdout) ? err_sys("stdout", "--stats-json: write") : 0;
	else if (fclose(sf->f))
		ret = err_sys(sf->tmp, "--stats-json: write");
	else if (sf->tmp && rename(sf->tmp, sf->path) < 0)
		ret = err_sys(sf->path, "--stats-json: rename the report into place");
	sf->f = NULL;
	if (!ret) {
		free(sf->tmp);
		sf->tmp = NULL;
	}
	return ret;
}

/* A real's 4 significant digits are all percent_of_guest needs. */
#define STATS_DUMP_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(4))

int stats_write_json(const struct vm *vm, enum guest_ram_manager manager, struct stats_file *sf)
{
	json_t *report = stats_report_json(vm, manager);
	int ret = 0;

	if (!report)
		ret = err_errno(ENOMEM, sf->path, "--stats-json: cannot build the report");
	else if (json_dumpf(report, sf->f, STATS_DUMP_FLAGS) || fputc('\n', sf->f) == EOF)
		ret = err_sys(sf->f == stdout ? "stdout" : sf->path, "--stats-json: write");
	json_decref(report);
	if (!ret)
		ret = stats_commit(sf);
	stats_abandon(sf);
	return ret;
}
