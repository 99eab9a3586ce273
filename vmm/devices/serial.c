/* vmm/devices/serial.c: 16550-style UART, see serial.h. */
#include "serial.h"

#include <string.h>

enum { UART_RBR_THR, UART_IER, UART_IIR_FCR, UART_LCR, UART_MCR, UART_LSR, UART_MSR, UART_SCR };

#define UART_LCR_DLAB	0x80
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_IIR_NO_INT 0x01
#define UART_IER_MASK	0x0f /* bits 4-7 are reserved: never kept */

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
			s->ier = val & UART_IER_MASK;
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

int serial_save(const struct serial *s, void *buf, size_t len, size_t *used)
{
	struct devstate_writer w;

	devstate_begin(&w, buf, len, SERIAL_STATE_VERSION);
	devstate_put_u8(&w, s->ier);
	devstate_put_u8(&w, s->lcr);
	devstate_put_u8(&w, s->mcr);
	devstate_put_u8(&w, s->scr);
	devstate_put_u8(&w, s->dll);
	devstate_put_u8(&w, s->dlm);
	devstate_put_u64(&w, s->bytes);
	return devstate_end(&w, used);
}

int serial_restore(struct serial *s, const void *buf, size_t len, char *err, size_t errlen)
{
	struct devstate_reader r;
	struct serial n = *s;

	devstate_open(&r, "serial", SERIAL_STATE_VERSION, buf, len, err, errlen);
	n.ier = devstate_get_u8(&r, "ier");
	n.lcr = devstate_get_u8(&r, "lcr");
	n.mcr = devstate_get_u8(&r, "mcr");
	n.scr = devstate_get_u8(&r, "scr");
	n.dll = devstate_get_u8(&r, "dll");
	n.dlm = devstate_get_u8(&r, "dlm");
	n.bytes = devstate_get_u64(&r, "bytes");
	if (n.ier & ~UART_IER_MASK)
		devstate_fail(&r, "ier %#x: expected %#x or less (bits 4-7 are reserved)", n.ier,
			      UART_IER_MASK);
	if (devstate_close(&r))
		return r.ret;
	*s = n;
	return 0;
}

DEVSTATE_OPS(serial_state_ops, "serial", struct serial, serial_save, serial_restore);

int serial_register(struct serial *s, struct ioport_bus *bus, struct devstate_table *states)
{
	int ret = ioport_register(bus, s->base, SERIAL_NR_PORTS, "serial", serial_io, s);

	return ret ? ret : devstate_register(states, &serial_state_ops, s);
}
