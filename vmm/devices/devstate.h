/* vmm/devices/devstate.h: a device's state as bytes, for a snapshot section.
 *
 * Each device saves and restores itself, beside its code (serial.c,
 * console.c, hcall.c, the exit port in vm.c), in one shape:
 *
 *   u32 version   the device's layout; restore refuses any other
 *   u32 length    bytes that follow
 *   ...           the device's fields, little-endian, in a fixed order
 *
 *   save:    0, or -ENOSPC if len is too small; *used is the size needed
 *            either way (save with len 0 to learn it)
 *   restore: 0, or -EINVAL (-ENOMEM) with a message in err that names the
 *            device, the field and what was expected. The bytes come from
 *            a file: every one is checked, and a refused restore leaves
 *            the device as it was.
 *
 * What is not state (file descriptors, ports, the VM a device belongs to)
 * is given to the device's init, never saved. A VM's devices add a row to
 * its devstate_table as they register their ports, so that saving every
 * device is a walk over the table.
 *
 * A device whose state lives in KVM (the in-kernel irqchip, the PIT, the
 * clock) saves it from KVM, but its restore runs before the VM exists (a
 * bad file is refused before /dev/kvm is opened): restore only parses and
 * checks into the device's structure, and its commit puts that state into
 * KVM once the VM and its vCPUs are restored (devstate_commit_all).
 */
#ifndef VMM_DEVSTATE_H
#define VMM_DEVSTATE_H

#include <stddef.h>
#include <stdint.h>

#define DEVSTATE_HEADER	  8  /* version and length */
#define DEVSTATE_MAX_DEVS 16 /* rows of a VM's table */
#define DEVSTATE_NAME_MAX 32 /* bytes of a device's name in a section */

struct devstate_ops {
	const char *name; /* the section's name; unique in a VM */
	int (*save)(const void *dev, void *buf, size_t len, size_t *used);
	int (*restore)(void *dev, const void *buf, size_t len, char *err, size_t errlen);
	/* NULL, or: the restored state into KVM, 0 or -errno with err. */
	int (*commit)(void *dev, char *err, size_t errlen);
};

struct devstate_table {
	int nr;
	struct devstate_row {
		const struct devstate_ops *ops;
		void *dev;
	} row[DEVSTATE_MAX_DEVS];
};

/* The row of a device whose save and restore take its own type: the casts
 * from void * are written once, here. Defines static ops. */
#define DEVSTATE_OPS(ops, dev_name, type, save_fn, restore_fn)                                     \
	DEVSTATE_OPS_WRAP(ops, type, save_fn, restore_fn)                                          \
	static const struct devstate_ops ops = {                                                   \
	    .name = dev_name, .save = ops##_save, .restore = ops##_restore}

/* The same, with a commit (a device whose state lives in KVM). */
#define DEVSTATE_OPS_COMMIT(ops, dev_name, type, save_fn, restore_fn, commit_fn)                   \
	DEVSTATE_OPS_WRAP(ops, type, save_fn, restore_fn)                                          \
	static int ops##_commit(void *dev, char *err, size_t errlen)                               \
	{                                                                                          \
		return commit_fn((type *)dev, err, errlen);                                        \
	}                                                                                          \
	static const struct devstate_ops ops = {.name = dev_name,                                  \
						.save = ops##_save,                                \
						.restore = ops##_restore,                          \
						.commit = ops##_commit}

#define DEVSTATE_OPS_WRAP(ops, type, save_fn, restore_fn)                                          \
	static int ops##_save(const void *dev, void *buf, size_t len, size_t *used)                \
	{                                                                                          \
		return save_fn((const type *)dev, buf, len, used);                                 \
	}                                                                                          \
	static int ops##_restore(void *dev, const void *buf, size_t len, char *err, size_t errlen) \
	{                                                                                          \
		return restore_fn((type *)dev, buf, len, err, errlen);                             \
	}

/* 0, -EEXIST if the name is taken, -ENOSPC if the table is full. */
int devstate_register(struct devstate_table *t, const struct devstate_ops *ops, void *dev);
/* Every device in table order: u8 name length, the name, the device's
 * bytes. 0 or -ENOSPC, *used as for a device's save. */
int devstate_save_all(const struct devstate_table *t, void *buf, size_t len, size_t *used);
/* Sections in any order; each registered device exactly once. A refused
 * section leaves the devices before it restored: do not run the VM then.
 * On -EINVAL, *at (if not NULL) is the byte of buf where the refused
 * section starts (or len, for a device missing from it). */
int devstate_restore_all(struct devstate_table *t, const void *buf, size_t len, size_t *at,
			 char *err, size_t errlen);

/* Every row's commit, in table order, once the VM and its vCPUs are
 * restored: 0 or the first failure (err says which device). */
int devstate_commit_all(struct devstate_table *t, char *err, size_t errlen);

/* Writing a device's bytes: put past the end only counts, so that one pass
 * both sizes and writes. */
struct devstate_writer {
	uint8_t *buf;
	size_t len, pos;
};

void devstate_begin(struct devstate_writer *w, void *buf, size_t len, uint32_t version);
void devstate_put_u8(struct devstate_writer *w, uint8_t v);
void devstate_put_u32(struct devstate_writer *w, uint32_t v);
void devstate_put_u64(struct devstate_writer *w, uint64_t v);
void devstate_put_bytes(struct devstate_writer *w, const void *p, size_t n);
/* Fills in the length: 0 or -ENOSPC; *used = bytes needed. */
int devstate_end(struct devstate_writer *w, size_t *used);

/* Reading them: the first failure is kept (ret, and its message in err),
 * later reads return 0, so a restore reads every field, then looks once. */
struct devstate_reader {
	const uint8_t *buf;
	size_t len, pos;
	const char *dev;
	char *err;
	size_t errlen;
	int ret;
};

/* Checks the header: the version, and a length that matches len. */
int devstate_open(struct devstate_reader *r, const char *dev, uint32_t version, const void *buf,
		  size_t len, char *err, size_t errlen);
uint8_t devstate_get_u8(struct devstate_reader *r, const char *field);
uint32_t devstate_get_u32(struct devstate_reader *r, const char *field);
uint64_t devstate_get_u64(struct devstate_reader *r, const char *field);
/* A pointer to n bytes inside the buffer, or NULL (then r->ret is set). */
const uint8_t *devstate_get_bytes(struct devstate_reader *r, size_t n, const char *field);
/* Refuse the state: "DEV state: MESSAGE". Returns -EINVAL; keeps the first. */
int devstate_fail(struct devstate_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Every byte read? 0 or the first failure. */
int devstate_close(struct devstate_reader *r);

/* A device with no state still has a section, with a version and no
 * fields: a later layout with state is then told from this one. */
int devstate_save_empty(uint32_t version, void *buf, size_t len, size_t *used);
int devstate_restore_empty(const char *dev, uint32_t version, const void *buf, size_t len,
			   char *err, size_t errlen);

#endif
