/* vmm/devices/serial.h: a 16550-style UART at VMM_PORT_SERIAL.
 *
 * Enough of a 16550 for a polling driver: the transmitter is always empty,
 * the divisor latch and scratch registers hold what is written, nothing is
 * ever received. Each byte costs the guest one exit.
 */
#ifndef VMM_SERIAL_H
#define VMM_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

#include "console.h"
#include "devstate.h"
#include "ioport.h"

#define SERIAL_NR_PORTS 8

struct serial {
	uint16_t base;
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	uint64_t bytes;
	struct console *con;
};

void serial_init(struct serial *s, uint16_t base, struct console *con);
/* Claim the UART's ports on the VM's bus, and its row in the VM's states. */
int serial_register(struct serial *s, struct ioport_bus *bus, struct devstate_table *states);
void serial_out(struct serial *s, uint16_t port, uint8_t val);
uint8_t serial_in(struct serial *s, uint16_t port);

/* State (devstate.h), version SERIAL_STATE_VERSION: u8 ier, lcr, mcr, scr,
 * dll, dlm; u64 bytes. Nothing else: the transmitter is always empty and
 * nothing is ever received, so no FIFO or interrupt is pending. The base
 * port and the console are the restoring VM's, from serial_init. */
#define SERIAL_STATE_VERSION 1
int serial_save(const struct serial *s, void *buf, size_t len, size_t *used);
int serial_restore(struct serial *s, const void *buf, size_t len, char *err, size_t errlen);

#endif
