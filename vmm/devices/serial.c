/* vmm/devices/serial.c: a 16550A UART, see serial.h. */
#include "serial.h"

#include <string.h>

enum { UART_RBR_THR, UART_IER, UART_IIR_FCR, UART_LCR, UART_MCR, UART_LSR, UART_MSR, UART_SCR };

#define UART_LCR_DLAB	   0x80
#define UART_IER_RDI	   0x01
#define UART_IER_THRI	   0x02
#define UART_IER_RLSI	   0x04
#define UART_IER_MSI	   0x08
#define UART_IER_MASK	   0x0f /* bits 4-7 are reserved: never kept */
#define UART_IIR_NO_INT	   0x01
#define UART_IIR_MSI	   0x00
#define UART_IIR_THRI	   0x02
#define UART_IIR_RDI	   0x04
#define UART_IIR_RLSI	   0x06
#define UART_IIR_CTI	   0x0c
#define UART_IIR_ID	   0x0e
#define UART_IIR_FIFO	   0xc0 /* both bits: FIFOs enabled (a 16550A) */
#define UART_FCR_FE	   0x01
#define UART_FCR_RFR	   0x02
#define UART_FCR_XFR	   0x04
#define UART_FCR_KEPT	   0xc9 /* enable, DMA mode, trigger level */
#define UART_LSR_DR	   0x01
#define UART_LSR_OE	   0x02
#define UART_LSR_BI	   0x10
#define UART_LSR_THRE	   0x20
#define UART_LSR_TEMT	   0x40
#define UART_LSR_INT_ANY   0x1e /* OE, PE, FE, BI */
#define UART_MCR_OUT2	   0x08
#define UART_MCR_LOOP	   0x10
#define UART_MCR_MASK	   0x1f
#define UART_MSR_ANY_DELTA 0x0f
#define UART_MSR_LINE	   0xb0 /* DCD, DSR, CTS: a connected line */

static const uint8_t serial_itl[4] = {1, 4, 8, 14}; /* FCR bits 6-7 */

static void serial_reset(struct serial *s)
{
	s->ier = s->fcr = s->lcr = s->mcr = s->scr = s->dll = s->dlm = 0;
	s->iir = UART_IIR_NO_INT;
	s->lsr = UART_LSR_THRE | UART_LSR_TEMT;
	s->msr = UART_MSR_LINE;
	s->thr_ipending = false;
	s->fifo_head = s->fifo_count = 0;
}

void serial_init(struct serial *s, uint16_t base, struct console *con)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->base = base;
	s->con = con;
	s->irq_level = -1;
	serial_reset(s);
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

void serial_set_irq(struct serial *s, void (*irq)(void *arg, bool level), void *arg)
{
	s->irq = irq;
	s->irq_arg = arg;
}

static bool serial_fifo_on(const struct serial *s)
{
	return s->fcr & UART_FCR_FE;
}

/* IIR's interrupt, by the 16550's priority, and the line with it. */
static void serial_update(struct serial *s)
{
	uint8_t id = UART_IIR_NO_INT;
	bool dr = s->lsr & UART_LSR_DR;

	if ((s->ier & UART_IER_RLSI) && (s->lsr & UART_LSR_INT_ANY))
		id = UART_IIR_RLSI;
	else if ((s->ier & UART_IER_RDI) && dr)
		/* Below the trigger level a 16550 reports a timeout after four
		 * character times; here the timeout is at once. */
		id = serial_fifo_on(s) && s->fifo_count < serial_itl[s->fcr >> 6] ? UART_IIR_CTI
										  : UART_IIR_RDI;
	else if ((s->ier & UART_IER_THRI) && s->thr_ipending)
		id = UART_IIR_THRI;
	else if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_ANY_DELTA))
		id = UART_IIR_MSI;
	s->iir = id | (serial_fifo_on(s) ? UART_IIR_FIFO : 0);
	if (s->irq && s->irq_level != (id != UART_IIR_NO_INT)) {
		s->irq_level = id != UART_IIR_NO_INT;
		s->irq(s->irq_arg, s->irq_level);
	}
}

