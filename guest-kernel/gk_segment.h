/* guest-kernel/gk_segment.h: GDT selectors, shared by gk_entry.S and C.
 *
 * The layout is fixed in gk_entry.S (gk_gdt): null, kernel code, kernel data,
 * user data, user code, then the 16-byte TSS descriptor.
 */
#ifndef GK_SEGMENT_H
#define GK_SEGMENT_H

#define SEG_KERNEL_CS 0x08
#define SEG_KERNEL_DS 0x10
#define SEG_USER_DS   0x1b /* 0x18 | RPL 3 */
#define SEG_USER_CS   0x23 /* 0x20 | RPL 3 */
#define SEG_TSS	      0x28
#define SEG_TSS_INDEX 5 /* gk_gdt[5..6] */

#endif
