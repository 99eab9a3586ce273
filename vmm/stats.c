/* vmm/stats.c: the --stats-json report, see stats.h. */
#include "stats.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "err.h"
#include "kstats.h"
#include "vm.h"
#include "vmem.h"

static void json_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static int json_is_number(const char *s, size_t len)
{
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return len < 20;
}

/* "workload=touch pages=512" -> {"workload": "touch", "pages": 512} */
static void json_result(FILE *f, const char *line)
{
	const char *p = line;
	int first = 1;

	fputc('{', f);
	while (*p) {
		const char *key = p, *eq, *end;

		end = strchr(p, ' ');
		if (!end)
			end = p + strlen(p);
		eq = memchr(key, '=', end - key);
		if (eq) {
			fputs(first ? "" : ", ", f);
			json_string(f, key, eq - key);
			fputs(": ", f);
			if (json_is_number(eq + 1, end - eq - 1))
				fwrite(eq + 1, 1, end - eq - 1, f);
			else
				json_string(f, eq + 1, end - eq - 1);
			first = 0;
		}
		p = *end ? end + 1 : end;
	}
	fputc('}', f);
}

static void json_kstats(FILE *f, const char *name, int fd)
{
	struct kstats ks;

	fprintf(f, "    \"%s\": {", name);
	if (kstats_read(fd, &ks) == 0) {
		for (int i = 0; i < ks.n; i++)
			fprintf(f, "%s\"%s\": %lu", i ? ", " : "", ks.v[i].name,
				(unsigned long)ks.v[i].value);
		kstats_free(&ks);
	}
	fputs("}", f);
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

static void json_fault_classes(FILE *f, const struct vmem_stats *v)
{
	fprintf(f, "      \"faults\": {");
	for (int c = 0; c < FAULT_NR_CLASSES; c++) {
		const struct vmem_class_stats *cs = &v->cls[c];

		fprintf(f,
			"%s\n        \"%s\": {\"events\": %lu, \"pages\": %lu, \"p50_ns\": %lu, "
			"\"p99_ns\": %lu, \"max_ns\": %lu, \"p50_ns_per_page\": %lu, "
			"\"p99_ns_per_page\": %lu}",
			c ? "," : "", fault_class_name(c), (unsigned long)cs->events,
			(unsigned long)cs->pages, (unsigned long)histo_quantile(&cs->ns, 0.5),
			(unsigned long)histo_quantile(&cs->ns, 0.99), (unsigned long)cs->ns.max,
			(unsigned long)histo_quantile(&cs->ns_per_page, 0.5),
			(unsigned long)histo_quantile(&cs->ns_per_page, 0.99));
	}
	fprintf(f, "\n      },\n");
}

static void json_second_level(FILE *f, const struct vm *vm)
{
	struct sl_stats s;

	fprintf(f, "    \"memory_manager\": \"%s\",\n", gmem_manager_name(vm->mem.manager));
	if (!sl_gather(vm, &s))
		return;
	fprintf(f, "    \"second_level\": {\n");
	json_fault_classes(f, &s.v);
	fprintf(f, "      \"invalid_accesses\": %lu,\n", (unsigned long)vm->stats.mmio_exits);
	fprintf(f, "      \"vmm_filled_pages\": %lu,\n", (unsigned long)s.v.vmm_filled_pages);
	fprintf(f, "      \"discarded_pages\": %lu,\n", (unsigned long)s.v.discarded_pages);
	fprintf(f, "      \"copied_pages\": %lu,\n", (unsigned long)s.v.copied_pages);
	fprintf(f, "      \"spurious_faults\": %lu,\n", (unsigned long)s.v.spurious);
	fprintf(f, "      \"userfaultfd\": {\"opened_via\": \"%s\"},\n",
		s.v.uffd_via ? s.v.uffd_via : "");
	fprintf(f, "      \"fault_around\": {\"filled_ahead\": %lu, \"seen_used\": %lu},\n",
		(unsigned long)s.v.ahead_filled, (unsigned long)s.v.ahead_used);
	fprintf(f,
		"      \"frames\": {\"budget\": %lu, \"resident\": %lu, \"free\": %lu, \"shared\": "
		"%lu, \"holes_punched\": %lu},\n",
		(unsigned long)s.fdb.budget_frames, (unsigned long)s.fdb.resident,
		(unsigned long)s.fdb.free_in_budget, (unsigned long)s.fdb.shared,
		(unsigned long)s.fdb.holes_punched);
	fprintf(f,
		"      \"metadata_bytes\": {\"table\": %zu, \"frame_db\": %zu, \"fault_policy\": "
		"%zu, \"total\": %zu, \"percent_of_guest\": %.3f}\n",
		s.v.table_bytes, s.fdb.metadata_bytes, s.v.policy_bytes, s.metadata,
		100.0 * s.metadata / vm->mem.size);
	fprintf(f, "    },\n");
}

void stats_print_line(const struct vm *vm, FILE *f)
{
	double t = (vm_now_ns() - vm->stats.start_ns) / 1e9;
	struct sl_stats s;

	if (!sl_gather(vm, &s)) {
		fprintf(f, "vmm-stats t=%.1fs manager=kernel rss_kb=%ld\n", t, stats_peak_rss_kb());
		return;
	}
	fprintf(f,
		"vmm-stats t=%.1fs zero_fill=%lu/%lup p50=%luus p99=%luus resident=%lu free=%lu "
		"shared=%lu meta_kb=%zu rss_kb=%ld\n",
		t, (unsigned long)s.v.cls[FAULT_ZERO].events,
		(unsigned long)s.v.cls[FAULT_ZERO].pages,
		(unsigned long)histo_quantile(&s.v.cls[FAULT_ZERO].ns, 0.5) / 1000,
		(unsigned long)histo_quantile(&s.v.cls[FAULT_ZERO].ns, 0.99) / 1000,
		(unsigned long)s.fdb.resident, (unsigned long)s.fdb.free_in_budget,
		(unsigned long)s.fdb.shared, s.metadata >> 10, stats_peak_rss_kb());
}

static void json_vmm(FILE *f, const struct vm *vm)
{
	const struct vm_stats *s = &vm->stats;

	fprintf(f, "  \"vmm\": {\n");
	json_second_level(f, vm);
	fprintf(f, "    \"guest_mem_bytes\": %lu,\n", (unsigned long)vm->mem.size);
	fprintf(f, "    \"wall_ns\": %lu,\n", (unsigned long)(s->end_ns - s->start_ns));
	fprintf(f, "    \"first_line_ns\": %lu,\n",
		(unsigned long)(vm->con.first_line_ns ? vm->con.first_line_ns - s->start_ns : 0));
	fprintf(f, "    \"io_exits\": %lu,\n", (unsigned long)s->io_exits);
	fprintf(f, "    \"mmio_exits\": %lu,\n", (unsigned long)s->mmio_exits);
	fprintf(f, "    \"serial_bytes\": %lu,\n", (unsigned long)vm->uart.bytes);
	fprintf(f, "    \"console_lines\": %lu,\n", (unsigned long)vm->con.lines);
	fprintf(f, "    \"console_lost_lines\": %lu,\n", (unsigned long)vm->con.lost_lines);
	fprintf(
	    f,
	    "    \"hcalls\": {\"line\": %lu, \"discard\": %lu, \"copy\": %lu, \"errors\": %lu},\n",
	    (unsigned long)s->hcalls[VMM_HC_LINE], (unsigned long)s->hcalls[VMM_HC_DISCARD],
	    (unsigned long)s->hcalls[VMM_HC_COPY], (unsigned long)s->hcall_errors);
	fprintf(f, "    \"pages_discarded\": %lu,\n", (unsigned long)s->pages_discarded);
	fprintf(f, "    \"pages_copied\": %lu,\n", (unsigned long)s->pages_copied);
	fprintf(f, "    \"loader_pages\": %lu,\n", (unsigned long)s->loader_pages);
	fprintf(f, "    \"peak_rss_kb\": %ld\n", stats_peak_rss_kb());
	fprintf(f, "  },\n");
}

FILE *stats_open(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;

	if (!f)
		err_sys(path, "--stats-json: fopen");
	return f;
}

int stats_write_json(const struct vm *vm, FILE *f, const char *path)
{
	fprintf(f, "{\n  \"status\": %d,\n  \"reason\": ", vm->status);
	json_string(f, vm->reason, strlen(vm->reason));
	fprintf(f, ",\n  \"guest\": {\"results\": [");
	for (int i = 0; i < vm->con.nr_results; i++) {
		fputs(i ? ", " : "", f);
		json_result(f, vm->con.results[i]);
	}
	fprintf(f, "]},\n");
	json_vmm(f, vm);
	fprintf(f, "  \"kvm\": {\n");
	json_kstats(f, "vm", vm->stats_fd);
	fprintf(f, ",\n");
	json_kstats(f, "vcpu0", vm->vcpu.stats_fd);
	fprintf(f, "\n  }\n}\n");
	if (f == stdout)
		return fflush(f) ? -EIO : 0;
	return fclose(f) ? err_sys(path, "write") : 0;
}
