/* vmm/err.h: error reporting.
 *
 * Functions return 0 or a negative errno; these helpers print the message
 * (unless quiet) and keep the last one so that tests can check its words.
 * Messages name the file, offset, GPA or port, and what was expected.
 */
#ifndef VMM_ERR_H
#define VMM_ERR_H

#include <stdbool.h>
#include <stddef.h>

/* An input (file, option, guest request) is wrong: returns -EINVAL. */
int err_input(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A system call failed: returns -errno (saved before printing). */
int err_sys(const char *what, const char *call);
/* Any other failure with a given errno: returns -errnum. */
int err_errno(int errnum, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* For a function that tells its caller why instead of printing: the
 * sentence into err (errlen bytes; none if err is NULL), and ret back. */
int err_into(char *err, size_t errlen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

const char *last_error(void);
/* Silence stderr (tests, a guest repeating a bad request); the message
 * stays readable through last_error(). Returns the previous setting. */
bool err_set_quiet(bool quiet);

#endif