/* Move host input into the FIFO (or RBR) while there is room. */
static void serial_fill(struct serial *s)
{
	unsigned cap = serial_fifo_on(s) ? SERIAL_FIFO : 1;

	if (s->mcr & UART_MCR_LOOP)
		return; /* in loopback the line is cut from the host */
	/* A driver that takes interrupts is ready for input once it enables
	 * them, with OUT2 (which gates the UART's interrupt on a PC): Linux
	 * probes with IER 0x0f and clears the FIFO while it opens the port,
	 * and what the host sent before would be lost. */
	if (s->irq && (!(s->ier & UART_IER_RDI) || !(s->mcr & UART_MCR_OUT2)))
		return;
	while (s->queue_count && s->fifo_count < cap) {
		s->fifo[(s->fifo_head + s->fifo_count++) % SERIAL_FIFO] = s->queue[s->queue_head];
		s->queue_head = (s->queue_head + 1) % SERIAL_HOST_QUEUE;
		s->queue_count--;
	}
	if (s->fifo_count)
		s->lsr |= UART_LSR_DR;
}

/* A byte the UART receives from the line (or from itself in loopback). */
static void serial_rx_byte(struct serial *s, uint8_t b)
{
	unsigned cap = serial_fifo_on(s) ? SERIAL_FIFO : 1;

	if (s->fifo_count == cap) {
		s->lsr |= UART_LSR_OE;
		return;
	}
	s->fifo[(s->fifo_head + s->fifo_count++) % SERIAL_FIFO] = b;
	s->lsr |= UART_LSR_DR;
}

static uint8_t serial_read_rbr(struct serial *s)
{
	uint8_t b = 0;

	if (s->fifo_count) {
		b = s->fifo[s->fifo_head];
		s->fifo_head = (s->fifo_head + 1) % SERIAL_FIFO;
		s->fifo_count--;
		s->received++;
	}
	if (!s->fifo_count)
		s->lsr &= ~UART_LSR_DR;
	serial_fill(s);
	serial_update(s);
	return b;
}

static void serial_write_thr(struct serial *s, uint8_t val)
{
	if (s->mcr & UART_MCR_LOOP) {
		serial_rx_byte(s, val);
	} else {
		s->bytes++;
		console_putc(s->con, (char)val);
	}
	/* Sent at once: THR is empty again, and says so. */
	s->thr_ipending = true;
	serial_update(s);
}

static void serial_write_ier(struct serial *s, uint8_t val)
{
	uint8_t changed = (s->ier ^ val) & UART_IER_MASK;

	s->ier = val & UART_IER_MASK;
	/* Enabling THRI with THR empty raises it, as on a real 16550 (and
	 * Linux's probe for the THRE bug relies on it). */
	if (changed & UART_IER_THRI)
		s->thr_ipending = s->ier & UART_IER_THRI;
	/* The driver stops its THRE interrupt when it has nothing more to
	 * send: show the partial line now (a prompt, an echo). */
	if ((changed & UART_IER_THRI) && !(s->ier & UART_IER_THRI) && s->irq)
		console_flush_partial(s->con);
	if (changed & UART_IER_RDI)
		serial_fill(s);
	serial_update(s);
}

/* The FIFO's bytes back to the front of the host's queue, as if they
 * had not come yet: a driver clears the FIFO as it sets the port up, and
 * what the host sent is not lost on it. */
static void serial_unreceive(struct serial *s)
{
	while (s->fifo_count && s->queue_count < SERIAL_HOST_QUEUE) {
		s->fifo_count--;
		s->queue_head = (s->queue_head + SERIAL_HOST_QUEUE - 1) % SERIAL_HOST_QUEUE;
		s->queue[s->queue_head] = s->fifo[(s->fifo_head + s->fifo_count) % SERIAL_FIFO];
		s->queue_count++;
	}
	s->fifo_head = s->fifo_count = 0;
}

static void serial_write_fcr(struct serial *s, uint8_t val)
{
	/* Turning the FIFOs on or off clears them. */
	if ((val ^ s->fcr) & UART_FCR_FE)
		val |= UART_FCR_RFR | UART_FCR_XFR;
	if (val & UART_FCR_RFR) {
		serial_unreceive(s);
		s->lsr &= ~(UART_LSR_DR | UART_LSR_BI);
	}
	if (val & UART_FCR_XFR)
		s->thr_ipending = true;
	s->fcr = val & UART_FCR_KEPT;
	serial_fill(s);
	serial_update(s);
}

static void serial_write_mcr(struct serial *s, uint8_t val)
{
	s->mcr = val & UART_MCR_MASK;
	if (!(s->mcr & UART_MCR_LOOP))
		serial_fill(s); /* out of loopback, or OUT2 set */
	serial_update(s);
}

