/* vmm/devices/serial.c: 16550-style UART, see serial.h. */
#include "serial.h"

#include <string.h>

enum { UART_RBR_THR, UART_IER, UART_IIR_FCR, UART_LCR, UART_MCR, UART_LSR, UART_MSR, UART_SCR };

#define UART_LCR_DLAB	0x80
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_IIR_NO_INT 0x01

void serial_init(struct serial *s, uint16_t base, struct console *con)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->con = con;
}

void serial_out(struct serial *s, uint16_t port, uint8_t val)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (port - s->base) {
	case UART_RBR_THR:
		if (dlab) {
			s->dll = val;
		} else {
			s->bytes++;
			console_putc(s->con, (char)val);
		}
		break;
	case UART_IER:
		if (dlab)
			s->dlm = val;
		else
			s->ier = val & 0x0f;
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		s->mcr = val;
		break;
	case UART_SCR:
		s->scr = val;
		break;
	default: /* FCR, LSR, MSR: nothing to keep */
		break;
	}
}

uint8_t serial_in(struct serial *s, uint16_t port)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (port - s->base) {
	case UART_RBR_THR:
		return dlab ? s->dll : 0;
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR_FCR:
		return UART_IIR_NO_INT;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return UART_LSR_THRE | UART_LSR_TEMT;
	case UART_MSR:
		return 0xb0; /* DCD, DSR, CTS: a connected line */
	case UART_SCR:
		return s->scr;
	}
	return 0xff;
}

/* Byte accesses only, as a 16550's registers are. */
static bool serial_io(void *dev, const struct ioport_access *a)
{
	struct serial *s = dev;

	if (a->size != 1)
		return false;
	for (uint32_t i = 0; i < a->count; i++) {
		if (a->out)
			serial_out(s, a->port, a->data[i]);
		else
			a->data[i] = serial_in(s, a->port);
	}
	return true;
}

int serial_register(struct serial *s, struct ioport_bus *bus)
{
	return ioport_register(bus, s->base, SERIAL_NR_PORTS, "serial", serial_io, s);
}
