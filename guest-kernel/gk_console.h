/* guest-kernel/gk_console.h: line-buffered kernel output.
 *
 * Text collects in a line buffer; a newline sends it either as one
 * VMM_HC_LINE hypercall (the VMM's "line-console" feature: one exit per
 * line) or byte by byte to the 16550 at serial_port (one exit per byte).
 */
#ifndef GK_CONSOLE_H
#define GK_CONSOLE_H

#include <stdarg.h>
#include <stdint.h>
#include "gk_hcall.h"

#define CONSOLE_LINE_MAX 256

struct gk_console {
	uint16_t serial_port;
	struct gk_hcall *line_hc; /* NULL: no line console, use the UART */
	unsigned len;
	char line[CONSOLE_LINE_MAX]; /* in the image: its GPA is below 4 GiB */
};

void gk_console_init(struct gk_console *c, uint16_t serial_port, struct gk_hcall *line_hc);
void gk_console_flush(struct gk_console *c);
void gk_printf(struct gk_console *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gk_vprintf(struct gk_console *c, const char *fmt, va_list ap);

/* Append n bytes to the line as they are; gk_console_flush sends it. */
void gk_console_mem(struct gk_console *c, const char *s, unsigned n);

#endif
