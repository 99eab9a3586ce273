/* tests/guest/gk_frame.c: the guest kernel's gk_frame.c, built for the host tests.
 * A file of the tests' own tree, so that a VPATH build (make distcheck)
 * puts its object in the tests' build directory. */
#include "../../guest-kernel/gk_frame.c"
