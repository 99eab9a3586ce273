/* guest-kernel/gk_task.c: build a task's address space, enter and leave it. */
#include "gk_task.h"
#include "gk_arch.h"
#include "gk_kernel.h"
#include "gk_lib.h"
#include "uapi.h"

#define ENOMEM 12

/* The top of the stack holds the task's struct user_args. */
#define TASK_ARGS_BYTES ALIGN_UP(sizeof(struct user_args), 64)

/* kernel.ld: where the user image loads, and its sizes (small values, so
 * they link with the kernel's small code model, unlike USER_BASE addresses). */
extern char _user_text_lma[], _user_data_lma[], _user_text_size[], _user_data_size[];
extern char _user_entry_offset[];

static int gk_task_add_vmas(struct gk_task *t, const struct gk_bootargs *a, uint64_t oob_gpa)
{
	uint64_t text = (uint64_t)(uintptr_t)_user_text_size;
	uint64_t data = (uint64_t)(uintptr_t)_user_data_size;
	uint64_t bitmap = ALIGN_UP((a->size / PAGE_SIZE + 7) / 8, PAGE_SIZE);
	int ret;

	ret = gk_vma_add(&t->vmas, USER_BASE, USER_BASE + text, VMA_READ | VMA_EXEC,
			 (uint64_t)(uintptr_t)_user_text_lma, "code");
	if (!ret && data)
		ret = gk_vma_add(&t->vmas, USER_BASE + text, USER_BASE + text + data,
				 VMA_READ | VMA_WRITE, (uint64_t)(uintptr_t)_user_data_lma, "data");
	if (!ret)
		ret = gk_vma_add(&t->vmas, USER_SCRATCH_BASE, USER_SCRATCH_BASE + bitmap,
				 VMA_READ | VMA_WRITE | VMA_ANON, 0, "scratch");
	if (!ret && a->workload == WORKLOAD_OOB)
		ret = gk_vma_add(&t->vmas, USER_OOB_BASE, USER_OOB_BASE + PAGE_SIZE, VMA_READ,
				 oob_gpa, "oob");
	if (!ret)
		ret = gk_vma_add(&t->vmas, USER_HEAP_BASE, USER_HEAP_BASE + a->size,
				 VMA_READ | VMA_WRITE | VMA_ANON, 0, "heap");
	if (!ret)
		ret = gk_vma_add(&t->vmas, USER_STACK_TOP - USER_STACK_SIZE, USER_STACK_TOP,
				 VMA_READ | VMA_WRITE | VMA_ANON, 0, "stack");
	return ret;
}

/* The arguments go on the stack's top page, mapped now: writing it
 * through the identity map costs no fault. */
static int gk_task_push_args(struct gk_kernel *k, struct gk_task *t, const struct gk_bootargs *a)
{
	uint64_t pa = gk_frame_alloc(&k->frames), page = USER_STACK_TOP - PAGE_SIZE;
	uint64_t *pte = gk_paging_pte(&k->frames, (uint64_t *)(uintptr_t)t->pml4, page, true);
	struct user_args *ua;

	if (!pa || !pte)
		return -ENOMEM;
	*pte = pa | PTE_P | PTE_W | PTE_U | PTE_A | PTE_D | PTE_NX;
	t->frames++;
	ua = (struct user_args *)(uintptr_t)(pa + PAGE_SIZE - TASK_ARGS_BYTES);
	ua->workload = a->workload;
	ua->heap = USER_HEAP_BASE;
	ua->size = a->size;
	ua->seed = a->seed;
	ua->passes = a->passes;
	ua->hot = a->hot;
	ua->scratch = USER_SCRATCH_BASE;
	ua->stride = a->stride;
	ua->progress = a->progress;
	ua->wset = a->wset;
	if (a->workload == WORKLOAD_OOB) {
		ua->oob = USER_OOB_BASE;
		ua->oob_gpa = k->boot.ram_top;
	}
	t->arg = USER_STACK_TOP - TASK_ARGS_BYTES;
	t->rsp = t->arg - 8; /* as if called: %rsp + 8 is 16-byte aligned */
	return 0;
}

int gk_task_create(struct gk_kernel *k, struct gk_task *t, const struct gk_bootargs *a)
{
	int ret;

	t->name = gk_bootargs_workload_name(a->workload);
	t->entry = USER_BASE + (uint64_t)(uintptr_t)_user_entry_offset;
	t->pml4 = gk_paging_new_space(&k->pg, &k->frames);
	if (!t->pml4)
		return -ENOMEM;
	ret = gk_task_add_vmas(t, a, k->boot.ram_top);
	t->last_vma = &t->vmas.v[0];
	if (!ret)
		ret = gk_task_push_args(k, t, a);
	return ret;
}

int gk_task_run(struct gk_kernel *k, struct gk_task *t)
{
	uint64_t status;

	k->current = t;
	gk_arch_write_cr3(t->pml4);
	status = gk_task_enter_user(&t->ksp, t->entry, t->rsp, t->arg);
	gk_arch_write_cr3((uint64_t)(uintptr_t)k->pg.pml4);
	k->current = NULL;
	/* The task's frames are not freed: the guest ends after one task. */
	return (int)status;
}

void gk_task_exit(struct gk_kernel *k, int status)
{
	gk_task_resume_kernel(k->current->ksp, (uint64_t)(int64_t)status);
}

void gk_task_kill(struct gk_kernel *k, struct gk_trap_frame *tf, uint64_t addr, const char *what)
{
	struct gk_task *t = k->current;

	gk_printf(&k->con, "%s task=%s addr=0x%lx error=0x%lx rip=0x%lx\n", what, t->name, addr,
		  tf->error, tf->rip);
	t->killed = true;
	gk_task_exit(k, -1);
}
