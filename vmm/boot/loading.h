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
 *   kernel.h   a kernel image, whichever protocol boots it: PVH (loader.h)
 *              or a bzImage (bzimage.h), told apart by the file
 *   bzimage.h  the 64-bit Linux boot protocol: the setup header checked,
 *              boot_params, E820, page tables and GDT
 *   acpi.h     a Linux machine's ACPI tables (RSDP, XSDT, FADT, FACS, DSDT)
 */
#ifndef VMM_BOOT_LOADING_H
#define VMM_BOOT_LOADING_H

#include "acpi.h"
#include "boot.h"
#include "bzimage.h"
#include "devtree.h"
#include "initrd.h"
#include "kernel.h"
#include "loader.h"

#endif
