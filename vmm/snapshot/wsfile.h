/* vmm/snapshot/wsfile.h: a snapshot's working set, DIR/working-set.
 *
 * `vmm restore DIR --record-ws MS` records which pages the guest touched
 * in its first MS milliseconds and writes them beside the snapshot; the
 * next lazy restore of DIR loads exactly those pages first, in bulk,
 * before the guest runs (docs/snapshot.md). Little-endian:
 *
 *   offset 0   8  magic "VMMWSET\0"
 *          8   4  version: 1
 *         12   4  page_size: 4096
 *         16   8  the snapshot's meta_hash (snapfile.h): whose set it is
 *         24   8  count: pages in the set, at most the guest's
 *         32  8n  guest page numbers, strictly ascending, each a data
 *                 page of the snapshot
 *     32+8n   8  XXH3-64 of bytes [0, 32 + 8n)
 *
 * It is an input like any other: read back, everything above is checked
 * and a message names the file and the offset. Written atomically
 * (working-set.tmp, fsync, rename).
 */
#ifndef VMM_SNAPSHOT_WSFILE_H
#define VMM_SNAPSHOT_WSFILE_H

#include <stddef.h>
#include <stdint.h>

#include "snapfile.h"

#define SNAP_WS_FILE	"working-set"
#define SNAP_WS_VERSION 1

/* DIR/working-set of the snapshot r, if there is one: *gpa (allocated,
 * ascending GPAs, free() it) and *n; none: 0 with *gpa NULL and *n 0.
 * -EINVAL naming the file and the offset of what is wrong, -EIO, -ENOMEM. */
int snap_ws_read(const struct snap_reader *r, uint64_t **gpa, uint64_t *n, char *err,
		 size_t errlen);
/* Write the set of r's data pages among gpa[0..n) (ascending) to
 * DIR/working-set, replacing any. *kept: how many were data pages. */
int snap_ws_write(const struct snap_reader *r, const uint64_t *gpa, uint64_t n, uint64_t *kept,
		  char *err, size_t errlen);

#endif
