/* vmm/devices/serial.h: a 16550A UART at VMM_PORT_SERIAL, both directions.
 *
 * Its registers behave as a 16550A's, as Linux's 8250 driver probes and
 * drives them: the divisor latch (DLAB), scratch, line and modem control
 * with loopback (the modem status lines then follow MCR), the FIFOs
 * (FCR: enable, clear, receive trigger level 1/4/8/14), and interrupts:
 * receiver line status, received data (or a character timeout, at once,
 * when the FIFO holds fewer bytes than its trigger level), transmitter
 * holding register empty, modem status, by priority in IIR. The line is
 * high while an enabled interrupt is pending (irq(arg, level), on ISA IRQ
 * 4 in a Linux machine); without an irq the UART serves a polling driver,
 * as the project's guest kernel is.
 *
 * Transmission is instant: a byte written to THR goes to the console
 * (console.h) within the exit, so THR and the shift register are always
 * empty again when the guest looks, and THRE is pending again after each
 * byte. Reception comes from the host (serial_receive, any thread): bytes
 * wait in a host-side queue until the 16-byte FIFO (one byte without the
 * FIFO) has room, and, with an interrupt line, until the driver enables
 * the received-data interrupt with OUT2 set (it is ready then: Linux
 * probes with IER 0x0f and clears the FIFO while it opens the port; a
 * cleared FIFO's bytes go back to the queue, as if they had come later),
 * so the guest never sees an overrun and no input is lost.
 * When the guest turns the THRE interrupt off, it has nothing more to
 * send: the console's partial line goes out then to a terminal (a shell's
 * prompt, an echo), rather than at the next newline.
 *
 * One lock serialises the vCPU's accesses, the host's input and a save.
 */
#ifndef VMM_SERIAL_H
#define VMM_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "devstate.h"
#include "ioport.h"

#define SERIAL_NR_PORTS	  8
#define SERIAL_FIFO	  16
#define SERIAL_HOST_QUEUE 4096

struct serial {
	uint16_t base;
	pthread_mutex_t lock;
	/* Registers (IIR is computed from the rest). */
	uint8_t ier, iir, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	bool thr_ipending;	   /* THRE interrupt pending: set when THR empties, cleared by
				      reading IIR while it is the one shown, or writing THR */
	uint8_t fifo[SERIAL_FIFO]; /* receive FIFO: count bytes from head (at most 1,
				      RBR, with the FIFO off) */
	unsigned fifo_head, fifo_count;
	/* Host input not yet in the FIFO (not guest state: never saved). */
	uint8_t queue[SERIAL_HOST_QUEUE];
	size_t queue_head, queue_count;
	uint64_t bytes;	   /* transmitted */
	uint64_t received; /* read by the guest */
	int irq_level;	   /* the line as last driven: 0, 1, -1 not yet */
	void (*irq)(void *arg, bool level);
	void *irq_arg;
	struct console *con;
};

void serial_init(struct serial *s, uint16_t base, struct console *con);
void serial_destroy(struct serial *s);
/* Drive an interrupt line (NULL: a polled UART). Before the VM runs. */
void serial_set_irq(struct serial *s, void (*irq)(void *arg, bool level), void *arg);
/* Claim the UART's ports on the VM's bus, and its row in the VM's states. */
int serial_register(struct serial *s, struct ioport_bus *bus, struct devstate_table *states);
void serial_out(struct serial *s, uint16_t port, uint8_t val);
uint8_t serial_in(struct serial *s, uint16_t port);
/* Host input for the guest: the bytes taken (fewer when the host-side
 * queue is full: offer the rest again later). Any thread. */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t n);
/* Bytes the host-side queue takes now. */
size_t serial_room(struct serial *s);

/* State (devstate.h), version SERIAL_STATE_VERSION (2):
 *   u8 ier, lcr, mcr, scr, dll, dlm, fcr, lsr, msr, thr_ipending;
 *   u32 count, then the bytes waiting to be read, oldest first (RBR's
 *   one with the FIFO off); u64 bytes
 * Restore refuses what no 16550 holds: IER bits 4-7, FCR bits other than
 * enable, DMA mode and the trigger level, an MCR past bit 4, THRE or TEMT
 * clear (the transmitter is always empty), more than 16 bytes waiting (1
 * with the FIFO off), LSR.DR that disagrees with what is waiting to be
 * read, thr_ipending other than 0 or 1. The host-side queue is not state;
 * the interrupt line is driven again by serial_commit once the VM exists.
 * Version 1 (a polled UART: ier, lcr, mcr, scr, dll, dlm, bytes) is read
 * too, the rest as after reset. The base port, the console and the
 * interrupt line are the restoring VM's. */
#define SERIAL_STATE_VERSION 2
int serial_save(const struct serial *s, void *buf, size_t len, size_t *used);
int serial_restore(struct serial *s, const void *buf, size_t len, char *err, size_t errlen);
/* Drive the interrupt line as the restored state has it. */
int serial_commit(struct serial *s, char *err, size_t errlen);

#endif
