/* vmm/devices/console.h: the guest's console output.
 *
 * Bytes from the 16550 and whole lines from the line-console hypercall meet
 * here and leave as whole lines on the output fd, one write() per line, so
 * that a reader of a pipe sees each line as soon as the guest ends it.
 * RESULT lines are also kept for the statistics report.
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm_abi.h"

#define CONSOLE_MAX_RESULTS 32

struct console {
	int out_fd;
	size_t len; /* bytes pending in line[] */
	char line[VMM_LINE_MAX + 1];
	uint64_t lines;
	uint64_t lost_lines;	/* could not be written to out_fd */
	uint64_t first_line_ns; /* CLOCK_MONOTONIC of the first line, 0 if none */
	int nr_results;
	char *results[CONSOLE_MAX_RESULTS];
};

void console_init(struct console *c, int out_fd);
void console_destroy(struct console *c);
void console_putc(struct console *c, char ch);
/* A whole line without its newline. */
void console_write_line(struct console *c, const char *s, size_t len);
/* Emit a partial line left at exit. */
void console_flush(struct console *c);

#endif
