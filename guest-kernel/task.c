/* guest-kernel/task.c: build a task's address space, enter and leave it. */
#include "task.h"
#include "arch.h"
#include "kernel.h"
#include "lib.h"
#include "uapi.h"

#define ENOMEM 12

/* The top of the stack holds the task's struct user_args. */
#define TASK_ARGS_BYTES ALIGN_UP(sizeof(struct user_args), 64)

/* kernel.ld: where the user image loads, and its sizes (small values, so
 * they link with the kernel's small code model, unlike USER_BASE addresses). */
extern char _user_text_lma[], _user_data_lma[], _user_text_size[], _user_data_size[];
extern char _user_entry_offset[];

static int task_add_vmas(struct task *t, const struct bootargs *a, uint64_t oob_gpa)
{
	uint64_t text = (uint64_t)(uintptr_t)_user_text_size;
	uint64_t data = (uint64_t)(uintptr_t)_user_data_size;
	uint64_t bitmap = ALIGN_UP((a->size / PAGE_SIZE + 7) / 8, PAGE_SIZE);
	int ret;

	ret = vma_add(&t->vmas, USER_BASE, USER_BASE + text, VMA_READ | VMA_EXEC,
		      (uint64_t)(uintptr_t)_user_text_lma, "code");
	if (!ret && data)
		ret = vma_add(&t->vmas, USER_BASE + text, USER_BASE + text + data,
			      VMA_READ | VMA_WRITE, (uint64_t)(uintptr_t)_user_data_lma, "data");
	if (!ret)
		ret = vma_add(&t->vmas, USER_SCRATCH_BASE, USER_SCRATCH_BASE + bitmap,
			      VMA_READ | VMA_WRITE | VMA_ANON, 0, "scratch");
	if (!ret && a->workload == WORKLOAD_OOB)
		ret = vma_add(&t->vmas, USER_OOB_BASE, USER_OOB_BASE + PAGE_SIZE, VMA_READ, oob_gpa,
			      "oob");
	if (!ret)
		ret = vma_add(&t->vmas, USER_HEAP_BASE, USER_HEAP_BASE + a->size,
			      VMA_READ | VMA_WRITE | VMA_ANON, 0, "heap");
	if (!ret)
		ret = vma_add(&t->vmas, USER_STACK_TOP - USER_STACK_SIZE, USER_STACK_TOP,
			      VMA_READ | VMA_WRITE | VMA_ANON, 0, "stack");
	return ret;
}

/* The arguments go on the stack's top page, mapped now: writing it
 * through the identity map costs no fault. */
static int task_push_args(struct kernel *k, struct task *t, const struct bootargs *a)
{
	uint64_t pa = frame_alloc(&k->frames), page = USER_STACK_TOP - PAGE_SIZE;
	uint64_t *pte = paging_pte(&k->frames, (uint64_t *)(uintptr_t)t->pml4, page, true);
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
	if (a->workload == WORKLOAD_OOB) {
		ua->oob = USER_OOB_BASE;
		ua->oob_gpa = k->boot.ram_top;
	}
	t->arg = USER_STACK_TOP - TASK_ARGS_BYTES;
	t->rsp = t->arg - 8; /* as if called: %rsp + 8 is 16-byte aligned */
	return 0;
}

int task_create(struct kernel *k, struct task *t, const struct bootargs *a)
{
	int ret;

	t->name = bootargs_workload_name(a->workload);
	t->entry = USER_BASE + (uint64_t)(uintptr_t)_user_entry_offset;
	t->pml4 = paging_new_space(&k->pg, &k->frames);
	if (!t->pml4)
		return -ENOMEM;
	ret = task_add_vmas(t, a, k->boot.ram_top);
	t->last_vma = &t->vmas.v[0];
	if (!ret)
		ret = task_push_args(k, t, a);
	return ret;
}

int task_run(struct kernel *k, struct task *t)
{
	uint64_t status;

	k->current = t;
	arch_write_cr3(t->pml4);
	status = task_enter_user(&t->ksp, t->entry, t->rsp, t->arg);
	arch_write_cr3((uint64_t)(uintptr_t)k->pg.pml4);
	k->current = NULL;
	/* The task's frames are not freed: the guest ends after one task. */
	return (int)status;
}

void task_exit(struct kernel *k, int status)
{
	task_resume_kernel(k->current->ksp, (uint64_t)(int64_t)status);
}

void task_kill(struct kernel *k, struct trap_frame *tf, uint64_t addr, const char *what)
{
	struct task *t = k->current;

	kprintf(&k->con, "%s task=%s addr=0x%lx error=0x%lx rip=0x%lx\n", what, t->name, addr,
		tf->error, tf->rip);
	t->killed = true;
	task_exit(k, -1);
}
