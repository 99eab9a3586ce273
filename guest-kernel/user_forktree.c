/* guest-kernel/user_forktree.c: a tree of processes sharing one heap
 * copy-on-write.
 *
 * Each round, the root writes every heap page, then forks fanout
 * children; every child below depth forks its own. Node x's children are
 * x * fanout + 1 .. x * fanout + fanout (the root is 0). Before forking,
 * a child writes write% of the pages (chosen by a hash of page and node),
 * so it sees, for each page, the pattern of the deepest node on its path
 * to the root that wrote it; it checks every page for exactly that while
 * its own children write theirs, then waits for them.
 *
 * Copy-on-write is counted too: a child's writes each copy a page its
 * parent still maps (the parent waits for it), so its COW copies (SYS_STAT)
 * grow by exactly the pages it wrote and nothing is taken back; the root,
 * writing again once its children have gone, takes back every page
 * without a copy. The pattern carries the round and the VM's fork
 * identity as the root read it when the round began, so processes in VMs
 * forked from this one (vmm fork, the two-level test) write patterns of
 * their own from their next round on.
 */
#include "user.h"

struct u_tree {
	const struct user_args *a;
	uint64_t pages, seed, round;
	uint64_t node, depth;
};

static uint64_t u_tree_parent(const struct u_tree *t, uint64_t node)
{
	return (node - 1) / t->a->fanout;
}

/* Does node (not the root) write page i? */
static bool u_tree_writes(const struct u_tree *t, uint64_t node, uint64_t i)
{
	uint64_t h = (i * 0x9e3779b97f4a7c15ULL ^ node * 0xc2b2ae3d27d4eb4fULL) + t->seed;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return h % 100 < t->a->write;
}

/* Who wrote page i last, as t->node sees it: the deepest writer on its path. */
static uint64_t u_tree_owner(const struct u_tree *t, uint64_t i)
{
	uint64_t x;

	for (x = t->node; x; x = u_tree_parent(t, x))
		if (u_tree_writes(t, x, i))
			return x;
	return 0;
}

static uint64_t u_tree_pattern(const struct u_tree *t, uint64_t i, uint64_t owner)
{
	return u_pattern(t->a->heap + i * U_PAGE, t->round * 1024 + owner, t->seed);
}

static bool u_tree_fail(const struct u_tree *t, const char *what, uint64_t want, uint64_t got)
{
	static const char *const keys[] = {"node", "round", "want", "got"};
	uint64_t v[] = {t->node, t->round, want, got};

	u_report(what, 4, keys, v);
	return false;
}

/* Write node's pages; check that each write took one COW copy (children)
 * or one take-back (the root after a round). */
static bool u_tree_write(const struct u_tree *t, bool all, bool counted)
{
	struct user_stat st[2];
	volatile uint64_t *w = (volatile uint64_t *)st;
	uint64_t i, n = 0;

	/* Written first, so that the kernel's writes into st copy no page. */
	for (i = 0; i < sizeof(st) / 8; i++)
		w[i] = 0;
	u_stat(&st[0]);
	for (i = 0; i < t->pages; i++) {
		if (all || u_tree_writes(t, t->node, i)) {
			u_page_fill(t->a->heap + i * U_PAGE, u_tree_pattern(t, i, t->node));
			n++;
		}
	}
	u_stat(&st[1]);
	if (!counted)
		return true;
	if (t->node && st[1].cow_copies - st[0].cow_copies != n)
		return u_tree_fail(t, "COWCOUNT copies", n, st[1].cow_copies - st[0].cow_copies);
	if (t->node && st[1].cow_reuses != st[0].cow_reuses)
		return u_tree_fail(t, "COWCOUNT reuses", 0, st[1].cow_reuses - st[0].cow_reuses);
	if (!t->node && st[1].cow_reuses - st[0].cow_reuses != n)
		return u_tree_fail(t, "COWCOUNT reuses", n, st[1].cow_reuses - st[0].cow_reuses);
	return true;
}

static bool u_tree_check(const struct u_tree *t)
{
	uint64_t i;

	for (i = 0; i < t->pages; i++)
		if (!u_page_check(t->a->heap + i * U_PAGE, u_tree_pattern(t, i, u_tree_owner(t, i)),
				  "forktree"))
			return u_tree_fail(t, "FORKTREE page", i, u_tree_owner(t, i));
	return true;
}

/* `FORKTREE node=N round=R`: where the tree is, for tools that must act
 * while it runs (the two-level COW test forks the VM there). */
static void u_tree_progress(const struct u_tree *t)
{
	static const char *const keys[] = {"node", "round"};
	uint64_t v[] = {t->node, t->round + 1};

	u_report("FORKTREE", 2, keys, v);
}

/* Runs node t: fork its children, check, wait. In a child, never returns. */
static bool u_tree_node(struct u_tree *t)
{
	uint64_t c;
	int64_t pid;
	bool ok;

	for (c = 1; t->depth < t->a->depth && c <= t->a->fanout; c++) {
		pid = u_fork();
		if (pid < 0)
			return u_tree_fail(t, "FORKTREE fork", 0, (uint64_t)-pid);
		if (pid == 0) {
			t->node = t->node * t->a->fanout + c;
			t->depth++;
			ok = u_tree_write(t, false, true);
			if (t->a->progress && t->node == 1) /* mid-round: for a fork of the VM */
				u_tree_progress(t);
			ok = u_tree_node(t) && ok;
			u_exit(ok ? 0 : 1);
		}
	}
	ok = u_tree_check(t);
	return u_wait_all(0, 0, 0) && ok;
}

static uint64_t u_tree_nodes(const struct user_args *a)
{
	uint64_t n = 1, level = 1, d;

	for (d = 0; d < a->depth; d++)
		n += level *= a->fanout;
	return n;
}

struct u_outcome u_forktree(const struct user_args *a)
{
	struct u_tree t = {a, a->size / U_PAGE, 0, 0, 0, 0};

	if (u_tree_nodes(a) > 63) /* the kernel has 64 process slots */
		return (struct u_outcome){
		    0, u_tree_fail(&t, "FORKTREE too-many-nodes", 63, u_tree_nodes(a))};
	for (t.round = 0; t.round < a->passes; t.round++) {
		t.seed = a->seed ^ u_forkid() * 0xd6e8feb86659fd93ULL;
		if (!u_tree_write(&t, true, t.round > 0) || !u_tree_node(&t))
			return (struct u_outcome){t.pages, false};
		u_pass_line(a, "forktree", t.round + 1);
	}
	return (struct u_outcome){t.pages, true};
}
