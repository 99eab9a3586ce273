/* guest-kernel/gk_entry.S: PVH entry into long mode, trap stubs, user entry.
 *
 * The loader enters gk_pvh_start32 in 32-bit protected mode, paging off, with
 * %ebx = GPA of struct hvm_start_info. We map the first GiB with one 1 GiB
 * page if CPUID has pdpe1gb, else only the first BOOT_2M_PAGES 2 MiB pages
 * (where the image and boot data live),
 * with tables from .bss, which the loader zeroed, and jump to 64-bit code.
 * gk_paging.c maps the rest of RAM in C, no more than there is.
 */
#include "gk_segment.h"

#define CR0_PE (1 << 0)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define PTE_PW 0x3	/* present, writable */
#define PTE_PWS 0x83	/* present, writable, large page */
#define CPUID_PDPE1GB 26
#define BOOT_2M_PAGES 4	/* 8 MiB; kernel.ld checks _end against it */

/* PVH entry note (pvh.h): name "Xen", type XEN_ELFNOTE_PHYS32_ENTRY (18). */
	.section .note.Xen, "a", @note
	.p2align 2
	.long 4, 4, 18
	.asciz "Xen"
	.long gk_pvh_start32

	.section .rodata
boot_banner:
	.ascii "KERNEL pvh-entry\n"
boot_banner_end:

	.section .text.entry, "ax"
	.code32
	.globl gk_pvh_start32
gk_pvh_start32:
	cld
	/* First sign of life before any set-up: one string OUT is one exit
	 * (KVM batches rep outs), and the 16550 works under any VMM. */
	mov $boot_banner, %esi
	mov $(boot_banner_end - boot_banner), %ecx
	mov $0x3f8, %dx
	rep outsb
	mov %ebx, %esi			/* cpuid clobbers %ebx */
	movl $(gk_boot_pdpt + PTE_PW), gk_boot_pml4
	mov $0x80000001, %eax
	cpuid
	bt $CPUID_PDPE1GB, %edx
	jnc 1f
	movl $PTE_PWS, gk_boot_pdpt	/* [0, 1 GiB) as one page */
	movb $1, gk_boot_gbpages
	movl $0x40000000, gk_boot_mapped
	jmp 3f
1:	movl $(boot_pd0 + PTE_PW), gk_boot_pdpt
	xor %ecx, %ecx
	mov $PTE_PWS, %eax
2:	mov %eax, boot_pd0(, %ecx, 8)
	add $0x200000, %eax
	inc %ecx
	cmp $BOOT_2M_PAGES, %ecx
	jne 2b
	movl $(BOOT_2M_PAGES << 21), gk_boot_mapped
3:	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $gk_boot_pml4, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx		/* EFER */
	rdmsr
	or $(EFER_LME | EFER_NXE), %eax
	wrmsr
	mov %cr0, %eax
	or $(CR0_PG | CR0_WP | CR0_PE), %eax
	mov %eax, %cr0
	lgdt gdt_desc
	ljmp $SEG_KERNEL_CS, $long_entry

	.code64
long_entry:
	mov $SEG_KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	lea boot_stack_top(%rip), %rsp
	mov %esi, %edi
	call gk_main
4:	cli
	hlt
	jmp 4b

/* Trap stubs: push a dummy error code where the CPU pushes none, then the
 * vector, so every frame has the layout of struct gk_trap_frame. Each has a
 * 16-byte slot from gk_trap_stubs_base on, for the prebuilt IDT below:
 * slots 0-31 are vectors 0-31, then 0x80 (system calls), 0x20 (the LAPIC
 * timer) and 0xff (its spurious vector). */
	.text
	.macro trap_stub n
	.p2align 4
trap_stub_\n:
	.if !(\n == 8 || \n == 10 || \n == 11 || \n == 12 || \n == 13 || \n == 14 || \n == 17 || \n == 21 || \n == 29 || \n == 30)
	pushq $0
	.endif
	pushq $\n
	jmp trap_common
	.endm

	.p2align 10
	.globl gk_trap_stubs_base
gk_trap_stubs_base:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,128,32,255
	trap_stub \n
	.endr
	.globl gk_trap_stubs_end
gk_trap_stubs_end:			/* kernel.ld checks the 16-byte slots */