static void serial_out_locked(struct serial *s, uint16_t port, uint8_t val)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (port - s->base) {
	case UART_RBR_THR:
		if (dlab)
			s->dll = val;
		else
			serial_write_thr(s, val);
		break;
	case UART_IER:
		if (dlab)
			s->dlm = val;
		else
			serial_write_ier(s, val);
		break;
	case UART_IIR_FCR:
		serial_write_fcr(s, val);
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		serial_write_mcr(s, val);
		break;
	case UART_SCR:
		s->scr = val;
		break;
	default: /* LSR, MSR: read-only */
		break;
	}
}

void serial_out(struct serial *s, uint16_t port, uint8_t val)
{
	pthread_mutex_lock(&s->lock);
	serial_out_locked(s, port, val);
	pthread_mutex_unlock(&s->lock);
}

static uint8_t serial_read_iir(struct serial *s)
{
	uint8_t iir = s->iir;

	/* Reading IIR while it shows THRE clears that interrupt. */
	if ((iir & UART_IIR_ID) == UART_IIR_THRI) {
		s->thr_ipending = false;
		serial_update(s);
	}
	return iir;
}

static uint8_t serial_read_lsr(struct serial *s)
{
	uint8_t lsr = s->lsr;

	if (lsr & (UART_LSR_OE | UART_LSR_BI)) {
		s->lsr &= ~(UART_LSR_OE | UART_LSR_BI);
		serial_update(s);
	}
	return lsr;
}

static uint8_t serial_read_msr(struct serial *s)
{
	uint8_t m = s->mcr;

	if (!(m & UART_MCR_LOOP))
		return s->msr;
	/* Loopback: DTR drives DSR, RTS CTS, OUT1 RI and OUT2 DCD. */
	return (uint8_t)((m & 0x0c) << 4 | (m & 0x02) << 3 | (m & 0x01) << 5);
}

static uint8_t serial_in_locked(struct serial *s, uint16_t port)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (port - s->base) {
	case UART_RBR_THR:
		return dlab ? s->dll : serial_read_rbr(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR_FCR:
		return serial_read_iir(s);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return serial_read_lsr(s);
	case UART_MSR:
		return serial_read_msr(s);
	case UART_SCR:
		return s->scr;
	}
	return 0xff;
}

uint8_t serial_in(struct serial *s, uint16_t port)
{
	uint8_t v;

	pthread_mutex_lock(&s->lock);
	v = serial_in_locked(s, port);
	pthread_mutex_unlock(&s->lock);
	return v;
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t n)
{
	size_t taken = 0;

	pthread_mutex_lock(&s->lock);
	while (taken < n && s->queue_count < SERIAL_HOST_QUEUE) {
		s->queue[(s->queue_head + s->queue_count++) % SERIAL_HOST_QUEUE] = buf[taken++];
	}
	serial_fill(s);
	serial_update(s);
	pthread_mutex_unlock(&s->lock);
	return taken;
}

size_t serial_room(struct serial *s)
{
	size_t room;

	pthread_mutex_lock(&s->lock);
	room = SERIAL_HOST_QUEUE - s->queue_count;
	pthread_mutex_unlock(&s->lock);
	return room;
}

/* Byte accesses only, as a 16550's registers are. */
static bool serial_io(void *dev, const struct ioport_access *a)
{
	struct serial *s = dev;

	if (a->size != 1)
		return false;
	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < a->count; i++) {
		if (a->out)
			serial_out_locked(s, a->port, a->data[i]);
		else
			a->data[i] = serial_in_locked(s, a->port);
	}
	pthread_mutex_unlock(&s->lock);
	return true;
}

int serial_save(const struct serial *s, void *buf, size_t len, size_t *used)
{
	struct serial *m = (struct serial *)s; /* the lock only */
	const uint8_t regs[] = {s->ier, s->lcr, s->mcr, s->scr, s->dll,
				s->dlm, s->fcr, s->lsr, s->msr, s->thr_ipending};
	struct devstate_writer w;

	pthread_mutex_lock(&m->lock);
	devstate_begin(&w, buf, len, SERIAL_STATE_VERSION);
	devstate_put_bytes(&w, regs, sizeof(regs));
	devstate_put_u32(&w, s->fifo_count);
	for (unsigned i = 0; i < s->fifo_count; i++)
		devstate_put_u8(&w, s->fifo[(s->fifo_head + i) % SERIAL_FIFO]);
	devstate_put_u64(&w, s->bytes);
	pthread_mutex_unlock(&m->lock);
	return devstate_end(&w, used);
}

