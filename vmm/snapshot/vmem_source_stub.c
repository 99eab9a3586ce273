/* vmm/snapshot/vmem_source_stub.c: TEMPORARY, until ept/vmem.c has
 * vmem_set_source_page (the lazy restore's side of ept/, written on
 * another branch). Weak, so that the real one wins as soon as it is
 * linked: remove this file then. Until then a lazy restore fails at once
 * with ENOSYS and says to use --eager. */
#include <errno.h>

#include "vmem.h"

__attribute__((weak)) int vmem_set_source_page(struct vmem *v, uint64_t gpa, uint64_t index)
{
	(void)v;
	(void)gpa;
	(void)index;
	return -ENOSYS;
}
