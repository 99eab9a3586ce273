/* guest-kernel/user_shm.c: processes that talk through shared memory.
 *
 * The parent maps a shared anonymous region (MAP_SHARED | MAP_ANONYMOUS):
 * a control page, then one slot of pages per process, and a private page.
 * Each pass, the parent fills its slot and forks procs children. Each
 * child checks the parent's slot, writes its own, checks that the
 * private page still holds what the parent wrote before the fork and
 * writes it (its own copy), then counts itself in on the control page
 * and waits, yielding, for the parent's go. The parent waits for every
 * child to arrive, says go, waits for them to exit, and checks every
 * child's slot, and that its private page is still its own.
 */
#include "user.h"

struct u_shm {
	const struct user_args *a;
	uint64_t base, slot_pages, priv, pass;
	volatile uint64_t *ctl; /* [0] children arrived, [1] go: pass + 1 */
};

static uint64_t u_shm_page(const struct u_shm *s, uint64_t who, uint64_t i)
{
	return s->base + (1 + who * s->slot_pages + i) * U_PAGE;
}

static uint64_t u_shm_pattern(const struct u_shm *s, uint64_t who, uint64_t page)
{
	return u_pattern(page, s->pass * 64 + who, s->a->seed);
}

static void u_shm_fill(const struct u_shm *s, uint64_t who)
{
	uint64_t i;

	for (i = 0; i < s->slot_pages; i++)
		u_page_fill(u_shm_page(s, who, i), u_shm_pattern(s, who, u_shm_page(s, who, i)));
}

static bool u_shm_check(const struct u_shm *s, uint64_t who)
{
	uint64_t i;

	for (i = 0; i < s->slot_pages; i++)
		if (!u_page_check(u_shm_page(s, who, i),
				  u_shm_pattern(s, who, u_shm_page(s, who, i)), "shm"))
			return false;
	return true;
}

static void u_shm_child(const struct u_shm *s, uint64_t who)
{
	bool ok = u_shm_check(s, 0);

	u_shm_fill(s, who);
	ok = u_page_check(s->priv, u_shm_pattern(s, 0, s->priv), "shm-private-inherited") && ok;
	u_page_fill(s->priv, u_shm_pattern(s, who, s->priv));
	__atomic_fetch_add(&s->ctl[0], 1, __ATOMIC_SEQ_CST);
	while (s->ctl[1] != s->pass + 1)
		u_yield();
	u_exit(ok ? 0 : 1);
}

struct u_outcome u_shm(const struct user_args *a)
{
	uint64_t procs = a->procs, pages = a->size / U_PAGE, c;
	struct u_shm s = {a, 0, pages / (procs + 1), 0, 0, 0};
	struct u_outcome o = {0, true};
	int64_t pid;

	if (!s.slot_pages)
		s.slot_pages = 1;
	o.pages = (1 + (procs + 1) * s.slot_pages) + 1;
	s.base = u_mmap(0, (o.pages - 1) * U_PAGE, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	s.priv = u_mmap(0, U_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u_failed(s.base) || u_failed(s.priv))
		return (struct u_outcome){0, false};
	s.ctl = (volatile uint64_t *)(uintptr_t)s.base;
	for (s.pass = 0; s.pass < a->passes && o.ok; s.pass++) {
		s.ctl[0] = 0;
		u_shm_fill(&s, 0);
		u_page_fill(s.priv, u_shm_pattern(&s, 0, s.priv));
		for (c = 1; c <= procs; c++) {
			pid = u_fork();
			if (pid == 0)
				u_shm_child(&s, c);
			if (pid < 0)
				return (struct u_outcome){o.pages, false};
		}
		while (s.ctl[0] != procs)
			u_yield();
		s.ctl[1] = s.pass + 1;
		o.ok = u_wait_all(0, 0, 0);
		for (c = 1; c <= procs; c++)
			o.ok = u_shm_check(&s, c) && o.ok;
		o.ok = u_page_check(s.priv, u_shm_pattern(&s, 0, s.priv), "shm-private") && o.ok;
		u_pass_line(a, "shm", s.pass + 1);
	}
	if (u_munmap(s.base, (o.pages - 1) * U_PAGE) < 0)
		o.ok = false;
	return o;
}
