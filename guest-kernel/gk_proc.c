/* guest-kernel/gk_proc.c: the process table, spawn, fork, exit, wait, kill, OOM. */
#include "gk_proc.h"
#include "gk_arch.h"
#include "gk_kernel.h"
#include "gk_oom.h"
#include "gk_segment.h"

/* The top of the stack holds the process's struct user_args. */
#define PROC_ARGS_BYTES ALIGN_UP(sizeof(struct user_args), 64)

/* kernel.ld: where the user image loads, and its sizes (small values, so
 * they link with the kernel's small code model, unlike USER_BASE addresses). */
extern char _user_text_lma[], _user_data_lma[], _user_text_size[], _user_data_size[];
extern char _user_entry_offset[];

void gk_procs_init(struct gk_procs *t)
{
	unsigned i;

	gk_list_init(&t->free);
	for (i = 0; i < PROC_MAX; i++) {
		t->p[i].slot = i;
		gk_list_add_tail(&t->free, &t->p[i].run);
	}
}

/* Back on the free list, first in line: a slot is reused, with its PCID,
 * as soon as can be (the tlb workload counts on it). */
static void gk_proc_free(struct gk_procs *t, struct gk_proc *p)
{
	gk_list_del(&p->sibling);
	p->state = PROC_FREE;
	gk_list_add_tail(t->free.next, &p->run);
}

static struct gk_proc *gk_proc_new(struct gk_kernel *k, struct gk_proc *parent, int *err)
{
	struct gk_procs *t = &k->procs;
	struct gk_proc *p;
	unsigned slot;

	if (gk_list_empty(&t->free)) {
		*err = -EAGAIN;
		return NULL;
	}
	p = GK_LIST_ENTRY(t->free.next, struct gk_proc, run);
	slot = p->slot;
	if (gk_mm_init(k, &p->mm, slot) < 0) {
		*err = -ENOMEM;
		return NULL;
	}
	gk_list_del(&p->run);
	*p = (struct gk_proc){.mm = p->mm, .slot = slot, .parent = parent, .pid = ++t->next_pid};
	gk_list_init(&p->run);
	gk_list_init(&p->children);
	gk_list_init(&p->sibling);
	if (parent)
		gk_list_add_tail(&parent->children, &p->sibling);
	p->state = PROC_RUNNABLE;
	t->live++;
	t->created++;
	return p;
}

/* A process that never ran: its memory and slot go back. */
static void gk_proc_discard(struct gk_kernel *k, struct gk_proc *p)
{
	gk_mm_destroy(k, &p->mm);
	gk_proc_free(&k->procs, p);
	k->procs.live--;
}

static int gk_proc_add_areas(struct gk_kernel *k, struct gk_mm *mm, const struct gk_bootargs *a,
			     enum workload w)
{
	uint64_t text = (uint64_t)(uintptr_t)_user_text_size;
	uint64_t data = (uint64_t)(uintptr_t)_user_data_size;
	uint64_t bitmap = ALIGN_UP((a->size / PAGE_SIZE + 7) / 8, PAGE_SIZE);
	uint64_t rw = VMA_READ | VMA_WRITE;
	int ret;

	ret = gk_mm_add_area(mm, USER_BASE, USER_BASE + text, VMA_READ | VMA_EXEC | VMA_IMAGE, NULL,
			     (uint64_t)(uintptr_t)_user_text_lma, "code");
	if (!ret && data)
		ret = gk_mm_add_area(mm, USER_BASE + text, USER_BASE + text + data, rw | VMA_IMAGE,
				     NULL, (uint64_t)(uintptr_t)_user_data_lma, "data");
	if (!ret)
		ret = gk_mm_add_area(mm, USER_SCRATCH_BASE, USER_SCRATCH_BASE + bitmap, rw, NULL, 0,
				     "scratch");
	if (!ret && w == WORKLOAD_OOB)
		ret = gk_mm_add_area(mm, USER_OOB_BASE, USER_OOB_BASE + PAGE_SIZE,
				     VMA_READ | VMA_IMAGE, NULL, k->boot.ram_top, "oob");
	if (!ret)
		ret = gk_mm_add_area(mm, USER_HEAP_BASE, USER_HEAP_BASE + a->size, rw, NULL, 0,
				     "heap");
	if (!ret)
		ret = gk_mm_add_area(mm, USER_STACK_TOP - USER_STACK_SIZE, USER_STACK_TOP,
				     rw | VMA_GROWSDOWN, NULL, 0, "stack");
	mm->brk_start = mm->brk = USER_HEAP_BASE + a->size;
	return ret;
}

