/* tests/guest/gk_fref.c: the guest kernel's gk_fref.c, built for the host tests.
 * A file of the tests' own tree, so that a VPATH build (make distcheck)
 * puts its object in the tests' build directory. */
#include "../../guest-kernel/gk_fref.c"
