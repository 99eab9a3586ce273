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

static void json_vmm(FILE *f, const struct vm *vm)
{
	const struct vm_stats *s = &vm->stats;
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	fprintf(f, "  \"vmm\": {\n");
	fprintf(f, "    \"guest_mem_bytes\": %lu,\n", (unsigned long)vm->mem.size);
	fprintf(f, "    \"wall_ns\": %lu,\n", (unsigned long)(s->end_ns - s->start_ns));
	fprintf(f, "    \"first_line_ns\": %lu,\n",
		(unsigned long)(vm->con.first_line_ns ? vm->con.first_line_ns - s->start_ns : 0));
	fprintf(f, "    \"io_exits\": %lu,\n", (unsigned long)s->io_exits);
	fprintf(f, "    \"mmio_exits\": %lu,\n", (unsigned long)s->mmio_exits);
	fprintf(f, "    \"serial_bytes\": %lu,\n", (unsigned long)vm->uart.bytes);
	fprintf(f, "    \"console_lines\": %lu,\n", (unsigned long)vm->con.lines);
	fprintf(f, "    \"hcalls\": {\"line\": %lu, \"discard\": %lu, \"copy\": %lu, \"errors\": %lu},\n",
		(unsigned long)s->hcalls[VMM_HC_LINE], (unsigned long)s->hcalls[VMM_HC_DISCARD],
		(unsigned long)s->hcalls[VMM_HC_COPY], (unsigned long)s->hcall_errors);
	fprintf(f, "    \"pages_discarded\": %lu,\n", (unsigned long)s->pages_discarded);
	fprintf(f, "    \"pages_copied\": %lu,\n", (unsigned long)s->pages_copied);
	fprintf(f, "    \"loader_pages\": %lu,\n", (unsigned long)s->loader_pages);
	fprintf(f, "    \"peak_rss_kb\": %ld\n", ru.ru_maxrss);
	fprintf(f, "  },\n");
}

int stats_write_json(const struct vm *vm, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;

	if (!f)
		return err_sys(path, "fopen");
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
