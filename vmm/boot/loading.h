/* vmm/boot/: what a guest finds when it starts.
 *
 *   loader.h   the ELF64 / PVH kernel loader: every table and segment
 *              checked against the file and guest RAM before anything is
 *              written (and before /dev/kvm is opened)
 *   boot.h     the PVH start info, memory map and command line, placed in
 *              the VMM's area below 1 MiB
 *   devtree.h  the flattened device tree (libfdt): RAM, CPUs, bootargs, the
 *              TSC frequency, and the VMM's ports and page services
 *   initrd.h   the initial RAM disk (--initrd): read, placed at the top of
 *              low RAM and checked before /dev/kvm is opened
 */
#ifndef VMM_BOOT_LOADING_H
#define VMM_BOOT_LOADING_H

#include "boot.h"
#include "devtree.h"
#include "initrd.h"
#include "loader.h"

#endif