/* The arguments go on the stack's top page, mapped now: writing it
 * through the identity map costs no fault. */
static int gk_proc_push_args(struct gk_kernel *k, struct gk_proc *p, const struct gk_bootargs *a,
			     enum workload w)
{
	uint64_t pa = gk_frame_alloc(&k->frames), page = USER_STACK_TOP - PAGE_SIZE;
	uint64_t *pte = gk_mm_pte(k, &p->mm, page, true);
	struct user_args *ua;

	if (!pa || !pte) {
		if (pa)
			gk_frame_free(&k->frames, pa);
		return -ENOMEM;
	}
	*pte = pa | PTE_P | PTE_W | PTE_U | PTE_A | PTE_D | PTE_NX;
	p->mm.rss++;
	ua = (struct user_args *)(uintptr_t)(pa + PAGE_SIZE - PROC_ARGS_BYTES);
	*ua = (struct user_args){
	    .workload = w,
	    .heap = USER_HEAP_BASE,
	    .size = a->size,
	    .seed = a->seed,
	    .passes = a->passes,
	    .hot = a->hot,
	    .scratch = USER_SCRATCH_BASE,
	    .stride = a->stride,
	    .oob = w == WORKLOAD_OOB ? USER_OOB_BASE : 0,
	    .oob_gpa = w == WORKLOAD_OOB ? k->boot.ram_top : 0,
	    .progress = a->progress,
	    .wset = a->wset,
	    .depth = a->depth,
	    .fanout = a->fanout,
	    .write = a->write,
	    .procs = a->procs,
	    .stack = a->stack,
	    .stack_max = a->stack_max,
	    .spawner = p->parent ? (uint64_t)p->parent->pid : 0,
	};
	p->ctx.rip = USER_BASE + (uint64_t)(uintptr_t)_user_entry_offset;
	p->ctx.rdi = USER_STACK_TOP - PROC_ARGS_BYTES;
	p->ctx.rsp = p->ctx.rdi - 8; /* as if called: %rsp + 8 is 16-byte aligned */
	p->ctx.cs = SEG_USER_CS;
	p->ctx.ss = SEG_USER_DS;
	/* Interrupts on in user mode only when the timer may preempt. */
	p->ctx.rflags = 0x2 | (k->sched.timer ? RFLAGS_IF : 0);
	return 0;
}

struct gk_proc *gk_proc_spawn(struct gk_kernel *k, enum workload w, struct gk_proc *parent,
			      int *err)
{
	struct gk_proc *p = gk_proc_new(k, parent, err);

	if (!p)
		return NULL;
	p->name = gk_bootargs_workload_name(w);
	if (gk_proc_add_areas(k, &p->mm, &k->args, w) < 0 ||
	    gk_proc_push_args(k, p, &k->args, w) < 0) {
		gk_proc_discard(k, p);
		*err = -ENOMEM;
		return NULL;
	}
	if (!parent)
		k->procs.init = p;
	gk_sched_add(k, p);
	return p;
}

int64_t gk_proc_fork(struct gk_kernel *k, struct gk_proc *p, const struct gk_trap_frame *tf)
{
	int err = 0;
	struct gk_proc *c = gk_proc_new(k, p, &err);

	if (!c)
		return err;
	if (gk_mm_fork(k, &c->mm, &p->mm) < 0) {
		gk_proc_discard(k, c);
		return -ENOMEM;
	}
	c->name = p->name;
	c->oom_adj = p->oom_adj;
	c->ctx = *tf;
	c->ctx.rax = 0; /* fork returns 0 in the child */
	gk_sched_add(k, c);
	return c->pid;
}

