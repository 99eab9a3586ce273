/* vmm/devices/forkid.c: the fork identity port, see forkid.h. */
#include "forkid.h"

#include <string.h>

#include "devstate.h"
#include "ioport.h"
#include "vmm_abi.h"

void forkid_set(struct forkid *id, uint16_t generation, uint16_t index)
{
	id->generation = generation;
	id->index = index;
}

uint32_t forkid_value(const struct forkid *id)
{
	return (uint32_t)id->generation << 16 | id->index;
}

static bool forkid_io(void *dev, const struct ioport_access *a)
{
	uint32_t v = forkid_value(dev), k = a->port - VMM_PORT_FORKID;

	if (a->out || a->count != 1 || !((a->size == 4 && !k) || a->size == 1))
		return false;
	if (a->size == 1)
		a->data[0] = (uint8_t)(v >> (8 * k));
	else
		memcpy(a->data, &v, sizeof(v));
	return true;
}

int forkid_save(const struct forkid *id, void *buf, size_t len, size_t *used)
{
	struct devstate_writer w;

	devstate_begin(&w, buf, len, FORKID_STATE_VERSION);
	devstate_put_u32(&w, id->generation);
	devstate_put_u32(&w, id->index);
	return devstate_end(&w, used);
}

int forkid_restore(struct forkid *id, const void *buf, size_t len, char *err, size_t errlen)
{
	struct devstate_reader r;
	uint32_t generation, index;

	devstate_open(&r, "forkid", FORKID_STATE_VERSION, buf, len, err, errlen);
	generation = devstate_get_u32(&r, "generation");
	index = devstate_get_u32(&r, "index");
	if (generation > UINT16_MAX)
		devstate_fail(&r, "generation %u: expected 0 to %u", generation, UINT16_MAX);
	if (index > UINT16_MAX)
		devstate_fail(&r, "index %u: expected 0 to %u", index, UINT16_MAX);
	if (!generation && index)
		devstate_fail(&r, "index %u at generation 0: expected 0 (a VM that was booted)",
			      index);
	if (generation && !index)
		devstate_fail(&r, "index 0 at generation %u: expected 1 or more (a fork child)",
			      generation);
	if (devstate_close(&r))
		return r.ret;
	forkid_set(id, (uint16_t)generation, (uint16_t)index);
	return 0;
}

DEVSTATE_OPS(forkid_state_ops, "forkid", struct forkid, forkid_save, forkid_restore);

int forkid_register(struct forkid *id, struct ioport_bus *io, struct devstate_table *states)
{
	int ret = ioport_register(io, VMM_PORT_FORKID, 4, "forkid", forkid_io, id);

	return ret ? ret : devstate_register(states, &forkid_state_ops, id);
}