/* Every register goes into the frame: a trap from user mode may end in
 * another process (gk_sched.c), whose registers are then popped instead.
 * 15 pushes after the 7 words of the CPU and the stub keep %rsp 16-byte
 * aligned. */
trap_common:
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	call gk_trap_dispatch
trap_pop:
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	add $16, %rsp			/* vector, error code */
	iretq

#define FRAME_WORDS 22			/* struct gk_trap_frame */

/* void gk_trap_return(const struct gk_trap_frame *f, void *stack_top):
 * copy *f to the top of the trap stack and return from it as from a trap.
 * Whatever was on the stack is abandoned: the kernel keeps no state on it
 * between traps, so this is how a process is entered, or left for good. */
	.globl gk_trap_return
gk_trap_return:
	lea -FRAME_WORDS * 8(%rsi), %rsp
	mov %rdi, %rsi
	mov %rsp, %rdi
	mov $FRAME_WORDS, %ecx
	rep movsq
	jmp trap_pop

/* int gk_arch_rdmsr_safe(uint32_t msr, uint64_t *v) and
 * int gk_arch_wrmsr_safe(uint32_t msr, uint64_t v): 0, or -1 when the
 * instruction raised #GP (gk_trap.c resumes at the fixup). */
	.globl gk_arch_rdmsr_safe, gk_arch_wrmsr_safe, gk_arch_msr_insn_rd, gk_arch_msr_insn_wr
	.globl gk_arch_msr_fixup
gk_arch_rdmsr_safe:
	mov %edi, %ecx
gk_arch_msr_insn_rd:
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, (%rsi)
	xor %eax, %eax
	ret
gk_arch_wrmsr_safe:
	mov %edi, %ecx
	mov %esi, %eax
	mov %rsi, %rdx
	shr $32, %rdx
gk_arch_msr_insn_wr:
	wrmsr
	xor %eax, %eax
	ret
gk_arch_msr_fixup:
	mov $-1, %eax
	ret

/* The IDT as initialized data: vectors 0-32, 0x80 (DPL 3) and 0xff point at
 * their stubs, 16 bytes apart from gk_trap_stubs_base; the rest are absent.
 * kernel.ld provides the base's low 16 bits and bits 16-31 (the kernel
 * lies below 4 GiB, so bits 32-63 are 0). */
	.macro idt_gate slot, type
	.word gk_trap_stubs_lo16 + 16 * \slot, SEG_KERNEL_CS
	.byte 0, \type
	.word gk_trap_stubs_hi16
	.long 0, 0
	.endm

	.data
	.p2align 4
	.globl gk_idt, gk_idt_desc
gk_idt:
	.irp slot, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	idt_gate \slot, 0x8e		/* interrupt gate, DPL 0 */
	.endr
	idt_gate 33, 0x8e		/* vector 0x20: the LAPIC timer */
	.org gk_idt + 0x80 * 16		/* vectors 0x21-0x7f: not present */
	idt_gate 32, 0xee		/* vector 0x80: interrupt gate, DPL 3 */
	.org gk_idt + 0xff * 16		/* vectors 0x81-0xfe: not present */
	idt_gate 34, 0x8e		/* vector 0xff: the LAPIC's spurious vector */
idt_end:
	.p2align 3
	.word 0, 0, 0			/* gk_idt_desc's base 8-byte aligned */
gk_idt_desc:
	.word idt_end - gk_idt - 1
	.quad gk_idt

	.data
	.p2align 3
	.globl gk_gdt
gk_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* SEG_KERNEL_CS: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff	/* SEG_KERNEL_DS */
	.quad 0x00cff2000000ffff	/* SEG_USER_DS: DPL 3 */
	.quad 0x00affa000000ffff	/* SEG_USER_CS: 64-bit code, DPL 3 */
	.quad 0, 0			/* SEG_TSS, filled by gk_trap.c */
gdt_end:
gdt_desc:
	.word gdt_end - gk_gdt - 1
	.long gk_gdt
	.globl gk_boot_gbpages, gk_boot_mapped
	.p2align 3
gk_boot_mapped:				/* bytes identity-mapped from 0 */
	.quad 0
gk_boot_gbpages:
	.byte 0

	.bss
	.p2align 12
	.globl gk_boot_pml4, gk_boot_pdpt
gk_boot_pml4:
	.skip 4096
gk_boot_pdpt:
	.skip 4096
boot_pd0:
	.skip 4096
	.p2align 4
boot_stack:
	.skip 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
