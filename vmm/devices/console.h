/* vmm/devices/console.h: the guest's console output.
 *
 * Bytes from the 16550 and whole lines from the line-console hypercall meet
 * here and leave as whole lines on the output fd, one write() per line, so
 * that a reader of a pipe sees each line as soon as the guest ends it.
 * RESULT lines are also kept for the statistics report. On a terminal a
 * line may also go out in parts (console_flush_partial: a prompt, an
 * echo); elsewhere (a pipe, a file, output shared by fork children) lines
 * stay whole. Carriage returns are dropped, except for a terminal, which
 * needs them once the console puts it in raw mode (conin.h).
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devstate.h"
#include "vmm_abi.h"

#define CONSOLE_MAX_RESULTS 32
#define CONSOLE_PREFIX_MAX  24

/* Told of each line the guest ends, once it is written out (vCPU thread). */
typedef void (*console_watch_fn)(void *arg, const char *line, size_t len);

struct console {
	int out_fd;
	console_watch_fn watch; /* NULL: nobody */
	void *watch_arg;
	char prefix[CONSOLE_PREFIX_MAX]; /* put before each line (a fork child's id) */
	bool keep_cr;			 /* out_fd is a terminal: '\r' goes out too */
	bool mid_line;			 /* part of the line is out already */
	size_t len;			 /* bytes pending in line[] */
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
/* Lines go to out_fd from now on, each after prefix (NULL: none). */
void console_set_output(struct console *c, int out_fd, const char *prefix);
/* Call fn(arg, line, len) for each line from now on (NULL: stop). */
void console_watch(struct console *c, console_watch_fn fn, void *arg);
/* Emit a partial line left at exit. */
void console_flush(struct console *c);
/* Write what there is of the line now, without ending it. */
void console_flush_partial(struct console *c);

/* State (devstate.h), version CONSOLE_STATE_VERSION, what the guest's
 * output and its report need to go on as if there had been no snapshot:
 *   u32 len, len bytes   the partial line: a line the guest began before
 *                        the snapshot ends after it, whole; no '\n' in it
 *                        ('\r' only if the saving console kept them)
 *   u64 lines            lines the guest has printed (console_lines)
 *   u32 nr_results, then each: u32 len, len bytes   the RESULT lines kept,
 *                        which the guest reported and the report shows
 * Not saved: out_fd (the restoring VM's own), lost_lines (failures of the
 * saving VMM's output, not this one's) and first_line_ns (a clock reading
 * of the saving process: a restored console with lines reports none).
 * Restore before the VM runs: the results are published to the stats
 * reader without a lock only as they are appended. */
#define CONSOLE_STATE_VERSION 1
int console_save(const struct console *c, void *buf, size_t len, size_t *used);
int console_restore(struct console *c, const void *buf, size_t len, char *err, size_t errlen);
/* The console's row in the VM's states (it has no ports). */
int console_register(struct console *c, struct devstate_table *states);

#endif
