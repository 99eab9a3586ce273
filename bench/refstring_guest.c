/* bench/refstring_guest.c: the guest's workloads, compiled for the host.
 *
 * The same sources the guest kernel links into libuser.a, included here so
 * that refstring runs the very loops the guest runs; refstring.c supplies
 * the user-library functions they call (u_page_*, u_syscall, u_pattern),
 * which record heap page indices instead of touching memory; the generator
 * is the guest's own file.
 */
#include "user_xorshift.c" /* the generator that chooses the pages */
#include "user_touch.c"
#include "user_random.c"
#include "user_phases.c"