static void gk_proc_wake(struct gk_kernel *k, struct gk_proc *p)
{
	if (p && p->state == PROC_WAITING) {
		p->state = PROC_RUNNABLE;
		gk_sched_add(k, p);
	}
}

void gk_proc_exit(struct gk_kernel *k, struct gk_proc *p, int status)
{
	struct gk_procs *t = &k->procs;
	struct gk_proc *c;

	p->status = status;
	if (p == t->init) /* the guest ends: nothing to give back */
		gk_kernel_finish(k, p);
	gk_mm_destroy(k, &p->mm);
	gk_list_del(&p->run); /* a victim of the OOM killer may be queued */
	p->state = PROC_ZOMBIE;
	t->live--;
	while (!gk_list_empty(&p->children)) { /* orphans go to init */
		c = GK_LIST_ENTRY(p->children.next, struct gk_proc, sibling);
		gk_list_del(&c->sibling);
		gk_list_add_tail(&t->init->children, &c->sibling);
		c->parent = t->init;
		if (c->state == PROC_ZOMBIE)
			gk_proc_wake(k, t->init);
	}
	gk_proc_wake(k, p->parent);
	if (p == k->current) {
		k->current = NULL;
		gk_sched_run(k);
	}
}

int64_t gk_proc_wait(struct gk_kernel *k, struct gk_proc *p, struct gk_trap_frame *tf, int64_t pid,
		     uint64_t status_ptr)
{
	struct gk_proc *c;
	struct gk_list *l;
	bool children = false;

	for (l = p->children.next; l != &p->children; l = l->next) {
		c = GK_LIST_ENTRY(l, struct gk_proc, sibling);
		if (pid != -1 && c->pid != pid)
			continue;
		children = true;
		if (c->state != PROC_ZOMBIE)
			continue;
		if (status_ptr)
			*(int *)(uintptr_t)status_ptr = c->status;
		pid = c->pid;
		gk_proc_free(&k->procs, c);
		return pid;
	}
	if (!children)
		return -UAPI_ECHILD;
	/* Block; the call runs again from the `int $0x80` when a child exits. */
	p->ctx = *tf;
	p->ctx.rip -= 2;
	p->state = PROC_WAITING;
	gk_sched_run(k);
}

void gk_proc_kill(struct gk_kernel *k, const struct gk_trap_frame *tf, uint64_t addr,
		  const char *what)
{
	struct gk_proc *p = k->current;

	gk_printf(&k->con, "%s task=%s pid=%d addr=0x%lx error=0x%lx rip=0x%lx\n", what, p->name,
		  p->pid, addr, tf->error, tf->rip);
	gk_proc_exit(k, p, USER_STATUS_SEGV);
	gk_trap_panic("a killed process came back");
}

bool gk_proc_oom(struct gk_kernel *k)
{
	struct gk_oom_candidate c[PROC_MAX];
	struct gk_proc *procs[PROC_MAX], *v;
	unsigned i, n = 0;
	int pick;

	if (gk_cache_shrink(&k->cache))
		return true;
	for (i = 0; i < PROC_MAX; i++) {
		struct gk_proc *p = &k->procs.p[i];

		if (p->state != PROC_RUNNABLE && p->state != PROC_WAITING)
			continue;
		procs[n] = p;
		c[n++] = (struct gk_oom_candidate){p->pid, p->oom_adj, p->mm.rss, p->mm.pt_pages};
	}
	pick = gk_oom_choose(c, n, k->frames.total);
	if (pick < 0)
		return false;
	v = procs[pick];
	gk_printf(&k->con, "OOM killed pid=%d name=%s rss=%lu badness=%ld adj=%d\n", v->pid,
		  v->name, v->mm.rss, gk_oom_badness(&c[pick], k->frames.total), v->oom_adj);
	k->procs.oom_kills++;
	gk_proc_exit(k, v, USER_STATUS_OOM);
	return true;
}
