/* guest-kernel/gk_console.c: gk_printf and the two ways a line leaves the guest.
 *
 * Supports %d %i %u %x %p %c %s %%, the l/ll/z length modifiers and a
 * field width with optional zero padding: what key=value lines need.
 */
#include "gk_console.h"
#include "gk_arch.h"
#include "gk_lib.h"

#define UART_LSR      5
#define UART_LSR_THRE 0x20

void gk_console_init(struct gk_console *c, uint16_t serial_port, struct gk_hcall *line_hc)
{
	c->serial_port = serial_port;
	c->line_hc = line_hc;
}

static void gk_console_uart_putc(struct gk_console *c, char ch)
{
	unsigned spins = 0;

	/* Bounded: a UART that never drains must not hang the kernel. */
	while (!(gk_arch_inb(c->serial_port + UART_LSR) & UART_LSR_THRE) && ++spins < 1000)
		;
	gk_arch_outb(c->serial_port, (uint8_t)ch);
}

void gk_console_flush(struct gk_console *c)
{
	unsigned i;

	if (c->line_hc) {
		gk_hcall_call(c->line_hc, VMM_HC_LINE, 0, (uint64_t)(uintptr_t)c->line, c->len);
	} else {
		for (i = 0; i < c->len; i++)
			gk_console_uart_putc(c, c->line[i]);
		gk_console_uart_putc(c, '\n');
	}
	c->len = 0;
}

static void gk_console_putc(struct gk_console *c, char ch)
{
	if (ch == '\n') {
		gk_console_flush(c);
		return;
	}
	if (c->len == CONSOLE_LINE_MAX)
		gk_console_flush(c);
	c->line[c->len++] = ch;
}

static void gk_console_puts(struct gk_console *c, const char *s, int width)
{
	int n = (int)strlen(s);

	for (; n < width; width--)
		gk_console_putc(c, ' ');
	while (*s)
		gk_console_putc(c, *s++);
}

static void gk_console_putu(struct gk_console *c, uint64_t v, unsigned base, int width, char pad,
			    int neg)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		buf[n++] = '-';
	for (; width > n; width--)
		gk_console_putc(c, pad);
	while (n)
		gk_console_putc(c, buf[--n]);
}

/* n bytes as they are, newlines included: a task's line is one line. */
void gk_console_mem(struct gk_console *c, const char *s, unsigned n)
{
	while (n--) {
		if (c->len == CONSOLE_LINE_MAX)
			gk_console_flush(c);
		c->line[c->len++] = *s++;
	}
}

void gk_vprintf(struct gk_console *c, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int width = 0, longs = 0;
		char pad = ' ';
		uint64_t u;
		int64_t d;

		if (*fmt != '%') {
			gk_console_putc(c, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z')
			longs++, fmt++;
		switch (*fmt) {
		case 'd':
		case 'i':
			d = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
			u = d < 0 ? -(uint64_t)d : (uint64_t)d;
			gk_console_putu(c, u, 10, width, pad, d < 0);
			break;
		case 'u':
		case 'x':
			u = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
			gk_console_putu(c, u, *fmt == 'u' ? 10 : 16, width, pad, 0);
			break;
		case 'p':
			gk_console_puts(c, "0x", 0);
			gk_console_putu(c, (uint64_t)(uintptr_t)va_arg(ap, void *), 16, width, pad,
					0);
			break;
		case 'c':
			gk_console_putc(c, (char)va_arg(ap, int));
			break;
		case 's':
			gk_console_puts(c, va_arg(ap, const char *), width);
			break;
		case '%':
			gk_console_putc(c, '%');
			break;
		default: /* unknown conversion: show it rather than guess */
			gk_console_putc(c, '%');
			if (!*fmt)
				return;
			gk_console_putc(c, *fmt);
		}
	}
}

void gk_printf(struct gk_console *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gk_vprintf(c, fmt, ap);
	va_end(ap);
}
