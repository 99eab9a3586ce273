/* guest-kernel/user_mmapfile.c: files of the boot archive, mapped. (stub) */
#include "user.h"

struct u_outcome u_mmapfile(const struct user_args *a)
{
	(void)a;
	return (struct u_outcome){0, false};
}