/* Version 1: what a polled UART kept. */
static void serial_restore_v1(struct devstate_reader *r, struct serial *n)
{
	n->ier = devstate_get_u8(r, "ier");
	n->lcr = devstate_get_u8(r, "lcr");
	n->mcr = devstate_get_u8(r, "mcr");
	n->scr = devstate_get_u8(r, "scr");
	n->dll = devstate_get_u8(r, "dll");
	n->dlm = devstate_get_u8(r, "dlm");
	n->bytes = devstate_get_u64(r, "bytes");
}

static void serial_restore_fifo(struct devstate_reader *r, struct serial *n)
{
	uint32_t count = devstate_get_u32(r, "fifo count");
	const uint8_t *p;

	if (count > (serial_fifo_on(n) ? SERIAL_FIFO : 1) ||
	    (count > 0) != !!(n->lsr & UART_LSR_DR)) {
		devstate_fail(r,
			      "fifo of %u bytes with fcr %#x, lsr %#x: expected at most %d (1 with "
			      "the FIFO off), and LSR.DR set exactly when bytes wait",
			      count, n->fcr, n->lsr, SERIAL_FIFO);
		return;
	}
	p = devstate_get_bytes(r, count, "fifo");
	if (!p)
		return;
	memcpy(n->fifo, p, count);
	n->fifo_head = 0;
	n->fifo_count = count;
}

static void serial_restore_v2(struct devstate_reader *r, struct serial *n)
{
	const uint8_t *g = devstate_get_bytes(r, 10, "registers");

	if (!g)
		return;
	n->ier = g[0], n->lcr = g[1], n->mcr = g[2], n->scr = g[3], n->dll = g[4];
	n->dlm = g[5], n->fcr = g[6], n->lsr = g[7], n->msr = g[8];
	n->thr_ipending = g[9];
	if (n->fcr & ~UART_FCR_KEPT || n->mcr & ~UART_MCR_MASK || g[9] > 1 ||
	    (n->lsr & (UART_LSR_THRE | UART_LSR_TEMT)) != (UART_LSR_THRE | UART_LSR_TEMT))
		devstate_fail(r,
			      "fcr %#x, mcr %#x, lsr %#x, thr_ipending %u: expected fcr within "
			      "%#x, mcr within %#x, THRE and TEMT set, 0 or 1",
			      n->fcr, n->mcr, n->lsr, g[9], UART_FCR_KEPT, UART_MCR_MASK);
	serial_restore_fifo(r, n);
	n->bytes = devstate_get_u64(r, "bytes");
}

/* The version of a device's bytes, 0 if there is none. */
static uint32_t serial_version(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	return len < 4 ? 0
		       : p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int serial_restore(struct serial *s, const void *buf, size_t len, char *err, size_t errlen)
{
	uint32_t version = serial_version(buf, len) == 1 ? 1 : SERIAL_STATE_VERSION;
	struct devstate_reader r;
	struct serial n;

	pthread_mutex_lock(&s->lock);
	n = *s;
	serial_reset(&n);
	devstate_open(&r, "serial", version, buf, len, err, errlen);
	if (version == 1)
		serial_restore_v1(&r, &n);
	else
		serial_restore_v2(&r, &n);
	if (n.ier & ~UART_IER_MASK)
		devstate_fail(&r, "ier %#x: expected %#x or less (bits 4-7 are reserved)", n.ier,
			      UART_IER_MASK);
	if (!devstate_close(&r)) {
		/* The registers and FIFO only: the lock, the queue and the
		 * line stay this UART's. */
		s->ier = n.ier, s->fcr = n.fcr, s->lcr = n.lcr, s->mcr = n.mcr, s->lsr = n.lsr;
		s->msr = n.msr, s->scr = n.scr, s->dll = n.dll, s->dlm = n.dlm;
		s->thr_ipending = n.thr_ipending;
		memcpy(s->fifo, n.fifo, sizeof(s->fifo));
		s->fifo_head = n.fifo_head;
		s->fifo_count = n.fifo_count;
		s->bytes = n.bytes;
		s->irq_level = -1;
		serial_update(s);
	}
	pthread_mutex_unlock(&s->lock);
	return r.ret;
}

int serial_commit(struct serial *s, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	pthread_mutex_lock(&s->lock);
	s->irq_level = -1; /* drive it whatever it was */
	serial_update(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

DEVSTATE_OPS_COMMIT(serial_state_ops, "serial", struct serial, serial_save, serial_restore,
		    serial_commit);

int serial_register(struct serial *s, struct ioport_bus *bus, struct devstate_table *states)
{
	int ret = ioport_register(bus, s->base, SERIAL_NR_PORTS, "serial", serial_io, s);

	return ret ? ret : devstate_register(states, &serial_state_ops, s);
}
